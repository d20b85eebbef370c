import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTwoInstances, type TestServer, type TwoInstances } from '../helpers/server.ts';
import { servicesAvailable } from '../helpers/services.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';

// A change to who is in a group or holds a right is an access change like a share's: the lists the
// group or right is shared on hear it at once, on every instance, and a stream whose viewer lost
// the list ends with AccessRevoked (nothing after it) and takes their presence with it.

const CreateGroup = graphql(`
  mutation RtG_CreateGroup($input: CreateGroupInput!) {
    createGroup(input: $input) { __typename ... on CreateGroupPayload { group { id } } ... on Error { code message } }
  }
`);
const AddGroupMember = graphql(`
  mutation RtG_AddGroupMember($input: AddGroupMemberInput!) {
    addGroupMember(input: $input) { __typename ... on Error { code message } }
  }
`);
const RemoveGroupMember = graphql(`
  mutation RtG_RemoveGroupMember($input: RemoveGroupMemberInput!) {
    removeGroupMember(input: $input) { __typename ... on Error { code message } }
  }
`);
const CreateRight = graphql(`
  mutation RtG_CreateRight($input: CreateRightInput!) {
    createRight(input: $input) { __typename ... on CreateRightPayload { right { id } } ... on Error { code message } }
  }
`);
const GrantRight = graphql(`
  mutation RtG_GrantRight($input: GrantRightInput!) {
    grantRight(input: $input) { __typename ... on Error { code message } }
  }
`);
const DeleteRight = graphql(`
  mutation RtG_DeleteRight($input: DeleteRightInput!) {
    deleteRight(input: $input) { __typename ... on Error { code message } }
  }
`);
const CreateItem = graphql(`
  mutation RtG_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on Error { code message } }
  }
`);
const ListEvents = graphql(`
  subscription RtG_ListEvents($listId: ID!) {
    listEvents(listId: $listId) {
      __typename
      ... on ItemCreated { item { title } }
      ... on AccessChanged { list { id } }
      ... on AccessRevoked { listId }
    }
  }
`);
const Presence = graphql(`
  subscription RtG_Presence($listId: ID!) {
    presence(listId: $listId) { kind entry { user { email } } roster { user { email } } }
  }
`);

const ADMIN = 'admin@rtg.test';
const PLAIN = 'plain@rtg.test';

const clients: WsClient[] = [];

describe('group and right changes end streams across two instances (Redis)', async () => {
  const available = await servicesAvailable();
  let both: TwoInstances;
  let a: TestServer;
  let b: TestServer;
  let accountId: string;
  let workspaceId: string;
  beforeAll(async () => {
    if (!available) return;
    both = await startTwoInstances();
    ({ a, b } = both);
    const h = listHelpers(a);
    accountId = await h.account(ADMIN, [PLAIN]);
    workspaceId = (await h.workspace(accountId, ADMIN, 'CLOSED')).id;
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await both?.close();
  });

  /** PLAIN on instance B, ADMIN on instance A, both on `listId`'s events and presence, all live. */
  async function watchers(listId: string) {
    const onA = connectWs(a.server.url, await a.token(ADMIN));
    const onB = connectWs(b.server.url, await b.token(PLAIN));
    clients.push(onA, onB);
    const adminEvents = onA.subscribe(ListEvents, { listId });
    const adminPresence = onA.subscribe(Presence, { listId });
    expect((await adminEvents.next()).listEvents.__typename).toBe('ListEventsSubscribed');
    expect((await adminPresence.next()).presence.kind).toBe('SNAPSHOT');
    const events = onB.subscribe(ListEvents, { listId });
    const presence = onB.subscribe(Presence, { listId });
    expect((await events.next()).listEvents.__typename).toBe('ListEventsSubscribed');
    expect((await presence.next()).presence.kind).toBe('SNAPSHOT');
    expect((await adminPresence.next()).presence).toMatchObject({ kind: 'JOINED', entry: { user: { email: PLAIN } } });
    return { adminEvents, adminPresence, events, presence };
  }

  /** After the revocation: nothing more reaches PLAIN, the others go on, and PLAIN left the roster. */
  async function expectRevoked(listId: string, w: Awaited<ReturnType<typeof watchers>>) {
    expect((await w.events.next()).listEvents).toEqual({ __typename: 'AccessRevoked', listId });
    expect(await w.events.closed).toEqual({});
    expect(await w.presence.closed).toEqual({});
    expect((await w.adminEvents.next()).listEvents.__typename).toBe('AccessChanged');
    const left = await w.adminPresence.next();
    expect(left.presence).toMatchObject({ kind: 'LEFT', entry: { user: { email: PLAIN } } });
    expect(left.presence.roster.map((e) => e.user?.email)).toEqual([ADMIN]);
    expect((await a.ok(CreateItem, { input: { listId, title: 'After' } }, ADMIN)).createItem.__typename).toBe(
      'CreateItemPayload',
    );
    expect((await w.adminEvents.next()).listEvents).toMatchObject({ __typename: 'ItemCreated' });
    await w.events.nothingFor(300);
  }

  it.skipIf(!available)(
    'removeGroupMember: AccessRevoked on the other instance, nothing after, presence leaves',
    async () => {
      const h = listHelpers(a);
      const listId = await h.list(workspaceId, ADMIN, 'SHAREABLE', 'Grouped');
      const g = (await a.ok(CreateGroup, { input: { accountId, name: 'Sales' } }, ADMIN)).createGroup;
      if (g.__typename !== 'CreateGroupPayload') throw new Error(JSON.stringify(g));
      const userId = await h.userId(PLAIN);
      await h.share(ADMIN, { listId, role: 'EDITOR', groupId: g.group.id });
      // Joining the group is an access change too: the list's streams are told.
      const early = connectWs(a.server.url, await a.token(ADMIN));
      clients.push(early);
      const told = early.subscribe(ListEvents, { listId });
      expect((await told.next()).listEvents.__typename).toBe('ListEventsSubscribed');
      await a.ok(AddGroupMember, { input: { groupId: g.group.id, userId } }, ADMIN);
      expect((await told.next()).listEvents).toEqual({ __typename: 'AccessChanged', list: { id: listId } });
      told.dispose();

      const w = await watchers(listId);
      const res = await a.ok(RemoveGroupMember, { input: { groupId: g.group.id, userId } }, ADMIN);
      expect(res.removeGroupMember.__typename).toBe('RemoveGroupMemberPayload');
      await expectRevoked(listId, w);
    },
  );

  it.skipIf(!available)('deleteRight: its holders’ streams end the same way', async () => {
    const h = listHelpers(a);
    const listId = await h.list(workspaceId, ADMIN, 'SHAREABLE', 'By right');
    const r = (await a.ok(CreateRight, { input: { accountId, name: 'Finance' } }, ADMIN)).createRight;
    if (r.__typename !== 'CreateRightPayload') throw new Error(JSON.stringify(r));
    await a.ok(GrantRight, { input: { rightId: r.right.id, userId: await h.userId(PLAIN) } }, ADMIN);
    await h.share(ADMIN, { listId, role: 'VIEWER', rightId: r.right.id });
    const w = await watchers(listId);
    expect((await a.ok(DeleteRight, { input: { rightId: r.right.id } }, ADMIN)).deleteRight.__typename).toBe(
      'DeleteRightPayload',
    );
    await expectRevoked(listId, w);
  });
});
