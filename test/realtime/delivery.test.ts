import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';

// How events reach subscribers cheaply without reaching the wrong ones: each event is executed
// once per instance for every subscriber who may see the same result (src/realtime/shared-execution.ts),
// a read grant serves a viewer's next subscribes for a moment (src/modules/list/stream-access.ts).

const RenameList = graphql(`
  mutation Delivery_RenameList($input: UpdateListInput!) {
    updateList(input: $input) { __typename ... on Error { code message } }
  }
`);
const CreateItem = graphql(`
  mutation Delivery_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id } } ... on Error { code message } }
  }
`);
const RemoveShare = graphql(`
  mutation Delivery_RemoveShare($input: RemoveShareInput!) {
    removeShare(input: $input) { __typename ... on Error { code message } }
  }
`);
const SetPresence = graphql(`
  mutation Delivery_SetPresence($input: SetPresenceInput!) {
    setPresence(input: $input) { __typename ... on SetPresencePayload { sessions } ... on Error { code message } }
  }
`);
const ListView = graphql(`
  subscription Delivery_ListView($listId: ID!, $linkToken: String) {
    listEvents(listId: $listId, linkToken: $linkToken) {
      __typename
      ... on ItemCreated { item { title } }
      ... on ListRenamed { list { name viewerRole linkToken } }
    }
  }
`);
const Watch = graphql(`
  subscription Delivery_Watch($listId: ID!) {
    presence(listId: $listId) { kind entry { user { email accounts { role } } } }
  }
`);
const Presence = graphql(`
  subscription Delivery_Presence($listId: ID!) {
    presence(listId: $listId) { kind entry { user { email } status itemId } }
  }
`);

const OWNER = 'owner@delivery.test';
const VIEWER = 'viewer@delivery.test';
const EDITOR = 'editor@delivery.test';

const clients: WsClient[] = [];
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await t?.close();
});

/** A list of OWNER shared with VIEWER (VIEWER) and EDITOR (EDITOR), open to anyone with its link. */
async function sharedList() {
  const lists = listHelpers(t);
  const accountId = await lists.account(OWNER, [VIEWER, EDITOR]);
  const workspace = await lists.workspace(accountId, OWNER, 'CLOSED');
  const listId = await lists.list(workspace.id, OWNER, 'SHAREABLE');
  const viewerShare = await lists.share(OWNER, { listId, role: 'VIEWER', userId: await lists.userId(VIEWER) });
  await lists.share(OWNER, { listId, role: 'EDITOR', userId: await lists.userId(EDITOR) });
  const { linkToken } = await lists.generalAccess(OWNER, listId, 'ANYONE_WITH_LINK');
  return { listId, linkToken: linkToken ?? '', viewerShare };
}

async function connect(as: string | null) {
  const client = connectWs(t.server.url, as ? await t.token(as) : null);
  clients.push(client);
  return client;
}

describe('one execution per event for subscribers who see the same result', () => {
  it('never shows one viewer the role or link token of another, on the same document and variables', async () => {
    const { listId, linkToken } = await sharedList();
    const as = [OWNER, OWNER, VIEWER, EDITOR, null] as const;
    const subs = await Promise.all(
      as.map(async (who) => (await connect(who)).subscribe(ListView, { listId, linkToken })),
    );
    for (const sub of subs) expect((await sub.next()).listEvents.__typename).toBe('ListEventsSubscribed');

    await t.ok(CreateItem, { input: { listId, title: 'Same for all' } }, EDITOR);
    for (const sub of subs)
      expect((await sub.next()).listEvents).toEqual({ __typename: 'ItemCreated', item: { title: 'Same for all' } });

    await t.ok(RenameList, { input: { listId, name: 'Renamed' } }, OWNER);
    const seen = await Promise.all(subs.map(async (sub) => (await sub.next()).listEvents));
    const list = (role: string | null, token: string | null) => ({
      __typename: 'ListRenamed',
      list: { name: 'Renamed', viewerRole: role, linkToken: token },
    });
    expect(seen).toEqual([
      list('CREATOR', linkToken),
      list('CREATOR', linkToken),
      list('VIEWER', null),
      list('EDITOR', null),
      list(null, null),
    ]);
  });

  it('keeps a relation filtered by the viewer (User.accounts) to that viewer in presence', async () => {
    const { listId } = await sharedList();
    const owner = (await connect(OWNER)).subscribe(Watch, { listId });
    expect((await owner.next()).presence.kind).toBe('SNAPSHOT');
    const tab1 = (await connect(VIEWER)).subscribe(Watch, { listId });
    expect((await tab1.next()).presence.kind).toBe('SNAPSHOT');
    expect((await owner.next()).presence).toEqual({
      kind: 'JOINED',
      entry: { user: { email: VIEWER, accounts: [] } },
    });
    // VIEWER's second tab: one event that OWNER and VIEWER's first tab both hear, about VIEWER,
    // whose accounts only VIEWER may see.
    const tab2 = (await connect(VIEWER)).subscribe(Watch, { listId });
    expect((await tab2.next()).presence.kind).toBe('SNAPSHOT');
    const [toOwner, toViewer] = await Promise.all([owner.next(), tab1.next()]);
    expect(toOwner.presence).toEqual({ kind: 'UPDATED', entry: { user: { email: VIEWER, accounts: [] } } });
    expect(toViewer.presence).toMatchObject({ kind: 'UPDATED', entry: { user: { email: VIEWER } } });
    expect(toViewer.presence.entry?.user?.accounts.map((a) => a.role)).toContain('MEMBER');
  });
});

describe('subscribing again', () => {
  it('is refused right after the access that allowed an earlier subscribe was revoked', async () => {
    const { listId, viewerShare } = await sharedList();
    const viewer = await connect(VIEWER);
    // The owner's stream keeps the list's grants on this instance throughout.
    const kept = (await connect(OWNER)).subscribe(ListView, { listId });
    expect((await kept.next()).listEvents.__typename).toBe('ListEventsSubscribed');
    for (let i = 0; i < 3; i++) {
      const sub = viewer.subscribe(ListView, { listId });
      expect((await sub.next()).listEvents.__typename).toBe('ListEventsSubscribed');
      sub.dispose();
    }
    const removed = await t.ok(RemoveShare, { input: { shareId: viewerShare } }, OWNER);
    expect(removed.removeShare.__typename).toBe('RemoveSharePayload');
    expect((await kept.next()).listEvents.__typename).toBe('AccessChanged');
    const refused = viewer.subscribe(ListView, { listId });
    expect(JSON.stringify((await refused.closed).error)).toMatch(/not found/i);
  });
});

describe('setPresence', () => {
  // The viewer's read grant on the list (held while a stream on it is open here) spares the
  // decision of an editor's next changes; a revocation forgets it at once.
  it('is refused right after the viewer lost access, though a read grant served their changes before', async () => {
    const { listId, viewerShare } = await sharedList();
    const kept = (await connect(OWNER)).subscribe(ListView, { listId });
    expect((await kept.next()).listEvents.__typename).toBe('ListEventsSubscribed');
    const mine = (await connect(VIEWER)).subscribe(Presence, { listId });
    expect((await mine.next()).presence.kind).toBe('SNAPSHOT');
    const input = { listId, status: 'VIEWING' as const };
    for (let i = 0; i < 2; i++) {
      expect((await t.ok(SetPresence, { input }, VIEWER)).setPresence).toEqual({
        __typename: 'SetPresencePayload',
        sessions: 1,
      });
    }
    const removed = await t.ok(RemoveShare, { input: { shareId: viewerShare } }, OWNER);
    expect(removed.removeShare.__typename).toBe('RemoveSharePayload');
    expect((await kept.next()).listEvents.__typename).toBe('AccessChanged');
    expect((await t.ok(SetPresence, { input }, VIEWER)).setPresence).toMatchObject({ code: 'NOT_FOUND' });
  });

  // A state set again after another (EDITING, VIEWING, EDITING the same item) is a new change:
  // its mutation runs and every watcher hears it, however alike the requests are.
  it('announces a state set again with the same input as an earlier one', async () => {
    const { listId } = await sharedList();
    const created = (await t.ok(CreateItem, { input: { listId, title: 'Doc' } }, OWNER)).createItem;
    const itemId = created.__typename === 'CreateItemPayload' ? created.item.id : '';
    const watch = (await connect(OWNER)).subscribe(Presence, { listId });
    expect((await watch.next()).presence.kind).toBe('SNAPSHOT');
    const mine = (await connect(EDITOR)).subscribe(Presence, { listId });
    expect((await mine.next()).presence.kind).toBe('SNAPSHOT');
    expect((await watch.next()).presence.kind).toBe('JOINED');

    const editing = { listId, status: 'EDITING' as const, itemId };
    const viewing = { listId, status: 'VIEWING' as const };
    for (const input of [editing, viewing, editing, viewing]) {
      expect((await t.ok(SetPresence, { input }, EDITOR)).setPresence).toEqual({
        __typename: 'SetPresencePayload',
        sessions: 1,
      });
      expect((await watch.next()).presence).toMatchObject({
        kind: 'UPDATED',
        entry: { user: { email: EDITOR }, status: input.status },
      });
      // Past the throttle of one user's changes (100 ms).
      await new Promise((r) => setTimeout(r, 150));
    }
  });
});
