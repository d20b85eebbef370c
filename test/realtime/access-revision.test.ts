import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements as statements } from '../../bench/lib/round-trips.ts';
import { graphql } from '../generated/gql.ts';
import { freshPostgresDatabase } from '../helpers/db.ts';
import { listHelpers } from '../helpers/lists.ts';
import { type RedisProxy, startRedisProxy } from '../helpers/redis-proxy.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { POSTGRES_URL, REDIS_URL } from '../helpers/services.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';

// Read your writes across instances (issue 20, part 3). Instance B reaches Redis through a proxy
// that delivers everything late (LAG_MS), as over a slow link, and list events later still
// (EVENTS_LAG_MS): B hears A's announcements late, and the ACCESS_CHANGED that ends its read
// grants later, and keeps serving what it had cached until it does. A revision handed back to B
// must be honoured at once all the same.

const LAG_MS = 150;
const EVENTS_LAG_MS = 1_000;

const ListView = graphql(`
  query ArList($id: ID!) {
    list(id: $id) { id name viewerRole items(first: 10) { edges { node { id title } } } }
  }
`);
const ListAtRevision = graphql(`
  query ArListAtRevision($id: ID!, $minRevision: String) {
    list(id: $id, minRevision: $minRevision) { id name viewerRole items(first: 10) { edges { node { id title } } } }
  }
`);
const ShareList = graphql(`
  mutation ArShareList($input: ShareListInput!) {
    shareList(input: $input) {
      __typename
      ... on ShareListPayload { share { id } accessRevision }
      ... on Error { code message }
    }
  }
`);
const RemoveShare = graphql(`
  mutation ArRemoveShare($input: RemoveShareInput!) {
    removeShare(input: $input) { __typename ... on RemoveSharePayload { accessRevision } ... on Error { code message } }
  }
`);
const UpdateItem = graphql(`
  mutation ArUpdateItem($input: UpdateItemInput!) {
    updateItem(input: $input) {
      __typename
      ... on UpdateItemPayload { item { version } accessRevision }
      ... on Error { code message }
    }
  }
`);
const CreateItem = graphql(`
  mutation ArCreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id version } } ... on Error { code message } }
  }
`);
const SetPresence = graphql(`
  mutation ArSetPresence($input: SetPresenceInput!) {
    setPresence(input: $input) { __typename ... on SetPresencePayload { sessions } ... on Error { code message } }
  }
`);
const ListEvents = graphql(`
  subscription ArListEvents($listId: ID!, $minRevision: String) {
    listEvents(listId: $listId, minRevision: $minRevision) { __typename }
  }
`);

/** Runs `doc` on `t` as `email`, with extra request headers; the raw status and body. */
async function withHeaders<R, V>(
  t: TestServer,
  doc: { toString(): string } & { __apiType?: (v: V) => R },
  variables: V,
  email: string,
  headers: Record<string, string>,
): Promise<{ status: number; data?: R | null; errors?: { message: string; extensions?: Record<string, unknown> }[] }> {
  const res = await t.server.yoga.fetch('http://sharegraph.test/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${await t.token(email)}`,
      ...headers,
    },
    body: JSON.stringify({ query: doc.toString(), variables }),
  });
  return { status: res.status, ...((await res.json()) as object) };
}

describe('access revisions across two instances (PostgreSQL and Redis, B lagging)', () => {
  let a: TestServer;
  let b: TestServer;
  let proxy: RedisProxy;
  let db: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  const sockets: WsClient[] = [];
  const tag = randomBytes(3).toString('hex');
  const people = { admin: `admin-${tag}@ar.test`, viewer: `viewer-${tag}@ar.test` };
  let listId = '';
  let viewerId = '';
  let item = { id: '', version: 0 };

  beforeAll(async () => {
    db = await freshPostgresDatabase(POSTGRES_URL);
    const redisKeyPrefix = `sharegraph-test:${randomBytes(6).toString('hex')}:`;
    proxy = await startRedisProxy(REDIS_URL);
    proxy.slower('list:events:', EVENTS_LAG_MS);
    a = await startTestServer({ databaseUrl: db?.url, redisKeyPrefix, env: { REDIS_URL } });
    b = await startTestServer({
      databaseUrl: db?.url,
      redisKeyPrefix,
      env: { REDIS_URL: proxy.url, ACCESS_REVISION_WAIT_MS: '2000' },
    });
    const lists = listHelpers(a);
    const accountId = await lists.account(people.admin, [people.viewer]);
    const ws = await lists.workspace(accountId, people.admin, 'CLOSED');
    listId = await lists.list(ws.id, people.admin, 'SHAREABLE', `List ${tag}`);
    viewerId = await lists.userId(people.viewer);
    const created = await a.ok(CreateItem, { input: { listId, title: 'First' } }, people.admin);
    if (created.createItem.__typename !== 'CreateItemPayload') throw new Error(JSON.stringify(created));
    item = created.createItem.item;
    proxy.lag(LAG_MS);
  });
  afterAll(async () => {
    for (const s of sockets) await s.dispose();
    await a?.close();
    await b?.close();
    await proxy?.close();
    await db?.drop();
  });

  /** Shares the list with the viewer on A, and warms every cache B keeps for them; the share's id. */
  async function sharedAndWarm(): Promise<string> {
    const shared = await a.ok(ShareList, { input: { listId, role: 'VIEWER', userId: viewerId } }, people.admin);
    if (shared.shareList.__typename !== 'ShareListPayload') throw new Error(JSON.stringify(shared));
    // The share is read on B at once with its revision, before B heard of it.
    const seen = await b.ok(
      ListAtRevision,
      { id: listId, minRevision: shared.shareList.accessRevision },
      people.viewer,
    );
    expect(seen.list?.viewerRole).toBe('VIEWER');
    // B keeps the answer (its statements stop), remembers the viewer and their facts, and holds a
    // read grant for them: their stream is open and their presence set.
    const token = await b.token(people.viewer);
    await expect.poll(() => statements(b, () => b.gql(ListView, { id: listId }, token)), { timeout: 5_000 }).toBe(0);
    const presence = await b.ok(SetPresence, { input: { listId, status: 'VIEWING' } }, people.viewer);
    expect(presence.setPresence.__typename).toBe('SetPresencePayload');
    return shared.shareList.share.id;
  }

  it('a share revoked on A is refused on B with the returned revision, at once, 20 times out of 20', async () => {
    const ws = connectWs(b.server.url, await b.token(people.viewer));
    sockets.push(ws);
    const servedWithout: string[] = [];
    for (let round = 0; round < 20; round++) {
      const shareId = await sharedAndWarm();
      // An open stream of the viewer holds their read grant on B.
      const stream = ws.subscribe(ListEvents, { listId });
      expect((await stream.next()).listEvents.__typename).toBe('ListEventsSubscribed');

      const removed = await a.ok(RemoveShare, { input: { shareId } }, people.admin);
      if (removed.removeShare.__typename !== 'RemoveSharePayload') throw new Error(JSON.stringify(removed));
      const revision = removed.removeShare.accessRevision;

      // Without the revision B may still serve what it kept (B has not heard yet).
      const without = await b.gql(ListView, { id: listId }, people.viewer);
      servedWithout.push(without.data?.list ? 'kept answer' : 'refused');

      // With it, in every form: refused.
      const byArgument = await b.gql(ListAtRevision, { id: listId, minRevision: revision }, people.viewer);
      expect(byArgument.errors).toBeUndefined();
      expect(byArgument.data?.list, `round ${round}: minRevision`).toBeNull();
      const byHeader = await withHeaders(b, ListView, { id: listId }, people.viewer, {
        'X-Access-Revision': revision,
      });
      expect(byHeader.status).toBe(200);
      expect(byHeader.data?.list, `round ${round}: X-Access-Revision`).toBeNull();
      const again = ws.subscribe(ListEvents, { listId, minRevision: revision });
      const { error } = await again.closed;
      expect(error, `round ${round}: listEvents was not refused`).toBeDefined();
      expect(JSON.stringify(error), `round ${round}: listEvents`).toContain('NOT_FOUND');
      const presence = await withHeaders(
        b,
        SetPresence,
        { input: { listId, status: 'VIEWING' as const } },
        people.viewer,
        { 'X-Access-Revision': revision },
      );
      expect(presence.data?.setPresence.__typename, `round ${round}: setPresence`).toBe('NotFoundError');
      stream.dispose();
    }
    // B was really behind: without the revision it served what it kept in some round (19–20 of 20
    // when measured), so the refusals above are the revision's doing, not a fresh cache's.
    expect(count(servedWithout)['kept answer'] ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('an item edited on A is read on B with the returned revision, though B kept the old answer', async () => {
    const shared = await a.ok(ShareList, { input: { listId, role: 'VIEWER', userId: viewerId } }, people.admin);
    if (shared.shareList.__typename !== 'ShareListPayload') throw new Error(JSON.stringify(shared));
    const token = await b.token(people.viewer);
    await expect.poll(() => statements(b, () => b.gql(ListView, { id: listId }, token)), { timeout: 5_000 }).toBe(0);
    for (let round = 0; round < 5; round++) {
      const title = `Edited ${round}`;
      const edited = await a.ok(
        UpdateItem,
        { input: { id: item.id, expectedVersion: item.version, patch: { title } } },
        people.admin,
      );
      if (edited.updateItem.__typename !== 'UpdateItemPayload') throw new Error(JSON.stringify(edited));
      item = { ...item, version: edited.updateItem.item.version };
      const read = await withHeaders(b, ListView, { id: listId }, people.viewer, {
        'X-Access-Revision': edited.updateItem.accessRevision,
      });
      expect(read.data?.list?.items.edges[0]?.node.title).toBe(title);
      // And kept again afterwards.
      await expect.poll(() => statements(b, () => b.gql(ListView, { id: listId }, token)), { timeout: 5_000 }).toBe(0);
    }
    const removed = await a.ok(RemoveShare, { input: { shareId: shared.shareList.share.id } }, people.admin);
    expect(removed.removeShare.__typename).toBe('RemoveSharePayload');
  });

  it('refuses a malformed revision, or one ahead of every write, with a typed VALIDATION error', async () => {
    const edited = await a.ok(
      UpdateItem,
      { input: { id: item.id, expectedVersion: item.version, patch: { title: 'Validated' } } },
      people.admin,
    );
    if (edited.updateItem.__typename !== 'UpdateItemPayload') throw new Error(JSON.stringify(edited));
    item = { ...item, version: edited.updateItem.item.version };
    const revision = edited.updateItem.accessRevision;
    const [epoch, n] = revision.split('.');
    const future = `${epoch}.${Number(n) + 1_000_000}`;
    for (const bad of ['', 'garbage', '1.2.3', `${epoch}.-1`, `${epoch}.12345678901234567890`, future]) {
      const byArgument = await b.gql(ListAtRevision, { id: listId, minRevision: bad }, people.viewer);
      expect(byArgument.status, bad).toBe(400);
      expect(byArgument.errors?.[0]?.extensions?.code, bad).toBe('VALIDATION');
      expect(byArgument.data ?? null).toBeNull();
      const byHeader = await withHeaders(b, ListView, { id: listId }, people.viewer, { 'X-Access-Revision': bad });
      expect(byHeader.status, bad).toBe(400);
      expect(byHeader.errors?.[0]?.extensions?.code, bad).toBe('VALIDATION');
      expect(byHeader.errors?.[0]?.extensions?.path, bad).toEqual(['X-Access-Revision']);
    }
    const ws = connectWs(b.server.url, await b.token(people.viewer));
    sockets.push(ws);
    const { error } = await ws.subscribe(ListEvents, { listId, minRevision: 'garbage' }).closed;
    expect(JSON.stringify(error)).toContain('VALIDATION');
    // A revision already reached is served as usual.
    const read = await b.ok(ListAtRevision, { id: listId, minRevision: revision }, people.admin);
    expect(read.list?.items.edges[0]?.node.title).toBe('Validated');
  });

  it('while B cannot reach Redis at all, honours a revision at once from PostgreSQL (no wait, nothing kept)', async () => {
    const shareId = await sharedAndWarm();
    proxy.cut();
    try {
      const removed = await a.ok(RemoveShare, { input: { shareId } }, people.admin);
      if (removed.removeShare.__typename !== 'RemoveSharePayload') throw new Error(JSON.stringify(removed));
      const started = performance.now();
      const read = await b.gql(
        ListAtRevision,
        { id: listId, minRevision: removed.removeShare.accessRevision },
        people.viewer,
      );
      expect(read.errors).toBeUndefined();
      expect(read.data?.list).toBeNull();
      const presence = await withHeaders(
        b,
        SetPresence,
        { input: { listId, status: 'VIEWING' as const } },
        people.viewer,
        { 'X-Access-Revision': removed.removeShare.accessRevision },
      );
      expect(presence.data?.setPresence.__typename).toBe('NotFoundError');
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      proxy.restore();
    }
    // Back: B catches up with A's writes, and reads with a revision are served as before.
    const shared = await a.ok(ShareList, { input: { listId, role: 'VIEWER', userId: viewerId } }, people.admin);
    if (shared.shareList.__typename !== 'ShareListPayload') throw new Error(JSON.stringify(shared));
    const revision = shared.shareList.accessRevision;
    await expect
      .poll(
        async () =>
          (await b.gql(ListAtRevision, { id: listId, minRevision: revision }, people.viewer)).data?.list?.viewerRole,
        { timeout: 10_000 },
      )
      .toBe('VIEWER');
    // Its caches work again once it listens to the bus again.
    const token = await b.token(people.viewer);
    await expect.poll(() => statements(b, () => b.gql(ListView, { id: listId }, token)), { timeout: 10_000 }).toBe(0);
  });

  it('answers REVISION_NOT_REACHED (503, Retry-After) after the bounded wait when B is cut off from Redis', async () => {
    proxy.lag(0);
    proxy.freeze();
    try {
      const edited = await a.ok(
        UpdateItem,
        { input: { id: item.id, expectedVersion: item.version, patch: { title: 'While B is cut off' } } },
        people.admin,
      );
      if (edited.updateItem.__typename !== 'UpdateItemPayload') throw new Error(JSON.stringify(edited));
      item = { ...item, version: edited.updateItem.item.version };
      const revision = edited.updateItem.accessRevision;
      const started = performance.now();
      const read = await b.gql(ListAtRevision, { id: listId, minRevision: revision }, people.admin);
      const waited = performance.now() - started;
      expect(read.status).toBe(503);
      expect(read.errors?.[0]?.extensions?.code).toBe('REVISION_NOT_REACHED');
      expect(read.errors?.[0]?.extensions?.retryAfterSeconds).toBe(2);
      expect(waited).toBeGreaterThanOrEqual(1_900);
      const byHeader = await withHeaders(b, ListView, { id: listId }, people.admin, { 'X-Access-Revision': revision });
      expect(byHeader.status).toBe(503);
      // B stops trusting a bus that leaves its PING unanswered: it reconnects (still cut off, so it
      // never listens again meanwhile) and answers from PostgreSQL instead.
      await expect
        .poll(
          async () =>
            (await b.gql(ListAtRevision, { id: listId, minRevision: revision }, people.admin)).data?.list?.items
              .edges[0]?.node.title,
          { timeout: 15_000, interval: 500 },
        )
        .toBe('While B is cut off');
      proxy.thaw();
      const after = await b.ok(ListAtRevision, { id: listId, minRevision: revision }, people.admin);
      expect(after.list?.items.edges[0]?.node.title).toBe('While B is cut off');
    } finally {
      proxy.thaw();
      proxy.lag(LAG_MS);
    }
  });
});

function count(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
