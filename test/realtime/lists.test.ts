import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { startTestServer, startTwoInstances, type TestServer, type TwoInstances } from '../helpers/server.ts';
import { servicesAvailable } from '../helpers/services.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';

const CreateAccount = graphql(`
  mutation RtL_CreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { account { id } } }
  }
`);
const AddMember = graphql(`
  mutation RtL_AddMember($input: AddAccountMemberInput!) {
    addAccountMember(input: $input) { __typename ... on AddAccountMemberPayload { member { user { id } } } }
  }
`);
const CreateWorkspace = graphql(`
  mutation RtL_CreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) { __typename ... on CreateWorkspacePayload { workspace { id } } }
  }
`);
const CreateList = graphql(`
  mutation RtL_CreateList($input: CreateListInput!) {
    createList(input: $input) { __typename ... on CreateListPayload { list { id } } ... on Error { code message } }
  }
`);
const ShareList = graphql(`
  mutation RtL_ShareList($input: ShareListInput!) {
    shareList(input: $input) { __typename ... on ShareListPayload { share { id } } ... on Error { code message } }
  }
`);
const UpdateShare = graphql(`
  mutation RtL_UpdateShare($input: UpdateShareInput!) {
    updateShare(input: $input) { __typename ... on Error { code message } }
  }
`);
const RemoveShare = graphql(`
  mutation RtL_RemoveShare($input: RemoveShareInput!) {
    removeShare(input: $input) { __typename ... on Error { code message } }
  }
`);
const CreateItem = graphql(`
  mutation RtL_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id version } } ... on Error { code message } }
  }
`);
const UpdateItem = graphql(`
  mutation RtL_UpdateItem($input: UpdateItemInput!) {
    updateItem(input: $input) { __typename ... on Error { code message } }
  }
`);
const SetPresence = graphql(`
  mutation RtL_SetPresence($input: SetPresenceInput!) {
    setPresence(input: $input) { __typename ... on SetPresencePayload { sessions } ... on Error { code message } }
  }
`);
const ListEvents = graphql(`
  subscription RtL_ListEvents($listId: ID!) {
    listEvents(listId: $listId) {
      __typename
      ... on ItemCreated { item { title } }
      ... on ItemUpdated { changedFields version item { title fields } }
      ... on AccessRevoked { listId }
    }
  }
`);
const Presence = graphql(`
  subscription RtL_Presence($listId: ID!, $invisible: Boolean) {
    presence(listId: $listId, invisible: $invisible) {
      kind
      entry { user { email } status itemId field sessions }
      roster { user { email } anonymous status itemId sessions }
    }
  }
`);

const SetGeneralAccess = graphql(`
  mutation RtL_SetGeneralAccess($input: SetListGeneralAccessInput!) {
    setListGeneralAccess(input: $input) {
      __typename
      ... on SetListGeneralAccessPayload { list { linkToken } }
      ... on Error { code message }
    }
  }
`);
const RemoveMember = graphql(`
  mutation RtL_RemoveMember($input: RemoveWorkspaceMemberInput!) { removeWorkspaceMember(input: $input) { __typename } }
`);
const CreateOpenList = graphql(`
  mutation RtL_CreateOpenList($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) { __typename ... on CreateWorkspacePayload { workspace { id } } }
  }
`);
const LinkPresence = graphql(`
  subscription RtL_LinkPresence($listId: ID!, $linkToken: String) {
    presence(listId: $listId, linkToken: $linkToken) { kind entry { anonymous } roster { anonymous user { email } } }
  }
`);

const LeanPresence = graphql(`
  subscription RtL_LeanPresence($listId: ID!, $invisible: Boolean) {
    presence(listId: $listId, invisible: $invisible) {
      kind
      snapshot { user { email } }
      entry { user { email } status }
    }
  }
`);

const OWNER = 'owner@rtl.test';
const VIEWER = 'viewer@rtl.test';
const OTHER = 'other@rtl.test';

const clients: WsClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
});

/** A closed workspace of OWNER with a RESTRICTED shareable list shared with VIEWER. */
async function setup(t: TestServer) {
  const a = (await t.ok(CreateAccount, { input: { name: 'Live' } }, OWNER)).createAccount;
  const accountId = a.__typename === 'CreateAccountPayload' ? a.account.id : '';
  const ids: Record<string, string> = {};
  for (const email of [VIEWER, OTHER]) {
    const m = (await t.ok(AddMember, { input: { accountId, email, role: 'MEMBER' } }, OWNER)).addAccountMember;
    ids[email] = m.__typename === 'AddAccountMemberPayload' ? m.member.user.id : '';
  }
  const w = (await t.ok(CreateWorkspace, { input: { accountId, name: 'Live', type: 'CLOSED' } }, OWNER))
    .createWorkspace;
  const workspaceId = w.__typename === 'CreateWorkspacePayload' ? w.workspace.id : '';
  const l = (await t.ok(CreateList, { input: { workspaceId, name: 'Deals', kind: 'SHAREABLE' } }, OWNER)).createList;
  if (l.__typename !== 'CreateListPayload') throw new Error(JSON.stringify(l));
  const listId = l.list.id;
  const s = (await t.ok(ShareList, { input: { listId, role: 'EDITOR', userId: ids[VIEWER] } }, OWNER)).shareList;
  if (s.__typename !== 'ShareListPayload') throw new Error(JSON.stringify(s));
  return { listId, shareId: s.share.id, viewerId: ids[VIEWER] ?? '' };
}

async function createItem(t: TestServer, listId: string, title: string, as = OWNER) {
  const r = (await t.ok(CreateItem, { input: { listId, title, fields: { stage: 'lead' } } }, as)).createItem;
  if (r.__typename !== 'CreateItemPayload') throw new Error(JSON.stringify(r));
  return r.item;
}

describe('listEvents and presence on one instance', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { PRESENCE_TTL_MS: '600' } });
  });
  afterAll(async () => t?.close());

  it('delivers item changes, refuses outsiders, keeps a downgraded viewer and ends a revoked one', async () => {
    const { listId, shareId } = await setup(t);
    const viewer = connectWs(t.server.url, await t.token(VIEWER));
    const other = connectWs(t.server.url, await t.token(OTHER));
    clients.push(viewer, other);
    const events = viewer.subscribe(ListEvents, { listId });
    expect((await events.next()).listEvents.__typename).toBe('ListEventsSubscribed');
    const refused = other.subscribe(ListEvents, { listId });
    expect(JSON.stringify((await refused.closed).error)).toMatch(/not found/i);

    const item = await createItem(t, listId, 'Acme');
    expect(await events.next()).toMatchObject({ listEvents: { __typename: 'ItemCreated', item: { title: 'Acme' } } });
    await t.ok(
      UpdateItem,
      { input: { id: item.id, expectedVersion: item.version, patch: { fields: { stage: 'won' } } } },
      OWNER,
    );
    expect(await events.next()).toMatchObject({
      listEvents: { __typename: 'ItemUpdated', changedFields: ['stage'], item: { fields: { stage: 'won' } } },
    });

    await t.ok(UpdateShare, { input: { shareId, role: 'VIEWER' } }, OWNER);
    // A downgrade keeps the stream: the next item change still arrives.
    await createItem(t, listId, 'Globex');
    const next = await events.next();
    expect(['AccessChanged', 'ItemCreated']).toContain(next.listEvents.__typename);
    if (next.listEvents.__typename === 'AccessChanged') {
      expect((await events.next()).listEvents).toMatchObject({ __typename: 'ItemCreated', item: { title: 'Globex' } });
    }

    await t.ok(RemoveShare, { input: { shareId } }, OWNER);
    await createItem(t, listId, 'After revocation');
    expect((await events.next()).listEvents.__typename).toBe('AccessRevoked');
    await events.closed;
    await events.nothingFor(100);
  });

  it('shows one roster entry per user across tabs, editing highlights, invisible watchers, leaves and TTL expiry', async () => {
    const { listId } = await setup(t);
    const owner = connectWs(t.server.url, await t.token(OWNER));
    const tab1 = connectWs(t.server.url, await t.token(VIEWER));
    const tab2 = connectWs(t.server.url, await t.token(VIEWER));
    const ghost = connectWs(t.server.url, await t.token(OTHER));
    clients.push(owner, tab1, tab2, ghost);

    const watch = owner.subscribe(Presence, { listId });
    const first = await watch.next();
    expect(first.presence).toMatchObject({
      kind: 'SNAPSHOT',
      entry: null,
      roster: [{ user: { email: OWNER }, sessions: 1 }],
    });

    const v1 = tab1.subscribe(Presence, { listId });
    expect((await v1.next()).presence.kind).toBe('SNAPSHOT');
    expect((await watch.next()).presence).toMatchObject({
      kind: 'JOINED',
      entry: { user: { email: VIEWER }, sessions: 1 },
    });
    const v2 = tab2.subscribe(Presence, { listId });
    await v2.next();
    const second = await watch.next();
    expect(second.presence).toMatchObject({ kind: 'UPDATED', entry: { user: { email: VIEWER }, sessions: 2 } });
    expect(second.presence.roster).toHaveLength(2);

    // OTHER cannot read the list, so cannot watch it; nobody sees an invisible watcher either.
    const refused = ghost.subscribe(Presence, { listId, invisible: true });
    expect(JSON.stringify((await refused.closed).error)).toMatch(/not found/i);
    const hidden = owner.subscribe(Presence, { listId, invisible: true });
    expect((await hidden.next()).presence.roster).toHaveLength(2);
    await watch.nothingFor(150);

    const item = await createItem(t, listId, 'Edited');
    const set = await t.ok(
      SetPresence,
      { input: { listId, status: 'EDITING', itemId: item.id, field: 'title' } },
      VIEWER,
    );
    expect(set.setPresence).toMatchObject({ sessions: 2 });
    const editing = await watch.next();
    expect(editing.presence).toMatchObject({
      kind: 'UPDATED',
      entry: { status: 'EDITING', itemId: item.id, field: 'title' },
    });

    v2.dispose();
    expect((await watch.next()).presence).toMatchObject({ kind: 'UPDATED', entry: { sessions: 1 } });
    v1.dispose();
    const left = await watch.next();
    expect(left.presence).toMatchObject({ kind: 'LEFT', entry: { user: { email: VIEWER } } });
    expect(left.presence.roster.map((e) => e.user?.email)).toEqual([OWNER]);

    // A crashed instance's session is never removed; it vanishes within the TTL (600 ms here).
    await t.server.services.realtime.presence.put(
      decodeListId(listId),
      {
        sessionId: 'crashed',
        userId: await userIdOf(t, OTHER),
        status: 'VIEWING',
        itemId: null,
        field: null,
        invisible: false,
        since: new Date().toISOString(),
      },
      300,
    );
    const gone = await watch.next(3_000);
    expect(gone.presence.kind).toBe('LEFT');
  });
});

describe('presence for busy lists and invisible watchers', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t?.close());

  it('gives the roster once in snapshot; the edits and leave of an invisible watcher stay hidden', async () => {
    const { listId } = await setup(t);
    const owner = connectWs(t.server.url, await t.token(OWNER));
    const viewer = connectWs(t.server.url, await t.token(VIEWER));
    clients.push(owner, viewer);
    const watch = owner.subscribe(LeanPresence, { listId });
    expect((await watch.next()).presence).toEqual({
      kind: 'SNAPSHOT',
      snapshot: [{ user: { email: OWNER } }],
      entry: null,
    });

    const hidden = viewer.subscribe(LeanPresence, { listId, invisible: true });
    expect((await hidden.next()).presence.snapshot).toEqual([{ user: { email: OWNER } }]);
    const item = await createItem(t, listId, 'Quiet');
    await t.ok(SetPresence, { input: { listId, status: 'EDITING', itemId: item.id } }, VIEWER);
    hidden.dispose();
    await watch.nothingFor(300);

    const shown = viewer.subscribe(LeanPresence, { listId });
    await shown.next();
    expect((await watch.next()).presence).toEqual({
      kind: 'JOINED',
      snapshot: null,
      entry: { user: { email: VIEWER }, status: 'VIEWING' },
    });
    shown.dispose();
    expect((await watch.next()).presence).toMatchObject({
      kind: 'LEFT',
      snapshot: null,
      entry: { user: { email: VIEWER } },
    });
  });
});

describe('revocation, expiry and link viewers', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t?.close());

  it('ends the stream of a member removed from the workspace that shared the list with them', async () => {
    await setup(t);
    const account = await t.server.services.db.account.findFirstOrThrow({ orderBy: { id: 'desc' } });
    const accountId = Buffer.from(`Account:${account.id}`).toString('base64');
    const w = (await t.ok(CreateOpenList, { input: { accountId, name: 'Team', type: 'CLOSED' } }, OWNER))
      .createWorkspace;
    const workspaceId = w.__typename === 'CreateWorkspacePayload' ? w.workspace.id : '';
    await t.server.services.db.workspaceMember.create({
      data: { workspaceId: decodeListId(workspaceId), userId: await userIdOf(t, OTHER), role: 'MEMBER' },
    });
    const l = (await t.ok(CreateList, { input: { workspaceId, name: 'Team list' } }, OWNER)).createList;
    const listId = l.__typename === 'CreateListPayload' ? l.list.id : '';
    const other = connectWs(t.server.url, await t.token(OTHER));
    clients.push(other);
    const events = other.subscribe(ListEvents, { listId });
    expect((await events.next()).listEvents.__typename).toBe('ListEventsSubscribed');
    const otherId = Buffer.from(`User:${await userIdOf(t, OTHER)}`).toString('base64');
    expect(
      (await t.ok(RemoveMember, { input: { workspaceId, userId: otherId } }, OWNER)).removeWorkspaceMember.__typename,
    ).toBe('RemoveWorkspaceMemberPayload');
    await createItem(t, listId, 'Secret');
    expect((await events.next()).listEvents.__typename).toBe('AccessRevoked');
    await events.closed;
    await events.nothingFor(100);
  });

  it('throttles a burst of state changes to a few events ending in the last state', async () => {
    const { listId } = await setup(t);
    const owner = connectWs(t.server.url, await t.token(OWNER));
    const viewer = connectWs(t.server.url, await t.token(VIEWER));
    clients.push(owner, viewer);
    const watch = owner.subscribe(Presence, { listId });
    await watch.next();
    const mine = viewer.subscribe(Presence, { listId });
    await mine.next();
    await watch.next();
    const items = [];
    for (let i = 0; i < 5; i++) items.push(await createItem(t, listId, `Item ${i}`));
    for (let i = 0; i < 20; i++) {
      const item = items[i % items.length];
      await t.ok(SetPresence, { input: { listId, status: 'EDITING', itemId: item?.id, field: `f${i}` } }, VIEWER);
    }
    const received = [];
    while (true) {
      try {
        received.push((await watch.next(400)).presence);
      } catch {
        break;
      }
    }
    expect(received.length).toBeGreaterThan(0);
    expect(received.length).toBeLessThan(20);
    expect(received.at(-1)).toMatchObject({ kind: 'UPDATED', entry: { status: 'EDITING', field: 'f19' } });
  });

  it('closes a socket with 4401 when its token expires while connected', async () => {
    const shortLived = await t.token('brief@rtl.test', Math.floor(Date.now() / 1000) + 2);
    const ws = connectWs(t.server.url, shortLived);
    clients.push(ws);
    expect(await ws.closeCode).toBe(4401);
  });

  it('shows anonymous link viewers as anonymous, and refuses them without the link', async () => {
    const { listId } = await setup(t);
    const set = await t.ok(SetGeneralAccess, { input: { listId, access: 'ANYONE_WITH_LINK' } }, OWNER);
    const linkToken =
      set.setListGeneralAccess.__typename === 'SetListGeneralAccessPayload'
        ? set.setListGeneralAccess.list.linkToken
        : null;
    expect(linkToken).toBeTruthy();
    const owner = connectWs(t.server.url, await t.token(OWNER));
    const anon = connectWs(t.server.url, null);
    const anonNoLink = connectWs(t.server.url, null);
    clients.push(owner, anon, anonNoLink);
    const watch = owner.subscribe(LinkPresence, { listId });
    await watch.next();
    const viewer = anon.subscribe(LinkPresence, { listId, linkToken });
    expect((await viewer.next()).presence.kind).toBe('SNAPSHOT');
    expect((await watch.next()).presence).toMatchObject({ kind: 'JOINED', entry: { anonymous: true } });
    const refused = anonNoLink.subscribe(LinkPresence, { listId });
    expect(JSON.stringify((await refused.closed).error)).toMatch(/not found/i);
  });
});

function decodeListId(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString().split(':').slice(1).join(':');
}

async function userIdOf(t: TestServer, email: string) {
  const user = await t.server.services.db.user.findUniqueOrThrow({ where: { email } });
  return user.id;
}

describe('across two instances through Redis', async () => {
  const available = await servicesAvailable();
  let a: TestServer;
  let b: TestServer;
  let both: TwoInstances | undefined;
  beforeAll(async () => {
    if (!available) return;
    both = await startTwoInstances({ PRESENCE_TTL_MS: '900' });
    ({ a, b } = both);
  });
  afterAll(async () => both?.close());

  it.skipIf(!available)('an edit on A reaches B; a viewer on A is in B’s roster and vanishes when A dies', async () => {
    const { listId } = await setup(a);
    const onB = connectWs(b.server.url, await b.token(OWNER));
    const onA = connectWs(a.server.url, await a.token(VIEWER));
    clients.push(onB, onA);
    const events = onB.subscribe(ListEvents, { listId });
    expect((await events.next()).listEvents.__typename).toBe('ListEventsSubscribed');
    await createItem(a, listId, 'From A');
    expect(await events.next()).toMatchObject({ listEvents: { __typename: 'ItemCreated', item: { title: 'From A' } } });

    const watch = onB.subscribe(Presence, { listId });
    await watch.next();
    const viewing = onA.subscribe(Presence, { listId });
    await viewing.next();
    expect((await watch.next()).presence).toMatchObject({ kind: 'JOINED', entry: { user: { email: VIEWER } } });

    // Kill A without a clean leave: stop its heartbeats and drop its sockets' state.
    a.server.services.realtime.presence.remove = async () => false;
    await onA.dispose();
    const left = await watch.next(5_000);
    expect(left.presence).toMatchObject({ kind: 'LEFT', entry: { user: { email: VIEWER } } });
  });
});
