import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { type OnOwnDatabase, startOnOwnDatabase, type TestServer } from '../helpers/server.ts';
import { POSTGRES_URL, servicesAvailable } from '../helpers/services.ts';

const ListPage = graphql(`
  query Pool_ListPage($id: ID!) {
    list(id: $id) { name items(first: 50) { edges { node { id title version updatedBy { name } } } } }
  }
`);
const CreateItem = graphql(`
  mutation Pool_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id version } } ... on Error { code } }
  }
`);
const UpdateItem = graphql(`
  mutation Pool_UpdateItem($input: UpdateItemInput!) {
    updateItem(input: $input) { __typename ... on UpdateItemPayload { item { version } } ... on Error { code } }
  }
`);

const OWNER = 'owner@pool.test';
const POOL = 2;
const LISTS = 4;

// Only real PostgreSQL has connections to count; CI must have it (servicesAvailable throws there).
const available = await servicesAvailable();

describe.skipIf(!available)('DATABASE_POOL_MAX', () => {
  let own: OnOwnDatabase;
  let t: TestServer;
  let name: string;
  // On the server's postgres database: a connection to the test database would count itself.
  let admin: pg.Client;

  beforeAll(async () => {
    own = await startOnOwnDatabase({ DATABASE_POOL_MAX: String(POOL) });
    ({ t, name } = own);
    admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await own?.close();
  });

  it('bounds the connections one instance opens, and every request made at once is answered through them', async () => {
    const lists = listHelpers(t);
    const accountId = await lists.account(OWNER);
    const workspace = await lists.workspace(accountId, OWNER);
    const listIds: string[] = [];
    for (let i = 0; i < LISTS; i++) listIds.push(await lists.list(workspace.id, OWNER, 'MAIN', `List ${i}`));

    // The most connections to the database seen at once, sampled until `done` settles.
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await admin.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
          [name],
        );
        most = Math.max(most, rows[0]?.n ?? 0);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    try {
      // Waves of 40 at once: items added to every list, each edited, each list read.
      const created = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          t.ok(CreateItem, { input: { listId: listIds[i % LISTS] as string, title: `Item ${i}` } }, OWNER),
        ),
      );
      const items = created.map((c) => (c.createItem.__typename === 'CreateItemPayload' ? c.createItem.item : null));
      expect(items.every(Boolean)).toBe(true);
      const [edited, read] = await Promise.all([
        Promise.all(
          items.map((item, i) =>
            t.ok(
              UpdateItem,
              { input: { id: item?.id as string, expectedVersion: 1, patch: { title: `Edited ${i}` } } },
              OWNER,
            ),
          ),
        ),
        Promise.all(Array.from({ length: 40 }, (_, i) => t.ok(ListPage, { id: listIds[i % LISTS] as string }, OWNER))),
      ]);
      expect(edited.map((e) => e.updateItem)).toEqual(
        items.map(() => ({ __typename: 'UpdateItemPayload', item: { version: 2 } })),
      );
      for (const page of read) expect(page.list?.items.edges.length).toBeGreaterThan(0);
    } finally {
      sampling = false;
      await sampler;
    }
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(POOL);
    const after = await t.ok(ListPage, { id: listIds[0] as string }, OWNER);
    expect(after.list?.items.edges.map((e) => e.node.title).sort()).toEqual(
      Array.from({ length: 40 }, (_, i) => i)
        .filter((i) => i % LISTS === 0)
        .map((i) => `Edited ${i}`)
        .sort(),
    );
  });
});
