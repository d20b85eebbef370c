import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { freshPostgresDatabase } from '../helpers/db.ts';
import { listHelpers } from '../helpers/lists.ts';
import { type Result, startTestServer, type TestServer } from '../helpers/server.ts';
import { POSTGRES_URL, servicesAvailable } from '../helpers/services.ts';

const Me = graphql(`
  query PgOut_Me { me { email } }
`);
const CreateItem = graphql(`
  mutation PgOut_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id } } ... on Error { code } }
  }
`);
const CopyList = graphql(`
  mutation PgOut_CopyList($input: CopyListInput!) {
    copyList(input: $input) { __typename ... on CopyListPayload { list { id name } } ... on Error { code message } }
  }
`);

const OWNER = 'owner@pg-outage.test';
const ITEMS = 5;

// Only real PostgreSQL has connections to terminate; CI must have it (servicesAvailable throws there).
const available = await servicesAvailable();

describe.skipIf(!available)('PostgreSQL connections terminated', () => {
  let db: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let name: string;
  let t: TestServer;
  let admin: pg.Client;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onRejection);
    db = await freshPostgresDatabase(POSTGRES_URL);
    if (!db) throw new Error('no database');
    name = new URL(db.url).pathname.slice(1);
    t = await startTestServer({ databaseUrl: db.url });
    admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`).catch(() => {});
    await admin?.end();
    await t?.close();
    await db?.drop();
    process.off('unhandledRejection', onRejection);
  });

  /** Ends every server connection to the test database, and waits until they are gone. */
  async function terminate() {
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
    while (true) {
      const { rows } = await admin.query('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
      if (rows[0].n === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  function expectUnavailable(res: Result<unknown>) {
    expect(res.status).toBe(503);
    expect(res.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(res.errors?.[0]?.message).toMatch(/temporarily unavailable/);
  }

  it('answers 503 SERVICE_UNAVAILABLE during an outage and works again right after, without crashing', async () => {
    const lists = listHelpers(t);
    const accountId = await lists.account(OWNER);
    const workspace = await lists.workspace(accountId, OWNER);
    const listId = await lists.list(workspace.id, OWNER);

    // Idle pooled connections die: the next requests open new ones.
    await terminate();
    expect((await t.ok(Me, {}, OWNER)).me?.email).toBe(OWNER);
    expect((await t.ok(CreateItem, { input: { listId, title: 'After a restart' } }, OWNER)).createItem.__typename).toBe(
      'CreateItemPayload',
    );

    // The database refuses connections for a while.
    await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
    await terminate();
    expectUnavailable(await t.gql(Me, {}, OWNER));
    expectUnavailable(await t.gql(CreateItem, { input: { listId, title: 'During the outage' } }, OWNER));
    expect((await fetch(`${t.server.url}/readyz`)).status).toBe(503);

    await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
    expect((await fetch(`${t.server.url}/readyz`)).status).toBe(200);
    expect((await t.ok(Me, {}, OWNER)).me?.email).toBe(OWNER);
    const item = await t.ok(CreateItem, { input: { listId, title: 'After the outage' } }, OWNER);
    expect(item.createItem.__typename).toBe('CreateItemPayload');
    const titles = await t.server.services.db.item.findMany({ where: { title: { contains: 'outage' } } });
    expect(titles.map((i) => i.title)).toEqual(['After the outage']);
    expect(rejections).toEqual([]);
  });

  it('leaves each multi-statement mutation either fully committed with its audit row, or not at all', async () => {
    const lists = listHelpers(t);
    const accountId = await lists.account(OWNER);
    const workspace = await lists.workspace(accountId, OWNER);
    const source = await lists.list(workspace.id, OWNER, 'MAIN', 'Source');
    for (let i = 0; i < ITEMS; i++) await t.ok(CreateItem, { input: { listId: source, title: `Item ${i}` } }, OWNER);

    // Waves of concurrent copies (a list, its items and an audit row in one transaction) while
    // every connection is terminated over and over, until some copies failed and some committed.
    const answered = new Map<string, Result<unknown>>();
    let failed = 0;
    for (let wave = 0; wave < 5 && (failed === 0 || failed === answered.size); wave++) {
      const names = Array.from({ length: 12 }, (_, i) => `Copy ${wave}.${i}`);
      let settled = false;
      const copies = Promise.all(
        names.map(async (copyName) => {
          const res = await t.gql(CopyList, { input: { listId: source, name: copyName } }, OWNER);
          answered.set(copyName, res);
          return res;
        }),
      ).finally(() => {
        settled = true;
      });
      for (let round = 0; round < 200 && !settled; round++) {
        await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
        await new Promise((r) => setTimeout(r, 3));
      }
      for (const res of await copies) {
        if (res.errors) {
          failed++;
          expectUnavailable(res);
        } else {
          expect(res.data).toMatchObject({ copyList: { __typename: 'CopyListPayload' } });
        }
      }
    }
    expect(failed).toBeGreaterThan(0);

    const prisma = t.server.services.db;
    const copies = await prisma.list.findMany({
      where: { name: { startsWith: 'Copy ' } },
      include: { _count: { select: { items: true } } },
    });
    const audits = await prisma.auditEvent.findMany({ where: { action: 'list.copy' } });
    // Every copy that exists is whole and audited; no audit row speaks of a copy that is not there.
    for (const copy of copies) expect(copy._count.items, copy.name).toBe(ITEMS);
    expect(audits.map((a) => a.resourceId).sort()).toEqual(copies.map((c) => c.id).sort());
    // Every copy that was answered as done is there (one answered as failed may still have committed:
    // the connection can die after COMMIT reached the server).
    const committed = new Set(copies.map((c) => c.name));
    for (const [copyName, res] of answered) if (!res.errors) expect(committed, copyName).toContain(copyName);
    expect(rejections).toEqual([]);
  });
});
