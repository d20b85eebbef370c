import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { startTwoInstances, type TestServer, type TwoInstances } from '../helpers/server.ts';
import { servicesAvailable } from '../helpers/services.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';

const CreateAccount = graphql(`
  mutation RtAb_CreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { account { id } } }
  }
`);
const AddMember = graphql(`
  mutation RtAb_AddMember($input: AddAccountMemberInput!) {
    addAccountMember(input: $input) { __typename ... on AddAccountMemberPayload { member { user { id } } } }
  }
`);
const CreateWorkspace = graphql(`
  mutation RtAb_CreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) { __typename ... on CreateWorkspacePayload { workspace { id } } }
  }
`);
const CreateList = graphql(`
  mutation RtAb_CreateList($input: CreateListInput!) {
    createList(input: $input) { __typename ... on CreateListPayload { list { id } } ... on Error { code message } }
  }
`);
const CreateItem = graphql(`
  mutation RtAb_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on Error { code message } }
  }
`);
const Remove = graphql(`
  mutation RtAb_Remove($input: RemoveAccountMemberInput!) {
    removeAccountMember(input: $input) { __typename ... on Error { code message } }
  }
`);
const SetRole = graphql(`
  mutation RtAb_SetRole($input: SetAccountMemberRoleInput!) {
    setAccountMemberRole(input: $input) { __typename ... on Error { code message } }
  }
`);
const ListEvents = graphql(`
  subscription RtAb_ListEvents($listId: ID!) {
    listEvents(listId: $listId) {
      __typename
      ... on ItemCreated { item { title } }
      ... on AccessRevoked { listId }
    }
  }
`);
const Presence = graphql(`
  subscription RtAb_Presence($listId: ID!) {
    presence(listId: $listId) { kind entry { user { email } } roster { user { email } } }
  }
`);

const ADMIN = 'admin@rtab.test';
const clients: WsClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
});

describe('leaving the account ends live access on every instance', async () => {
  const available = await servicesAvailable();
  let a: TestServer;
  let b: TestServer;
  let both: TwoInstances | undefined;
  let accountId = '';
  let listId = '';
  const users: Record<string, string> = {};

  beforeAll(async () => {
    if (!available) return;
    both = await startTwoInstances();
    ({ a, b } = both);
    const account = (await a.ok(CreateAccount, { input: { name: 'Live boundary' } }, ADMIN)).createAccount;
    accountId = account.__typename === 'CreateAccountPayload' ? account.account.id : '';
    for (const email of ['removed@rtab.test', 'demoted@rtab.test']) {
      const m = (await a.ok(AddMember, { input: { accountId, email, role: 'MEMBER' } }, ADMIN)).addAccountMember;
      users[email] = m.__typename === 'AddAccountMemberPayload' ? m.member.user.id : '';
    }
    const ws = (await a.ok(CreateWorkspace, { input: { accountId, name: 'Open', type: 'OPEN' } }, ADMIN))
      .createWorkspace;
    const workspaceId = ws.__typename === 'CreateWorkspacePayload' ? ws.workspace.id : '';
    // A MAIN list: the whole account reaches it through the open workspace, with no share at all.
    const list = (await a.ok(CreateList, { input: { workspaceId, name: 'Board', kind: 'MAIN' } }, ADMIN)).createList;
    if (list.__typename !== 'CreateListPayload') throw new Error(JSON.stringify(list));
    listId = list.list.id;
  });
  afterAll(async () => both?.close());

  /** Watches the list on B as `email` (events and presence) and as the admin (presence), all live. */
  async function watchOnB(email: string) {
    const person = connectWs(b.server.url, await b.token(email));
    const admin = connectWs(b.server.url, await b.token(ADMIN));
    clients.push(person, admin);
    const events = person.subscribe(ListEvents, { listId });
    expect((await events.next()).listEvents.__typename).toBe('ListEventsSubscribed');
    const roster = admin.subscribe(Presence, { listId });
    expect((await roster.next()).presence.kind).toBe('SNAPSHOT');
    const present = person.subscribe(Presence, { listId });
    expect((await present.next()).presence.kind).toBe('SNAPSHOT');
    expect((await roster.next()).presence).toMatchObject({ kind: 'JOINED', entry: { user: { email } } });
    return { events, roster, present };
  }

  it.skipIf(!available)(
    'removal from the account on A: AccessRevoked on B, nothing after, presence leaves',
    async () => {
      const email = 'removed@rtab.test';
      const { events, roster, present } = await watchOnB(email);
      const removed = await a.ok(Remove, { input: { accountId, userId: users[email] ?? '' } }, ADMIN);
      expect(removed.removeAccountMember.__typename).toBe('RemoveAccountMemberPayload');
      expect(await events.next()).toMatchObject({ listEvents: { __typename: 'AccessRevoked' } });
      expect(await events.closed).toEqual({});
      expect(await present.closed).toBeDefined();
      const left = await roster.next();
      expect(left.presence).toMatchObject({ kind: 'LEFT', entry: { user: { email } } });
      // What happens on the list afterwards reaches the admin's stream, never the removed person's.
      await a.ok(CreateItem, { input: { listId, title: 'After removal' } }, ADMIN);
      await expect(events.next(500)).rejects.toThrow(/no event/);
    },
  );

  it.skipIf(!available)('a demotion to GUEST on A ends the stream on B like any revocation', async () => {
    const email = 'demoted@rtab.test';
    const { events, roster } = await watchOnB(email);
    const demoted = await a.ok(SetRole, { input: { accountId, userId: users[email] ?? '', role: 'GUEST' } }, ADMIN);
    expect(demoted.setAccountMemberRole.__typename).toBe('SetAccountMemberRolePayload');
    expect(await events.next()).toMatchObject({ listEvents: { __typename: 'AccessRevoked' } });
    expect(await events.closed).toEqual({});
    expect((await roster.next()).presence).toMatchObject({ kind: 'LEFT', entry: { user: { email } } });
    await a.ok(CreateItem, { input: { listId, title: 'After demotion' } }, ADMIN);
    await expect(events.next(500)).rejects.toThrow(/no event/);
  });
});
