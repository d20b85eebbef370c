import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements as statements } from '../../bench/lib/round-trips.ts';
import { watchGenerations } from '../../src/cache/generations.ts';
import { openDatabase } from '../../src/db/client.ts';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, startTwoInstances, type TestServer, type TwoInstances } from '../helpers/server.ts';
import { missingId } from '../helpers/world.ts';

const ListView = graphql(`
  query RcList($id: ID!) {
    list(id: $id) { id name viewerRole items(first: 10) { edges { node { id title } } } }
  }
`);
const Rename = graphql(`
  mutation RcRename($input: UpdateListInput!) {
    updateList(input: $input) { __typename ... on Error { code message } }
  }
`);
const CreateItem = graphql(`
  mutation RcCreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id version } } ... on Error { code message } }
  }
`);
const UpdateItem = graphql(`
  mutation RcUpdateItem($input: UpdateItemInput!) {
    updateItem(input: $input) { __typename ... on Error { code message } }
  }
`);
const RemoveShare = graphql(`
  mutation RcRemoveShare($input: RemoveShareInput!) {
    removeShare(input: $input) { __typename ... on Error { code message } }
  }
`);
const Anonymize = graphql(`
  mutation RcAnonymize($input: AnonymizeUserInput!) {
    anonymizeUser(input: $input) { __typename ... on Error { code message } }
  }
`);
const InvitationByToken = graphql(`
  query RcInvitation($token: String!) { invitation(token: $token) { email } }
`);

/** An account whose admin made a list and shared it with `viewer` (a member) as a viewer. */
async function sharedList(t: TestServer, tag: string) {
  const lists = listHelpers(t);
  const people = { admin: `admin-${tag}@rc.test`, viewer: `viewer-${tag}@rc.test`, other: `other-${tag}@rc.test` };
  const accountId = await lists.account(people.admin, [people.viewer, people.other]);
  const ws = await lists.workspace(accountId, people.admin, 'CLOSED');
  const listId = await lists.list(ws.id, people.admin, 'SHAREABLE', 'Original');
  const shareId = await lists.share(people.admin, {
    listId,
    role: 'VIEWER',
    userId: await lists.userId(people.viewer),
  });
  return { people, listId, shareId };
}

describe('response cache, one instance', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers a repeated query without a statement, with the same body, and a write ends it', async () => {
    const { people, listId } = await sharedList(t, 'one');
    const token = await t.token(people.viewer);
    const first = await t.gql(ListView, { id: listId }, token);
    expect(first.data?.list?.name).toBe('Original');
    // Kept (once the share's notification mail, written after the share, has settled).
    await expect.poll(() => statements(t, () => t.gql(ListView, { id: listId }, token))).toBe(0);
    // Served again from the JSON kept with the answer: the same body.
    expect(await t.gql(ListView, { id: listId }, token)).toEqual(first);
    expect(await t.gql(ListView, { id: listId }, token)).toEqual(first);

    await t.ok(Rename, { input: { listId, name: 'Renamed' } }, people.admin);
    const after = await t.gql(ListView, { id: listId }, token);
    expect(after.data?.list?.name).toBe('Renamed');
  });

  it('an item created and edited (raw SQL statements) ends the kept answer', async () => {
    const { people, listId } = await sharedList(t, 'items');
    const token = await t.token(people.viewer);
    const titles = async () =>
      (await t.gql(ListView, { id: listId }, token)).data?.list?.items.edges.map((e) => e.node.title);
    expect(await titles()).toEqual([]);
    await expect.poll(() => statements(t, () => t.gql(ListView, { id: listId }, token))).toBe(0);
    const created = await t.ok(CreateItem, { input: { listId, title: 'First' } }, people.admin);
    if (created.createItem.__typename !== 'CreateItemPayload') throw new Error(JSON.stringify(created));
    expect(await titles()).toEqual(['First']);
    await expect.poll(() => statements(t, () => t.gql(ListView, { id: listId }, token))).toBe(0);
    const { id, version } = created.createItem.item;
    const updated = await t.ok(
      UpdateItem,
      { input: { id, expectedVersion: version, patch: { title: 'Edited' } } },
      people.admin,
    );
    expect(updated.updateItem.__typename).toBe('UpdateItemPayload');
    expect(await titles()).toEqual(['Edited']);
  });

  it('executes a missing answer once for the same query arriving together', async () => {
    const { people, listId } = await sharedList(t, 'together');
    const token = await t.token(people.viewer);
    const alone = await statements(t, () => t.gql(ListView, { id: listId }, token));
    await t.ok(Rename, { input: { listId, name: 'Together' } }, people.admin);
    let answers: Awaited<ReturnType<typeof t.gql>>[] = [];
    const together = await statements(t, async () => {
      answers = await Promise.all(Array.from({ length: 8 }, () => t.gql(ListView, { id: listId }, token)));
    });
    expect(answers.map((a) => (a.data as { list: { name: string } }).list.name)).toEqual(Array(8).fill('Together'));
    expect(together).toBeLessThanOrEqual(alone);
  });

  it('keeps answers apart per variables: the same document for two lists answers each its own', async () => {
    const one = await sharedList(t, 'vars-one');
    const lists = listHelpers(t);
    const ws = await lists.workspace(await lists.account(one.people.admin), one.people.admin);
    const other = await lists.list(ws.id, one.people.admin, 'MAIN', 'Other');
    const token = await t.token(one.people.admin);
    for (let round = 0; round < 2; round++) {
      const [a, b] = await Promise.all([
        t.gql(ListView, { id: one.listId }, token),
        t.gql(ListView, { id: other }, token),
      ]);
      expect([a.data?.list?.name, b.data?.list?.name]).toEqual(['Original', 'Other']);
    }
  });

  it('keeps answers apart per token: another viewer never gets the first one', async () => {
    const { people, listId } = await sharedList(t, 'apart');
    const viewer = await t.gql(ListView, { id: listId }, await t.token(people.viewer));
    expect(viewer.data?.list?.viewerRole).toBe('VIEWER');
    const other = await t.gql(ListView, { id: listId }, await t.token(people.other));
    expect(other.data?.list).toBeNull();
    const anonymous = await t.gql(ListView, { id: listId }, null);
    expect(anonymous.data?.list).toBeNull();
    const admin = await t.gql(ListView, { id: listId }, await t.token(people.admin));
    expect(admin.data?.list?.viewerRole).toBe('CREATOR');
  });

  it('authenticates before serving: an expired token, a bad token and an erased user are refused', async () => {
    const { people, listId } = await sharedList(t, 'auth');
    const shortLived = await t.token(people.viewer, '2s');
    expect((await t.gql(ListView, { id: listId }, shortLived)).data?.list?.name).toBe('Original');
    await new Promise((r) => setTimeout(r, 2_100));
    const expired = await t.gql(ListView, { id: listId }, shortLived);
    expect(expired.status).toBe(401);
    expect(expired.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const bad = await t.gql(ListView, { id: listId }, `${await t.token(people.viewer)}x`);
    expect(bad.status).toBe(401);

    const token = await t.token(people.viewer);
    expect((await t.gql(ListView, { id: listId }, token)).data?.list?.name).toBe('Original');
    const lists = listHelpers(t);
    const anonymized = await t.ok(Anonymize, { input: { userId: await lists.userId(people.viewer) } }, people.admin);
    expect(anonymized.anonymizeUser.__typename).toBe('AnonymizeUserPayload');
    const erased = await t.gql(ListView, { id: listId }, token);
    expect(erased.status).toBe(401);
  });

  it('does not keep answers about invitations, which expire with the clock', async () => {
    const before = await statements(t, () => t.gql(InvitationByToken, { token: 'no-such-token' }, null));
    const again = await statements(t, () => t.gql(InvitationByToken, { token: 'no-such-token' }, null));
    expect(before).toBeGreaterThan(0);
    expect(again).toBe(before);
  });
});

describe('response cache and mutations', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { RATE_LIMIT_MUTATIONS_PER_MINUTE: '3' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('never answers a mutation from the cache: the same one, writing nothing, runs every time', async () => {
    const token = await t.token('repeat@rc.test');
    const input = { input: { listId: missingId('List'), name: 'Nope' } };
    const answers = [];
    for (let n = 0; n < 4; n++) answers.push((await t.ok(Rename, input, token)).updateList.__typename);
    // Each ran and spent the caller's budget: the fourth is refused.
    expect(answers).toEqual(['NotFoundError', 'NotFoundError', 'NotFoundError', 'RateLimitedError']);
  });

  it('nor a mutation batched with a query (the operations of a batch are decided one by one)', async () => {
    const batched = await startTestServer({ env: { RATE_LIMIT_MUTATIONS_PER_MINUTE: '3', BATCH_LIMIT: '2' } });
    try {
      const token = await batched.token('batch@rc.test');
      const body = JSON.stringify([
        { query: '{ me { email } }' },
        { query: Rename.toString(), variables: { input: { listId: missingId('List'), name: 'Nope' } } },
      ]);
      const answers = [];
      for (let n = 0; n < 4; n++) {
        const res = await batched.server.yoga.fetch('http://sharegraph.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body,
        });
        const [query, mutation] = (await res.json()) as { data: Record<string, { __typename?: string } | null> }[];
        expect(query?.data.me).toEqual({ email: 'batch@rc.test' });
        answers.push(mutation?.data.updateList?.__typename);
      }
      expect(answers).toEqual(['NotFoundError', 'NotFoundError', 'NotFoundError', 'RateLimitedError']);
    } finally {
      await batched.close();
    }
  });
});

describe('response cache across instances (Redis)', () => {
  let two: TwoInstances;
  beforeAll(async () => {
    two = await startTwoInstances();
  });
  afterAll(async () => {
    await two?.close();
  });

  it('a share removed on B ends the answer A kept: the next read on A is refused', async () => {
    const { a, b } = two;
    const { people, listId, shareId } = await sharedList(b, 'revoke');
    const token = await a.token(people.viewer);
    expect((await a.gql(ListView, { id: listId }, token)).data?.list?.viewerRole).toBe('VIEWER');
    // Kept (once the share's notification mail, written after the share, has settled).
    await expect.poll(() => statements(a, () => a.gql(ListView, { id: listId }, token))).toBe(0);

    const removed = await b.ok(RemoveShare, { input: { shareId } }, people.admin);
    expect(removed.removeShare.__typename).toBe('RemoveSharePayload');
    await expect.poll(async () => (await a.gql(ListView, { id: listId }, token)).data?.list ?? null).toBeNull();
  });

  it('a rename on B is read on A', async () => {
    const { a, b } = two;
    const { people, listId } = await sharedList(b, 'rename');
    const token = await a.token(people.viewer);
    expect((await a.gql(ListView, { id: listId }, token)).data?.list?.name).toBe('Original');
    await b.ok(Rename, { input: { listId, name: 'From B' } }, people.admin);
    await expect.poll(async () => (await a.gql(ListView, { id: listId }, token)).data?.list?.name).toBe('From B');
  });
});

describe('generations', () => {
  it('are unknown (no caching) while Redis cannot be reached, and move on at every write', async () => {
    const db = await openDatabase({ databaseUrl: undefined, dataDir: null });
    const silent = { warn: () => {} } as unknown as Parameters<typeof watchGenerations>[0]['log'];
    const unreachable = watchGenerations({
      db: db.prisma,
      log: silent,
      redis: 'redis://127.0.0.1:1',
      redisKeyPrefix: 'rc-test:',
    });
    const alone = watchGenerations({ db: db.prisma, log: silent, redis: undefined, redisKeyPrefix: 'rc-test:' });
    try {
      await db.migrate(() => {});
      expect(unreachable.current()).toBeNull();
      const start = alone.current() as number;
      await db.prisma.user.findMany();
      expect(alone.current()).toBe(start);
      await db.prisma.user.create({ data: { email: 'gen@rc.test' } });
      expect(alone.current()).toBeGreaterThan(start);
    } finally {
      await unreachable.close();
      await alone.close();
      await db.close();
    }
  });
});
