import { decodeGlobalID } from '@pothos/plugin-relay';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListFacts } from '../../src/access/facts.ts';
import {
  Access,
  type ListFactsColumns,
  listFactsFromSql,
  listFactsSql,
  type ViewerRef,
} from '../../src/access/load.ts';
import { COMPILE_AFTER } from '../../src/compiled-queries.ts';
import { metricValue, startTestServer, type TestServer } from '../helpers/server.ts';
import { buildWorld, LIST_KEYS, type ListKey, missingId, raw, type World } from '../helpers/world.ts';

// `list(id)` reads a list, a page of its items and the viewer's access facts in one hand-written
// statement when the selection is one it serves (src/modules/list/read.ts). Here it is held to
// what Prisma gives: the facts to `Access`'s own select, for every person on every list; the
// answers to `node(id)`'s (plugin-prisma's queries), for generated selections. Replay a failure
// with LIST_READ_SEED=<seed>.
const SEED = Number(process.env.LIST_READ_SEED ?? 20_261_206);
const RUNS = Number(process.env.LIST_READ_RUNS ?? 150);

let t: TestServer;
let world: World;
/** Every list of both accounts, by database id, and the one given a longer page of items. */
let lists: string[];
let paged: string;
let cursors: string[];
let viewers: (ViewerRef | null)[];

const db = () => t.server.services.db;
const plannedExecutions = () => metricValue(t, 'sharegraph_graphql_planned_executions_total');
const dbId = (global: string) => decodeGlobalID(global).id;

beforeAll(async () => {
  t = await startTestServer({ env: { RESPONSE_CACHE: 'false' } });
  world = await buildWorld(t);
  lists = [world.a, world.b].flatMap((w) => LIST_KEYS.map((key) => dbId(w.lists[key])));
  const a = world.a;
  const users = await db().user.findMany({ select: { id: true, email: true }, orderBy: { email: 'asc' } });
  const idOf = (email: string) => users.find((u) => u.email === email)?.id ?? '';
  viewers = [null, ...users];

  // What the fixture lacks and the facts carry: workspace rules, account caps, a share to a right,
  // an ended share, a membership that ends, and a list of many items with 0 to 5 updates each,
  // some by no one (their people removed).
  const closed = dbId(a.workspaces.closed);
  const accountId = dbId(a.accountId);
  await db().workspacePermission.createMany({
    data: [
      { workspaceId: closed, audience: 'MEMBER', action: 'COMMENT', allowed: false },
      { workspaceId: closed, audience: 'NON_MEMBER', action: 'POST_UPDATE', allowed: true },
    ],
  });
  await db().accountActionCap.createMany({
    data: [
      { accountId, action: 'COMMENT', role: 'MEMBER', allowed: false },
      { accountId, action: 'CREATE_DOC', role: 'ADMIN', allowed: true },
    ],
  });
  await db().share.createMany({
    data: [
      { listId: dbId(a.lists.closedPrivate), rightId: dbId(a.right), role: 'EDITOR' },
      { listId: dbId(a.lists.openPrivate), userId: idOf(a.people.plain), role: 'EDITOR', expiresAt: new Date(1_000) },
      {
        listId: dbId(a.lists.closedMain),
        userId: idOf(a.people.plain),
        role: 'CO_OWNER',
        expiresAt: new Date(Date.now() + 86_400_000),
      },
    ],
  });
  await db().workspaceMember.update({
    where: { workspaceId_userId: { workspaceId: closed, userId: idOf(a.people.member) } },
    data: { expiresAt: new Date(Date.now() + 86_400_000) },
  });
  paged = dbId(a.lists.openMain);
  const people = [idOf(a.people.owner), idOf(a.people.member), null];
  const items = await db().item.createManyAndReturn({
    data: Array.from({ length: 12 }, (_, i) => ({
      listId: paged,
      title: `Paged ${i}`,
      fields: { n: i, tags: ['x', i % 2 ? 'odd' : 'even'], nested: { deep: i > 5 } },
      fieldVersions: { title: 1, 'fields.n': 1 },
      // Equal positions: the id decides their order.
      position: 10 + Math.floor(i / 3),
      createdById: people[i % 3] ?? null,
      updatedById: people[(i + 1) % 3] ?? null,
    })),
    select: { id: true },
  });
  await db().itemUpdate.createMany({
    data: items.flatMap((item, i) =>
      Array.from({ length: i % 6 }, (_, k) => ({
        itemId: item.id,
        authorId: people[(i + k) % 3] ?? null,
        kind: 'COMMENT' as const,
        body: `Update ${k} on ${i}`,
      })),
    ),
  });
  const page = await raw(
    t,
    'query($id: ID!) { list(id: $id) { items(first: 100) { edges { cursor } } } }',
    { id: a.lists.openMain },
    a.people.owner,
  );
  const pageData = page.data as { list: { items: { edges: { cursor: string }[] } } };
  cursors = pageData.list.items.edges.map((e) => e.cursor);
  expect(cursors.length).toBeGreaterThan(12);
}, 180_000);

afterAll(async () => {
  await t?.close();
});

const sortedBy = <T>(values: readonly T[], key: (value: T) => string): T[] =>
  [...values].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));

/** Facts with their arrays in one order: Prisma's select leaves them in the database's. */
function normalized(facts: ListFacts | null) {
  if (!facts) return null;
  const { workspace } = facts;
  const { account } = workspace;
  return {
    ...facts,
    grants: sortedBy(facts.grants, (g) => g.shareId),
    workspace: {
      ...workspace,
      rules: sortedBy(workspace.rules, (r) => `${r.audience} ${r.action}`),
      account: {
        ...account,
        policy: { ...account.policy, caps: sortedBy(account.policy.caps, (c) => `${c.action} ${c.role}`) },
      },
    },
  };
}

describe('a list read in one statement', () => {
  it('gives every person on every list the facts that Access fetches through Prisma', async () => {
    const missing = dbId(missingId('List'));
    let compared = 0;
    for (const viewer of viewers) {
      for (const listId of [...lists, missing]) {
        const viaPrisma = await new Access(db(), viewer).list(listId);
        const [row] = await db().$queryRaw<ListFactsColumns[]>(listFactsSql(viewer, listId));
        const primed = new Access(db(), viewer);
        primed.primeList(listId, row ? listFactsFromSql(viewer, row) : null);
        expect(normalized(await primed.list(listId)), `${viewer?.email ?? 'anonymous'} on ${listId}`).toEqual(
          normalized(viaPrisma),
        );
        if (viaPrisma) compared++;
      }
    }
    // Every person, anonymous included, meets every existing list (facts exist whether or not they read it).
    expect(compared).toBe(viewers.length * lists.length);
  });

  it('answers every selection exactly as the Prisma path does, for every reader', async () => {
    const userFields = fc.subarray(['id', 'name', 'email', 'avatarUrl'], { minLength: 1 });
    const updates = fc.record({
      dir: fc.constantFrom('first', 'last'),
      n: fc.integer({ min: 0, max: 4 }),
      fields: fc.subarray(['id', 'body', 'kind', 'createdAt'], { minLength: 1 }),
      author: fc.option(userFields, { freq: 2 }),
      pageInfo: fc.boolean(),
    });
    const items = fc.record({
      first: fc.integer({ min: 0, max: 20 }),
      // Mostly no cursor or a real one; now and then one that names no item.
      after: fc.option(
        fc.oneof({ arbitrary: fc.integer({ min: 0, max: cursors.length - 1 }), weight: 4 }, fc.constant(-1)),
        {
          freq: 2,
        },
      ),
      fields: fc.subarray(['id', 'title', 'fields', 'version', 'fieldVersions', 'position', 'createdAt', 'updatedAt'], {
        minLength: 1,
      }),
      createdBy: fc.option(userFields, { freq: 2 }),
      updatedBy: fc.option(userFields, { freq: 2 }),
      updates: fc.option(updates, { freq: 3 }),
      pageInfo: fc.boolean(),
      cursor: fc.boolean(),
      // How the item's fields are written: as they are, in an inline fragment, with __typename,
      // or beside a field the one statement does not serve (the item's list).
      wrap: fc.constantFrom('plain', 'fragment', 'typename', 'list'),
    });
    const selection = fc.record({
      list: fc.subarray(
        ['id', 'name', 'kind', 'generalAccess', 'generalRole', 'createdAt', 'updatedAt', 'linkExpiresAt', 'viewerRole'],
        { minLength: 1 },
      ),
      items: fc.option(items, { freq: 4 }),
      // openMain holds the long page (items with 0 to 5 updates, people removed).
      listKey: fc.constantFrom(...LIST_KEYS, ...Array<ListKey>(6).fill('openMain')),
      reader: fc.constantFrom('owner', 'member', 'nonMember', 'grouped', 'admin', 'guest', 'plain') as fc.Arbitrary<
        keyof World['a']['people']
      >,
    });
    const user = (fields: string[] | null) => (fields ? `{ ${fields.join(' ')} }` : null);
    const pageInfo = (wanted: boolean) =>
      wanted ? 'pageInfo { hasNextPage hasPreviousPage startCursor endCursor }' : '';
    const toQuery = (s: typeof selection extends fc.Arbitrary<infer T> ? T : never) => {
      let body = s.list.join(' ');
      if (s.items) {
        const i = s.items;
        const after =
          i.after === null ? '' : `, after: ${JSON.stringify(i.after < 0 ? 'bm90IGEgY3Vyc29y' : cursors[i.after])}`;
        const node = [
          ...i.fields,
          i.createdBy && `createdBy ${user(i.createdBy)}`,
          i.updatedBy && `updatedBy ${user(i.updatedBy)}`,
          i.updates &&
            `updates(${i.updates.dir}: ${i.updates.n}) { edges { node { ${i.updates.fields.join(' ')} ${
              i.updates.author ? `author ${user(i.updates.author)}` : ''
            } } } ${pageInfo(i.updates.pageInfo)} }`,
        ]
          .filter(Boolean)
          .join(' ');
        const wrapped = {
          plain: node,
          fragment: `... on Item { ${node} }`,
          typename: `__typename ${node}`,
          list: `${node} list { name }`,
        }[i.wrap];
        body += ` items(first: ${i.first}${after}) { edges { ${i.cursor ? 'cursor' : ''} node { ${wrapped} } } ${pageInfo(i.pageInfo)} }`;
      }
      return body;
    };
    const plannedBefore = await plannedExecutions();
    let served = 0;
    await fc.assert(
      fc.asyncProperty(selection, async (s) => {
        const body = toQuery(s);
        const id = world.a.lists[s.listKey];
        const as = world.a.people[s.reader];
        const viaNode = await raw(t, `query($id: ID!) { node(id: $id) { ... on List { ${body} } } }`, { id }, as);
        const messages = (r: typeof viaNode) => (r.errors ?? []).map((e) => e.message);
        // Run until hot and once more: by graphql's executor, then planned as a whole
        // (src/modules/list/page-plan.ts) when the plan serves the selection, else compiled.
        const planned = await plannedExecutions();
        for (let run = 0; run <= COMPILE_AFTER; run++) {
          const viaList = await raw(t, `query($id: ID!) { list(id: $id) { ${body} } }`, { id }, as);
          expect(messages(viaList), `${body} (run ${run})`).toEqual(messages(viaNode));
          expect(JSON.stringify(viaList.data?.list ?? null), `${body} (run ${run})`).toBe(
            JSON.stringify(viaNode.data?.node ?? null),
          );
        }
        if ((await plannedExecutions()) > planned) served++;
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // Most generated selections are ones the plan serves (the others read the item's list).
    expect(served).toBeGreaterThan(RUNS / 2);
    expect(await plannedExecutions()).toBeGreaterThan(plannedBefore);
  }, 300_000);

  it('reads the whole page, items and updates included, in one statement besides the viewer', async () => {
    const before = t.server.database.statements();
    const res = await raw(
      t,
      `query($id: ID!) { list(id: $id) { name items(first: 50) { edges { node { title createdBy { name } updatedBy { name }
        updates(last: 2) { edges { node { body author { email } } } } } } } } }`,
      { id: world.a.lists.openMain },
      world.a.people.member,
    );
    expect(res.errors).toBeUndefined();
    expect(t.server.database.statements() - before).toBe(2);
  });

  it('opens a list by its link token for anonymous readers, as for its owner', async () => {
    const a = world.a;
    const set = await raw(
      t,
      `mutation($input: SetListGeneralAccessInput!) { setListGeneralAccess(input: $input) {
        ... on SetListGeneralAccessPayload { list { linkToken } } ... on Error { code } } }`,
      { input: { listId: a.lists.openMain, access: 'ANYONE_WITH_LINK' } },
      a.people.owner,
    );
    const setData = set.data as { setListGeneralAccess: { list: { linkToken: string } } };
    const linkToken = setData.setListGeneralAccess.list.linkToken;
    const body = 'id name items(first: 30) { edges { node { title updates(last: 1) { edges { node { body } } } } } }';
    const query = `query($id: ID!, $linkToken: String) { list(id: $id, linkToken: $linkToken) { ${body} } }`;
    const anonymous = await raw(t, query, { id: a.lists.openMain, linkToken }, null);
    const owner = await raw(t, query, { id: a.lists.openMain }, a.people.owner);
    expect(anonymous.data?.list).not.toBeNull();
    expect(JSON.stringify(anonymous.data)).toBe(JSON.stringify(owner.data));
    const wrong = await raw(t, query, { id: a.lists.openMain, linkToken: `${linkToken}x` }, null);
    expect(wrong.data?.list).toBeNull();
    // Someone of another account reads nothing of it, as for a list that does not exist.
    const stranger = await raw(t, query, { id: a.lists.closedPrivate }, world.b.people.admin);
    expect(stranger.data?.list).toBeNull();
  });
});
