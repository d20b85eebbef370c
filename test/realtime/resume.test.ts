import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { connectWs, type Subscription, type WsClient } from '../helpers/ws.ts';

const CreateItem = graphql(`
  mutation Resume_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id version } } ... on Error { code } }
  }
`);
const UpdateItem = graphql(`
  mutation Resume_UpdateItem($input: UpdateItemInput!) {
    updateItem(input: $input) { __typename ... on Error { code } }
  }
`);
const DeleteItem = graphql(`
  mutation Resume_DeleteItem($input: DeleteItemInput!) {
    deleteItem(input: $input) { __typename ... on Error { code } }
  }
`);
const RenameList = graphql(`
  mutation Resume_RenameList($input: UpdateListInput!) {
    updateList(input: $input) { __typename ... on Error { code } }
  }
`);
const RemoveShare = graphql(`
  mutation Resume_RemoveShare($input: RemoveShareInput!) {
    removeShare(input: $input) { __typename ... on Error { code } }
  }
`);
const ListEvents = graphql(`
  subscription Resume_ListEvents($listId: ID!, $after: String) {
    listEvents(listId: $listId, after: $after) {
      __typename
      ... on ListEventsSubscribed { cursor }
      ... on ResyncRequired { cursor }
      ... on ItemCreated { cursor item { title } }
      ... on ItemUpdated { cursor changedFields version }
      ... on ItemDeleted { cursor itemId }
      ... on ListRenamed { cursor list { name } }
      ... on AccessChanged { cursor }
      ... on AccessRevoked { cursor }
    }
  }
`);

type Event = { listEvents: { __typename: string; cursor: string } & Record<string, unknown> };

const OWNER = 'owner@resume.test';
const VIEWER = 'viewer@resume.test';

/** The next `n` events, as `__typename: detail` lines, and the cursor of the last. */
async function take(sub: Subscription<Event>, n: number) {
  const seen: string[] = [];
  let cursor = '';
  for (let i = 0; i < n; i++) {
    const e = (await sub.next()).listEvents;
    cursor = e.cursor;
    const detail =
      (e.item as { title?: string } | undefined)?.title ??
      (e.list as { name?: string } | undefined)?.name ??
      (e.changedFields as string[] | undefined)?.join(',') ??
      '';
    seen.push(detail ? `${e.__typename}: ${detail}` : e.__typename);
  }
  return { seen, cursor };
}

describe('listEvents resumes from a cursor', () => {
  let t: TestServer;
  let short: TestServer;
  const clients: WsClient[] = [];
  beforeAll(async () => {
    t = await startTestServer();
    // Events are kept for 1.8 s: a cursor a few seconds old is too old.
    short = await startTestServer({ env: { EVENT_RETENTION_HOURS: '0.0005' } });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await t?.close();
    await short?.close();
  });

  async function setUp(server: TestServer) {
    const lists = listHelpers(server);
    const accountId = await lists.account(OWNER, [VIEWER]);
    const workspace = await lists.workspace(accountId, OWNER, 'CLOSED');
    const listId = await lists.list(workspace.id, OWNER, 'SHAREABLE');
    const shareId = await lists.share(OWNER, { listId, role: 'VIEWER', userId: await lists.userId(VIEWER) });
    return { listId, shareId };
  }

  async function subscribe(server: TestServer, as: string, listId: string, after?: string) {
    const ws = connectWs(server.server.url, await server.token(as));
    clients.push(ws);
    return { ws, sub: ws.subscribe(ListEvents, { listId, ...(after ? { after } : {}) }) as Subscription<Event> };
  }

  async function createItem(server: TestServer, listId: string, title: string) {
    const res = await server.ok(CreateItem, { input: { listId, title } }, OWNER);
    if (res.createItem.__typename !== 'CreateItemPayload') throw new Error(JSON.stringify(res));
    return res.createItem.item;
  }

  it('gives every event a cursor, and a client that reconnects with it exactly the missed events, then live ones', async () => {
    const { listId } = await setUp(t);
    const first = await subscribe(t, OWNER, listId);
    const subscribed = (await first.sub.next()).listEvents;
    expect(subscribed.__typename).toBe('ListEventsSubscribed');
    expect(subscribed.cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    await createItem(t, listId, 'Seen');
    const seen = await take(first.sub, 1);
    expect(seen.seen).toEqual(['ItemCreated: Seen']);
    expect(seen.cursor).not.toBe(subscribed.cursor);
    await first.ws.dispose();

    // Missed while disconnected: every kind of change, in this order.
    const a = await createItem(t, listId, 'Missed A');
    await createItem(t, listId, 'Missed B');
    await t.ok(UpdateItem, { input: { id: a.id, expectedVersion: a.version, patch: { title: 'A2' } } }, OWNER);
    await t.ok(DeleteItem, { input: { id: a.id } }, OWNER);
    await t.ok(RenameList, { input: { listId, name: 'Renamed' } }, OWNER);

    const again = await subscribe(t, OWNER, listId, seen.cursor);
    expect((await again.sub.next()).listEvents).toEqual({ __typename: 'ListEventsSubscribed', cursor: seen.cursor });
    const missed = await take(again.sub, 5);
    expect(missed.seen).toEqual([
      // Replayed events show items as they are now: A was deleted since.
      'ItemCreated',
      'ItemCreated: Missed B',
      'ItemUpdated: title',
      'ItemDeleted',
      'ListRenamed: Renamed',
    ]);
    await again.sub.nothingFor(300);
    await createItem(t, listId, 'Live');
    const live = await take(again.sub, 1);
    expect(live.seen).toEqual(['ItemCreated: Live']);
    await again.sub.nothingFor(300);

    // Resuming from a cursor in the middle gives the rest, once each.
    const middle = await subscribe(t, OWNER, listId, missed.cursor);
    await middle.sub.next();
    expect((await take(middle.sub, 1)).seen).toEqual(['ItemCreated: Live']);
    await middle.sub.nothingFor(300);
    // And from the live cursor: nothing until something happens.
    const current = await subscribe(t, OWNER, listId, live.cursor);
    await current.sub.next();
    await current.sub.nothingFor(300);
  });

  it('refuses a cursor of another list, or one that is not a cursor, with a VALIDATION error', async () => {
    const { listId } = await setUp(t);
    const other = await setUp(t);
    const elsewhere = await subscribe(t, OWNER, other.listId);
    const foreign = (await elsewhere.sub.next()).listEvents.cursor;
    for (const after of [foreign, 'not-a-cursor', Buffer.from(`${listId}:99999`).toString('base64url')]) {
      const { sub } = await subscribe(t, OWNER, listId, after);
      const closed = await sub.closed;
      expect(JSON.stringify(closed.error)).toContain('VALIDATION');
    }
  });

  it('re-decides access on resume: a viewer whose share was removed meanwhile is refused', async () => {
    const { listId, shareId } = await setUp(t);
    const viewer = await subscribe(t, VIEWER, listId);
    const cursor = (await viewer.sub.next()).listEvents.cursor;
    await viewer.ws.dispose();
    await createItem(t, listId, 'Secret');
    expect((await t.ok(RemoveShare, { input: { shareId } }, OWNER)).removeShare.__typename).toBe('RemoveSharePayload');
    const back = await subscribe(t, VIEWER, listId, cursor);
    const closed = await back.sub.closed;
    expect(JSON.stringify(closed.error)).toContain('NOT_FOUND');
  });

  it('answers a cursor older than EVENT_RETENTION_HOURS with one ResyncRequired, then the live stream', async () => {
    const { listId } = await setUp(short);
    const first = await subscribe(short, OWNER, listId);
    const old = (await first.sub.next()).listEvents.cursor;
    await first.ws.dispose();
    await createItem(short, listId, 'Long ago');
    await new Promise((r) => setTimeout(r, 2_500));
    const back = await subscribe(short, OWNER, listId, old);
    expect((await back.sub.next()).listEvents.__typename).toBe('ListEventsSubscribed');
    const resync = (await back.sub.next()).listEvents;
    expect(resync.__typename).toBe('ResyncRequired');
    await back.sub.nothingFor(300);
    await createItem(short, listId, 'Now');
    const live = await take(back.sub, 1);
    expect(live.seen).toEqual(['ItemCreated: Now']);
    // The ResyncRequired cursor resumes right before the live event.
    const fromResync = await subscribe(short, OWNER, listId, resync.cursor);
    await fromResync.sub.next();
    expect((await take(fromResync.sub, 1)).seen).toEqual(['ItemCreated: Now']);
  });
});
