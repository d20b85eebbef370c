import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/jwt.ts';
import { graphql } from '../generated/gql.ts';
import { freshPostgresDatabase } from '../helpers/db.ts';
import {
  call,
  type OwnPgBouncer,
  ownPgBouncer,
  pgbouncerAvailable,
  type ServerProcess,
  startServerProcess,
} from '../helpers/processes.ts';
import { TEST_SECRET } from '../helpers/server.ts';
import { POSTGRES_URL, REDIS_URL, servicesAvailable } from '../helpers/services.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';

const CreateAccount = graphql(`
  mutation Bouncer_CreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { account { id } } }
  }
`);
const CreateWorkspace = graphql(`
  mutation Bouncer_CreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) { __typename ... on CreateWorkspacePayload { workspace { id } } }
  }
`);
const CreateList = graphql(`
  mutation Bouncer_CreateList($input: CreateListInput!) {
    createList(input: $input) { __typename ... on CreateListPayload { list { id } } }
  }
`);
const CreateItem = graphql(`
  mutation Bouncer_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id } } }
  }
`);
const Items = graphql(`
  query Bouncer_Items($id: ID!) { list(id: $id) { items(first: 10) { edges { node { title } } } } }
`);
const ListEvents = graphql(`
  subscription Bouncer_ListEvents($listId: ID!) {
    listEvents(listId: $listId) { __typename ... on ItemCreated { item { title } } }
  }
`);

const OWNER = 'owner@pgbouncer.test';

const available = (await servicesAvailable()) && pgbouncerAvailable();

describe.skipIf(!available)('behind PgBouncer in transaction mode', () => {
  let bouncer: OwnPgBouncer;
  let db: { url: string; drop(): Promise<void> } | null;
  const servers: ServerProcess[] = [];
  const clients: WsClient[] = [];

  beforeAll(async () => {
    db = await freshPostgresDatabase(POSTGRES_URL);
    bouncer = await ownPgBouncer(db?.url ?? '');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await Promise.all(servers.map((s) => s.kill()));
    await bouncer?.stop();
    await db?.drop();
  });

  it('three instances started at once migrate once, all become ready, and serve queries, mutations and subscriptions', async () => {
    const env = {
      NODE_ENV: 'test',
      JWT_SECRET: TEST_SECRET,
      SEED_DEMO: 'false',
      DATABASE_URL: bouncer.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: `sharegraph-test:pgbouncer-${process.pid}:`,
    };
    const started = await Promise.allSettled([0, 1, 2].map(() => startServerProcess(env)));
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    expect(started.map((s) => (s.status === 'rejected' ? String(s.reason) : 'ready'))).toEqual([
      'ready',
      'ready',
      'ready',
    ]);
    const [one, two, three] = servers as [ServerProcess, ServerProcess, ServerProcess];

    // Straight to PostgreSQL: every migration recorded once, and no advisory lock left behind
    // on a pooled session.
    const direct = new pg.Client({ connectionString: db?.url });
    await direct.connect();
    try {
      const { rows } = await direct.query<{ migration_name: string; n: string }>(
        'SELECT migration_name, count(*) AS n FROM _prisma_migrations GROUP BY 1 ORDER BY 1',
      );
      expect(rows.length).toBeGreaterThan(1);
      expect(rows.filter((r) => r.n !== '1')).toEqual([]);
      // This database's only: pg_locks lists the whole server's, and other test files migrate
      // their own databases under the same key meanwhile.
      const locks = await direct.query(
        "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
      );
      expect(locks.rows).toEqual([]);
    } finally {
      await direct.end();
    }

    const token = await signToken(TEST_SECRET, { email: OWNER }, '1h');
    const account = (await call(one.url, CreateAccount, { input: { name: 'Pooled' } }, token)).createAccount;
    const accountId = account.__typename === 'CreateAccountPayload' ? account.account.id : '';
    const ws = (await call(two.url, CreateWorkspace, { input: { accountId, name: 'Pooled' } }, token)).createWorkspace;
    const workspaceId = ws.__typename === 'CreateWorkspacePayload' ? ws.workspace.id : '';
    const list = (await call(three.url, CreateList, { input: { workspaceId, name: 'Pooled' } }, token)).createList;
    const listId = list.__typename === 'CreateListPayload' ? list.list.id : '';

    const watcher = connectWs(three.url, token);
    clients.push(watcher);
    const events = watcher.subscribe(ListEvents, { listId });
    expect((await events.next(10_000)).listEvents.__typename).toBe('ListEventsSubscribed');
    await call(one.url, CreateItem, { input: { listId, title: 'Through the pooler' } }, token);
    expect((await events.next(10_000)).listEvents).toEqual({
      __typename: 'ItemCreated',
      item: { title: 'Through the pooler' },
    });
    const items = await call(two.url, Items, { id: listId }, token);
    expect(items.list?.items.edges.map((e) => e.node.title)).toEqual(['Through the pooler']);
  }, 120_000);
});
