import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { startTestServer, startTwoInstances, type TestServer, type TwoInstances } from '../helpers/server.ts';
import { servicesAvailable } from '../helpers/services.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';

const CreateAccount = graphql(`
  mutation RtEx_CreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { account { id } } }
  }
`);
const AddMember = graphql(`
  mutation RtEx_AddMember($input: AddAccountMemberInput!) {
    addAccountMember(input: $input) { __typename ... on AddAccountMemberPayload { member { user { id } } } }
  }
`);
const CreateWorkspace = graphql(`
  mutation RtEx_CreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) { __typename ... on CreateWorkspacePayload { workspace { id } } }
  }
`);
const CreateList = graphql(`
  mutation RtEx_CreateList($input: CreateListInput!) {
    createList(input: $input) { __typename ... on CreateListPayload { list { id } } ... on Error { code message } }
  }
`);
const ShareList = graphql(`
  mutation RtEx_ShareList($input: ShareListInput!) {
    shareList(input: $input) { __typename ... on Error { code message } }
  }
`);
const CreateItem = graphql(`
  mutation RtEx_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on Error { code message } }
  }
`);
const Audit = graphql(`
  query RtEx_Audit($resourceId: ID!) { auditLog(resourceId: $resourceId, first: 100) { edges { node { action } } } }
`);
const ListEvents = graphql(`
  subscription RtEx_ListEvents($listId: ID!) {
    listEvents(listId: $listId) {
      __typename
      ... on ItemCreated { item { title } }
      ... on AccessRevoked { listId }
    }
  }
`);
const Presence = graphql(`
  subscription RtEx_Presence($listId: ID!) {
    presence(listId: $listId) { kind entry { user { email } } }
  }
`);

const ADMIN = 'admin@rtex.test';
const GUEST = 'contractor@rtex.test';
const clients: WsClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A share that expires while its holder watches the list (events and presence) on `b`, given on
 * `a`: the stream ends with AccessRevoked, presence leaves, and the audit trail records the
 * expiry once, however many instances sweep.
 */
async function expiresWhileWatched(a: TestServer, b: TestServer) {
  const account = (await a.ok(CreateAccount, { input: { name: 'Expiry' } }, ADMIN)).createAccount;
  const accountId = account.__typename === 'CreateAccountPayload' ? account.account.id : '';
  const added = (await a.ok(AddMember, { input: { accountId, email: GUEST, role: 'MEMBER' } }, ADMIN)).addAccountMember;
  const userId = added.__typename === 'AddAccountMemberPayload' ? added.member.user.id : '';
  const ws = (await a.ok(CreateWorkspace, { input: { accountId, name: 'Private', type: 'PRIVATE' } }, ADMIN))
    .createWorkspace;
  const workspaceId = ws.__typename === 'CreateWorkspacePayload' ? ws.workspace.id : '';
  const list = (await a.ok(CreateList, { input: { workspaceId, name: 'Board', kind: 'SHAREABLE' } }, ADMIN)).createList;
  if (list.__typename !== 'CreateListPayload') throw new Error(JSON.stringify(list));
  const listId = list.list.id;
  const at = Date.now() + 8_000;
  const shared = await a.ok(
    ShareList,
    { input: { listId, role: 'VIEWER', userId, expiresAt: new Date(at).toISOString() } },
    ADMIN,
  );
  expect(shared.shareList.__typename).toBe('ShareListPayload');

  const person = connectWs(b.server.url, await b.token(GUEST));
  const admin = connectWs(b.server.url, await b.token(ADMIN));
  clients.push(person, admin);
  const events = person.subscribe(ListEvents, { listId });
  expect((await events.next()).listEvents.__typename).toBe('ListEventsSubscribed');
  const roster = admin.subscribe(Presence, { listId });
  expect((await roster.next()).presence.kind).toBe('SNAPSHOT');
  const present = person.subscribe(Presence, { listId });
  expect((await present.next()).presence.kind).toBe('SNAPSHOT');
  expect((await roster.next()).presence).toMatchObject({ kind: 'JOINED', entry: { user: { email: GUEST } } });
  await a.ok(CreateItem, { input: { listId, title: 'Before' } }, ADMIN);
  expect((await events.next()).listEvents).toMatchObject({ __typename: 'ItemCreated', item: { title: 'Before' } });
  expect(Date.now()).toBeLessThan(at);

  expect(await events.next(at - Date.now() + 3_000)).toMatchObject({ listEvents: { __typename: 'AccessRevoked' } });
  expect(Date.now()).toBeGreaterThanOrEqual(at);
  expect(await events.closed).toEqual({});
  expect(await present.closed).toBeDefined();
  expect((await roster.next()).presence).toMatchObject({ kind: 'LEFT', entry: { user: { email: GUEST } } });
  await a.ok(CreateItem, { input: { listId, title: 'After' } }, ADMIN);
  await expect(events.next(500)).rejects.toThrow(/no event/);

  // Every instance has swept by now (each looks every second): still one record.
  await sleep(2_000);
  for (const t of [a, b]) {
    const trail = await t.ok(Audit, { resourceId: listId }, ADMIN);
    expect(trail.auditLog?.edges.filter((e) => e.node.action === 'share.expire')).toHaveLength(1);
  }
}

describe('an expiring share ends live access at its instant', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t?.close());

  it('one instance: AccessRevoked, presence leaves, audited once', () => expiresWhileWatched(t, t));
});

describe('an expiring share ends live access on every instance (PostgreSQL and Redis)', async () => {
  const available = await servicesAvailable();
  let both: TwoInstances | undefined;
  beforeAll(async () => {
    if (available) both = await startTwoInstances();
  });
  afterAll(async () => both?.close());

  it.skipIf(!available)('given on A, watched on B: AccessRevoked on B, presence leaves, audited once', async () => {
    if (!both) throw new Error('no instances');
    await expiresWhileWatched(both.a, both.b);
  });
});
