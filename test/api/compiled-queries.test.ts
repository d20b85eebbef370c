import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BenchList,
  type CountFixture,
  countStatements,
  inProcessActor,
  seedCountFixture,
} from '../../bench/lib/round-trips.ts';
import { COMPILE_AFTER } from '../../src/compiled-queries.ts';
import { graphql } from '../generated/gql.ts';
import { metricValue, startTestServer, type TestServer } from '../helpers/server.ts';

// A query run COMPILE_AFTER times is compiled (graphql-jit) and answered by its compiled form
// from then on (src/compiled-queries.ts). Whichever executor answers, the answer is the same, byte
// for byte, with the same SQL statements: these tests run each document until it is hot, and
// compare every answer with the first, which graphql's executor gave.

const Mixed = graphql(`
  query Cq_Mixed($id: ID!, $itemId: ID!, $withItems: Boolean!, $skipRole: Boolean!) {
    __typename
    me { ...Cq_Person accounts { role } }
    list(id: $id) {
      id
      name
      viewerRole @skip(if: $skipRole)
      firstTwo: items(first: 2) @include(if: $withItems) {
        edges { cursor node { ...Cq_ItemBits updates(last: 1) { edges { node { body author { ...Cq_Person } } } } } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
      lastOne: items(last: 1) { edges { node { id title } } }
    }
    node(id: $itemId) { __typename id ... on Item { ...Cq_ItemBits } ... on User { email } }
    nothing: node(id: "TGlzdDpub25l") { id }
  }
  fragment Cq_Person on User { id name email }
  fragment Cq_ItemBits on Item { id title version fields fieldVersions position createdAt updatedAt updatedBy { ...Cq_Person } }
`);

const BadPage = graphql(`
  query Cq_BadPage($id: ID!, $first: Int) { me { id } list(id: $id) { id items(first: $first) { edges { node { id } } } } }
`);

/** Incremental delivery, which only graphql's executor does: a plain string (see defer-stream.test.ts). */
const DEFERRED = `query Cq_Deferred { me { email ... @defer(label: "later") { name } } }`;

let t: TestServer;
let f: CountFixture;
beforeAll(async () => {
  t = await startTestServer({ env: { RESPONSE_CACHE: 'false' } });
  f = await seedCountFixture(inProcessActor(t), 10, 'compiled');
}, 120_000);
afterAll(() => t?.close());

/** The answer's status, content type and body as sent, for `query` with `variables`, as `as`. */
async function post(query: string, variables: unknown, as: string, accept = 'application/graphql-response+json') {
  const res = await t.server.yoga.fetch('http://sharegraph.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${await t.token(as)}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

const compiledExecutions = () => metricValue(t, 'sharegraph_graphql_compiled_executions_total');
const plannedExecutions = () => metricValue(t, 'sharegraph_graphql_planned_executions_total');

/** Every answer of `query` run until it is hot and twice more, each with its SQL statements. */
async function untilHot(query: string, variables: unknown, as: string) {
  const runs: { answer: Awaited<ReturnType<typeof post>>; statements: number }[] = [];
  for (let i = 0; i < COMPILE_AFTER + 2; i++) {
    let answer: Awaited<ReturnType<typeof post>> | undefined;
    const statements = await countStatements(t, async () => {
      answer = await post(query, variables, as);
    });
    runs.push({ answer: answer as Awaited<ReturnType<typeof post>>, statements });
  }
  return runs;
}

describe('hot queries, compiled', () => {
  it('answer the bench list query byte for byte as graphql executes it, with the same statements', async () => {
    const before = await compiledExecutions();
    const plannedBefore = await plannedExecutions();
    const runs = await untilHot(BenchList.toString(), { id: f.listId }, f.viewer);
    // The list page is planned as a whole (src/modules/list/page-plan.ts), not compiled field by field.
    expect(await plannedExecutions()).toBe(plannedBefore + 2);
    expect(await compiledExecutions()).toBe(before);
    const [first, ...hot] = runs;
    expect(JSON.parse(first?.answer.body ?? '').data.list.items.edges).toHaveLength(10);
    for (const run of hot) {
      expect(run.answer).toEqual(first?.answer);
      expect(run.statements).toBe(first?.statements);
    }
  });

  it('answer fragments, aliases, @skip/@include, nodes, connections and nulls as graphql does', async () => {
    for (const variables of [
      { id: f.listId, itemId: f.itemId, withItems: true, skipRole: false },
      { id: f.listId, itemId: f.itemId, withItems: false, skipRole: true },
      { id: f.listId, itemId: f.otherUserId, withItems: true, skipRole: true },
    ]) {
      const before = await compiledExecutions();
      const runs = await untilHot(Mixed.toString(), variables, f.viewer);
      const first = runs[0];
      const data = JSON.parse(first?.answer.body ?? '').data;
      expect(data.list.name).toBeTruthy();
      expect(data.nothing).toBeNull();
      for (const run of runs.slice(1)) {
        expect(run.answer).toEqual(first?.answer);
        expect(run.statements).toBe(first?.statements);
      }
      // The same document with other variables is already hot.
      expect(await compiledExecutions()).toBeGreaterThanOrEqual(before + 2);
    }
  });

  it('fail as graphql does: a field error with its message, path and locations, and the other fields answered', async () => {
    const runs = await untilHot(BadPage.toString(), { id: f.listId, first: -1 }, f.viewer);
    const first = runs[0]?.answer;
    expect(JSON.parse(first?.body ?? '')).toMatchObject({
      data: { me: { id: expect.any(String) }, list: null },
      errors: [{ path: ['list'], locations: [expect.any(Object)], message: expect.stringMatching(/non-negative/) }],
    });
    for (const run of runs.slice(1)) expect(run.answer).toEqual(first);
  });

  it('leave variables that do not fit to graphql, whose errors they read as', async () => {
    await untilHot(BenchList.toString(), { id: f.listId }, f.viewer);
    const before = await compiledExecutions();
    const plannedBefore = await plannedExecutions();
    const runs = await untilHot(BenchList.toString(), { id: { not: 'an id' } }, f.viewer);
    const first = runs[0]?.answer;
    expect(JSON.parse(first?.body ?? '').errors?.[0]?.message).toMatch(/\$id/);
    for (const run of runs.slice(1)) expect(run.answer).toEqual(first);
    expect(await compiledExecutions()).toBe(before);
    expect(await plannedExecutions()).toBe(plannedBefore);
  });

  it('leave @defer to graphql: a hot deferred query still answers in parts', async () => {
    const before = await compiledExecutions();
    for (let i = 0; i < COMPILE_AFTER + 2; i++) {
      const res = await post(DEFERRED, {}, f.viewer, 'multipart/mixed');
      expect(res.type).toContain('multipart/mixed');
      expect(res.body).toContain('"label":"later"');
    }
    expect(await compiledExecutions()).toBe(before);
  });
});

describe('hot list pages, planned as a whole', () => {
  /** Runs `query` until hot and twice more: every answer the first's, and how many the plan gave. */
  async function hot(query: string, variables: Record<string, unknown>) {
    const before = await plannedExecutions();
    const runs = await untilHot(query, variables, f.viewer);
    const [first, ...others] = runs;
    for (const run of others) {
      expect(run.answer).toEqual(first?.answer);
      expect(run.statements).toBe(first?.statements);
    }
    return { first: JSON.parse(first?.answer.body ?? '{}'), planned: (await plannedExecutions()) - before };
  }
  const page = (selection: string) => `query Cq_Page($id: ID!) { list(id: $id) { ${selection} } }`;

  it('answer a list the viewer cannot read, or that does not exist, with null', async () => {
    const missing = Buffer.from('List:00000000-0000-7000-8000-000000000000').toString('base64');
    const { first, planned } = await hot(page('id name items(first: 5) { edges { node { id } } }'), { id: missing });
    expect(first).toEqual({ data: { list: null } });
    expect(planned).toBe(2);
  });

  it('leave to graphql what the plan declines when it runs: an id of another type, a page out of bounds', async () => {
    const item = await hot(page('id name'), { id: f.itemId });
    expect(item.first).toEqual({ data: { list: null } });
    expect(item.planned).toBe(0);
    const malformed = await hot(page('id name'), { id: '%%%' });
    expect(malformed.first.data).toEqual({ list: null });
    expect(malformed.planned).toBe(0);
    const negative = await hot(
      `query Cq_Neg($id: ID!, $n: Int) { list(id: $id) { items(first: $n) { edges { cursor } } } }`,
      {
        id: f.listId,
        n: -1,
      },
    );
    expect(negative.first).toMatchObject({ data: { list: null }, errors: [{ path: ['list'] }] });
    expect(negative.planned).toBe(0);
    // The same document, already hot, with a page in bounds: planned every time.
    const fine = await hot(
      `query Cq_Neg($id: ID!, $n: Int) { list(id: $id) { items(first: $n) { edges { cursor } } } }`,
      {
        id: f.listId,
        n: 3,
      },
    );
    expect(fine.first.data.list.items.edges).toHaveLength(3);
    expect(fine.planned).toBe(COMPILE_AFTER + 2);
  });

  it('leave to the executor a document with anything the list page does not serve', async () => {
    for (const selection of [
      'id workspace { name }',
      'id linkToken',
      'items(first: 2) { edges { node { id list { name } } } }',
      'items(first: 2) { edges { node { id @include(if: true) } } }',
      'name name',
      'a: name b: name',
      '__proto__: name',
      'items(first: 2) { edges { node { a: updatedBy { id } b: updatedBy { name } } } }',
      'a: items(first: 1) { edges { cursor } } b: items(first: 2) { edges { cursor } }',
      'items(last: 2) { edges { node { id } } }',
    ]) {
      const { first, planned } = await hot(page(selection), { id: f.listId });
      expect(first.data?.list, selection).toBeTruthy();
      expect(planned, selection).toBe(0);
    }
  });
});
