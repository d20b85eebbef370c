import { CloseCode } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { connectWs, type Subscription, type WsClient, wsUrl } from '../helpers/ws.ts';

const RemoveShare = graphql(`
  mutation Proto_RemoveShare($input: RemoveShareInput!) {
    removeShare(input: $input) { __typename ... on Error { code message } }
  }
`);
const CreateItem = graphql(`
  mutation Proto_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id version } } ... on Error { code } }
  }
`);
const UpdateItem = graphql(`
  mutation Proto_UpdateItem($input: UpdateItemInput!) {
    updateItem(input: $input) { __typename ... on Error { code message } }
  }
`);
const SetPresence = graphql(`
  mutation Proto_SetPresence($input: SetPresenceInput!) {
    setPresence(input: $input) { __typename ... on Error { code message } }
  }
`);
const ListEvents = graphql(`
  subscription Proto_ListEvents($listId: ID!) {
    listEvents(listId: $listId) { __typename ... on ItemCreated { item { title } } ... on ItemUpdated { item { title } } }
  }
`);
const Presence = graphql(`
  subscription Proto_Presence($listId: ID!) {
    presence(listId: $listId) { kind entry { user { email } status } roster { user { email } } }
  }
`);

const OWNER = 'owner@proto.test';
const VIEWER = 'viewer@proto.test';
const EDITOR = 'editor@proto.test';

/** A raw socket speaking graphql-transport-ws, to misbehave in ways a real client never does. */
function rawSocket(url: string) {
  const ws = new WebSocket(wsUrl(url), 'graphql-transport-ws');
  const messages: { type: string; id?: string; payload?: unknown }[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  const open = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const send = (message: unknown) => ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  /** Resolves once a message of `type` arrived. */
  const received = async (type: string) => {
    while (!messages.some((m) => m.type === type)) {
      const code = await Promise.race([closed.then((c) => c.code), new Promise((r) => setTimeout(r, 10))]);
      if (typeof code === 'number') throw new Error(`closed with ${code} before ${type}`);
    }
  };
  return { ws, messages, closed, open, send, received };
}

const sockets: WebSocket[] = [];
const clients: WsClient[] = [];
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await Promise.all(clients.map((c) => c.dispose()));
  await t?.close();
});

function raw() {
  const socket = rawSocket(t.server.url);
  sockets.push(socket.ws);
  return socket;
}

/** A closed workspace of OWNER with a list shared with VIEWER (VIEWER role) and EDITOR (EDITOR role). */
async function sharedList() {
  const lists = listHelpers(t);
  const accountId = await lists.account(OWNER, [VIEWER, EDITOR]);
  const workspace = await lists.workspace(accountId, OWNER, 'CLOSED');
  const listId = await lists.list(workspace.id, OWNER, 'SHAREABLE');
  const shareId = await lists.share(OWNER, { listId, role: 'VIEWER', userId: await lists.userId(VIEWER) });
  await lists.share(OWNER, { listId, role: 'EDITOR', userId: await lists.userId(EDITOR) });
  return { listId, shareId };
}

async function createItem(listId: string, title: string, as = EDITOR) {
  const r = (await t.ok(CreateItem, { input: { listId, title } }, as)).createItem;
  if (r.__typename !== 'CreateItemPayload') throw new Error(JSON.stringify(r));
  return r.item;
}

/** Every event until the server ends the stream (completes or errors it); fails after 10 s. */
async function drain<T>(sub: Subscription<T>): Promise<{ events: T[]; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const end = await Promise.race([
    sub.closed,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the stream did not end within 10 s')), 10_000);
    }),
  ]).finally(() => clearTimeout(timer));
  const events: T[] = [];
  // Events that arrived before the end are queued in order.
  while (true) {
    try {
      events.push(await sub.next(1));
    } catch {
      return { events, ...(end.error ? { error: end.error } : {}) };
    }
  }
}

describe('graphql-transport-ws misuse', () => {
  it('closes with 4408 when no connection_init arrives in time', async () => {
    const s = raw();
    await s.open;
    expect((await s.closed).code).toBe(CloseCode.ConnectionInitialisationTimeout);
  });

  it('closes with 4429 on a second connection_init', async () => {
    const s = raw();
    await s.open;
    s.send({ type: 'connection_init', payload: { authorization: `Bearer ${await t.token(VIEWER)}` } });
    await s.received('connection_ack');
    s.send({ type: 'connection_init', payload: {} });
    expect((await s.closed).code).toBe(CloseCode.TooManyInitialisationRequests);
  });

  it('closes with 4401 on a subscribe before the connection is acknowledged', async () => {
    const s = raw();
    await s.open;
    s.send({ type: 'subscribe', id: '1', payload: { query: '{ __typename }' } });
    expect((await s.closed).code).toBe(CloseCode.Unauthorized);
    expect(s.messages).toEqual([]);
  });

  it('closes with 4403 on a bad token in connectionParams', async () => {
    const s = raw();
    await s.open;
    s.send({ type: 'connection_init', payload: { authorization: 'Bearer not-a-token' } });
    expect((await s.closed).code).toBe(CloseCode.Forbidden);
    expect(s.messages).toEqual([]);
    const forged = raw();
    await forged.open;
    const token = await t.token(VIEWER);
    forged.send({ type: 'connection_init', payload: { authorization: `Bearer ${token.slice(0, -4)}AAAA` } });
    expect((await forged.closed).code).toBe(CloseCode.Forbidden);
  });

  it('closes with 4409 when an operation id is reused while the first is live', async () => {
    const { listId } = await sharedList();
    const s = raw();
    await s.open;
    s.send({ type: 'connection_init', payload: { authorization: `Bearer ${await t.token(VIEWER)}` } });
    await s.received('connection_ack');
    const subscribe = { type: 'subscribe', id: 'op', payload: { query: ListEvents.toString(), variables: { listId } } };
    s.send(subscribe);
    await s.received('next');
    s.send(subscribe);
    expect((await s.closed).code).toBe(CloseCode.SubscriberAlreadyExists);
  });

  it('closes with 4400 on a malformed message', async () => {
    for (const bad of ['not json', '{"type":"subscribe"}', '{"id":"1"}', '[]']) {
      const s = raw();
      await s.open;
      s.send({ type: 'connection_init', payload: {} });
      await s.received('connection_ack');
      s.send(bad);
      expect((await s.closed).code, bad).toBe(CloseCode.BadRequest);
    }
  });
});

describe('revocation while events keep coming', () => {
  it('ends a revoked listEvents stream with AccessRevoked before any event committed after the revocation', async () => {
    const { listId, shareId } = await sharedList();
    const viewer = connectWs(t.server.url, await t.token(VIEWER));
    const editor = connectWs(t.server.url, await t.token(EDITOR));
    clients.push(viewer, editor);
    const revoked = viewer.subscribe(ListEvents, { listId });
    const witness = editor.subscribe(ListEvents, { listId });
    expect((await revoked.next()).listEvents.__typename).toBe('ListEventsSubscribed');
    expect((await witness.next()).listEvents.__typename).toBe('ListEventsSubscribed');
    const before = await createItem(listId, 'Before');
    expect((await revoked.next()).listEvents).toMatchObject({ __typename: 'ItemCreated', item: { title: 'Before' } });
    expect((await witness.next()).listEvents).toMatchObject({ __typename: 'ItemCreated', item: { title: 'Before' } });

    expect((await t.ok(RemoveShare, { input: { shareId } }, OWNER)).removeShare.__typename).toBe('RemoveSharePayload');
    // Changes committed right after the revocation, some of them at once, while the stream is
    // still re-deciding the viewer's access.
    await createItem(listId, 'Secret 1');
    await Promise.all([
      createItem(listId, 'Secret 2'),
      t.ok(
        UpdateItem,
        { input: { id: before.id, expectedVersion: before.version, patch: { title: 'Secret 3' } } },
        EDITOR,
      ),
    ]);

    const { events, error } = await drain(revoked);
    expect(error).toBeUndefined();
    expect(events.map((e) => e.listEvents.__typename)).toEqual(['AccessRevoked']);
    // The others still see everything.
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push((await witness.next()).listEvents);
    expect(seen[0]?.__typename).toBe('AccessChanged');
    expect(
      seen
        .slice(1)
        .map((e) => ('item' in e ? e.item?.title : e.__typename))
        .sort(),
    ).toEqual(['Secret 1', 'Secret 2', 'Secret 3']);
  });

  it('never lets a listEvents subscriber revoked while it subscribes see later events', async () => {
    for (let round = 0; round < 3; round++) {
      const { listId, shareId } = await sharedList();
      const viewer = connectWs(t.server.url, await t.token(VIEWER));
      clients.push(viewer);
      const sub = viewer.subscribe(ListEvents, { listId });
      // The revocation races the subscription's own access check and its going live.
      await t.ok(RemoveShare, { input: { shareId } }, OWNER);
      await createItem(listId, `Secret ${round}`);
      const { events, error } = await drain(sub);
      const kinds = events.map((e) => e.listEvents.__typename);
      if (error) {
        expect(JSON.stringify(error)).toMatch(/not found/i);
        expect(kinds).toEqual([]);
      } else {
        expect(kinds).toEqual(['ListEventsSubscribed', 'AccessRevoked']);
      }
    }
  });

  it('ends a revoked presence stream before it shows anyone who acts after the revocation', async () => {
    const { listId, shareId } = await sharedList();
    const viewer = connectWs(t.server.url, await t.token(VIEWER));
    const editor = connectWs(t.server.url, await t.token(EDITOR));
    clients.push(viewer, editor);
    const watch = viewer.subscribe(Presence, { listId });
    expect((await watch.next()).presence).toMatchObject({ kind: 'SNAPSHOT', roster: [{ user: { email: VIEWER } }] });

    await t.ok(RemoveShare, { input: { shareId } }, OWNER);
    const editing = editor.subscribe(Presence, { listId });
    expect((await editing.next()).presence.kind).toBe('SNAPSHOT');
    const item = await createItem(listId, 'Edited');
    await t.ok(SetPresence, { input: { listId, status: 'EDITING', itemId: item.id } }, EDITOR);

    const { events, error } = await drain(watch);
    expect(error).toBeUndefined();
    expect(events).toEqual([]);
    // The revoked viewer left the roster: the editor sees only themself once the viewer's stream ended.
    const later = connectWs(t.server.url, await t.token(OWNER));
    clients.push(later);
    const ownerWatch = later.subscribe(Presence, { listId });
    const snapshot = (await ownerWatch.next()).presence;
    expect(snapshot.roster.map((e) => e.user?.email).sort()).toEqual([EDITOR, OWNER]);
  });
});
