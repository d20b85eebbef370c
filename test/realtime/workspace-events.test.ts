import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { startTestServer, startTwoInstances, type TestServer, type TwoInstances } from '../helpers/server.ts';
import { servicesAvailable } from '../helpers/services.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';

const CreateAccount = graphql(`
  mutation WsCreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { account { id } } }
  }
`);
const AddMember = graphql(`
  mutation WsAddMember($input: AddAccountMemberInput!) {
    addAccountMember(input: $input) { __typename }
  }
`);
const CreateWorkspace = graphql(`
  mutation WsCreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) { ... on CreateWorkspacePayload { workspace { id } } }
  }
`);
const WorkspaceEvents = graphql(`
  subscription WorkspaceEvents($accountId: ID!) {
    workspaceEvents(accountId: $accountId) { kind workspaceId workspace { name type } }
  }
`);

const ADMIN = 'admin@rt.test';
const MEMBER = 'member@rt.test';

async function setupAccount(t: TestServer) {
  const res = await t.ok(CreateAccount, { input: { name: 'Realtime' } }, ADMIN);
  const accountId = res.createAccount.__typename === 'CreateAccountPayload' ? res.createAccount.account.id : '';
  await t.ok(AddMember, { input: { accountId, email: MEMBER, role: 'MEMBER' } }, ADMIN);
  return accountId;
}

const clients: WsClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
});

describe('workspaceEvents on one instance', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t?.close());

  it('delivers created workspaces to subscribers who may see them, and only them', async () => {
    const accountId = await setupAccount(t);
    const admin = connectWs(t.server.url, await t.token(ADMIN));
    const member = connectWs(t.server.url, await t.token(MEMBER));
    clients.push(admin, member);
    const adminEvents = admin.subscribe(WorkspaceEvents, { accountId });
    const memberEvents = member.subscribe(WorkspaceEvents, { accountId });
    expect(await adminEvents.next()).toMatchObject({ workspaceEvents: { kind: 'SUBSCRIBED' } });
    expect(await memberEvents.next()).toMatchObject({ workspaceEvents: { kind: 'SUBSCRIBED' } });

    await t.ok(CreateWorkspace, { input: { accountId, name: 'Private', type: 'PRIVATE' } }, ADMIN);
    await t.ok(CreateWorkspace, { input: { accountId, name: 'Open' } }, ADMIN);

    expect(await adminEvents.next()).toMatchObject({
      workspaceEvents: { kind: 'CREATED', workspace: { name: 'Private' } },
    });
    expect(await adminEvents.next()).toMatchObject({
      workspaceEvents: { kind: 'CREATED', workspace: { name: 'Open' } },
    });
    // The member never hears of the private workspace: the first event they get is the open one.
    expect(await memberEvents.next()).toMatchObject({
      workspaceEvents: { kind: 'CREATED', workspace: { name: 'Open' } },
    });
    await memberEvents.nothingFor(200);
    // A closed workspace is listed to the account with a lock: the member hears of it.
    await t.ok(CreateWorkspace, { input: { accountId, name: 'Closed', type: 'CLOSED' } }, ADMIN);
    expect(await memberEvents.next()).toMatchObject({
      workspaceEvents: { kind: 'CREATED', workspace: { name: 'Closed' } },
    });
  });

  it('refuses the subscription of an outsider', async () => {
    const accountId = await setupAccount(t);
    const outsider = connectWs(t.server.url, await t.token('outsider@else.test'));
    clients.push(outsider);
    const sub = outsider.subscribe(WorkspaceEvents, { accountId });
    const end = await sub.closed;
    expect(JSON.stringify(end.error)).toMatch(/not allowed/i);
  });

  it('closes a socket with a bad token with 4403', async () => {
    const bad = connectWs(t.server.url, 'garbage');
    clients.push(bad);
    expect(await bad.closeCode).toBe(4403);
  });
});

describe('workspaceEvents across two instances through Redis', async () => {
  const available = await servicesAvailable();
  let a: TestServer;
  let b: TestServer;
  let both: TwoInstances | undefined;
  beforeAll(async () => {
    if (!available) return;
    both = await startTwoInstances();
    ({ a, b } = both);
  });
  afterAll(async () => both?.close());

  it.skipIf(!available)('a mutation on instance A reaches a subscriber on instance B', async () => {
    expect(a.server.services.realtime.kind).toBe('redis');
    const accountId = await setupAccount(a);
    const onB = connectWs(b.server.url, await b.token(MEMBER));
    clients.push(onB);
    const events = onB.subscribe(WorkspaceEvents, { accountId });
    expect(await events.next()).toMatchObject({ workspaceEvents: { kind: 'SUBSCRIBED' } });
    await a.ok(CreateWorkspace, { input: { accountId, name: 'From A' } }, MEMBER);
    expect(await events.next()).toMatchObject({ workspaceEvents: { kind: 'CREATED', workspace: { name: 'From A' } } });
  });
});
