import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CreateAccount = graphql(`
  mutation ConnT_CreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { account { id } } }
  }
`);
const AddMember = graphql(`
  mutation ConnT_AddMember($input: AddAccountMemberInput!) {
    addAccountMember(input: $input) { __typename ... on AddAccountMemberPayload { member { user { id } } } }
  }
`);
const CreateWorkspace = graphql(`
  mutation ConnT_CreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) { __typename ... on CreateWorkspacePayload { workspace { id } } }
  }
`);
const CreateList = graphql(`
  mutation ConnT_CreateList($input: CreateListInput!) {
    createList(input: $input) { __typename ... on CreateListPayload { list { id } } }
  }
`);
const Share = graphql(`
  mutation ConnT_Share($input: ShareListInput!) { shareList(input: $input) { __typename } }
`);
const CreateGroup = graphql(`
  mutation ConnT_CreateGroup($input: CreateGroupInput!) {
    createGroup(input: $input) { __typename ... on CreateGroupPayload { group { id } } }
  }
`);
const AddGroupMember = graphql(`
  mutation ConnT_AddGroupMember($input: AddGroupMemberInput!) { addGroupMember(input: $input) { __typename } }
`);
const CreateRight = graphql(`
  mutation ConnT_CreateRight($input: CreateRightInput!) {
    createRight(input: $input) { __typename ... on CreateRightPayload { right { id } } }
  }
`);
const GrantRight = graphql(`
  mutation ConnT_GrantRight($input: GrantRightInput!) { grantRight(input: $input) { __typename } }
`);
const Invite = graphql(`
  mutation ConnT_Invite($input: InviteToWorkspaceInput!) { inviteToWorkspace(input: $input) { __typename } }
`);
const RequestJoin = graphql(`
  mutation ConnT_RequestJoin($input: RequestToJoinWorkspaceInput!) {
    requestToJoinWorkspace(input: $input) { __typename }
  }
`);

const Account = graphql(`
  query ConnT_Account($id: ID!, $after: String) {
    account(id: $id) {
      members { user { id } }
      membersConnection(first: 1, after: $after) { pageInfo { hasNextPage endCursor } edges { node { user { id } } } }
    }
  }
`);
const ListShares = graphql(`
  query ConnT_ListShares($id: ID!, $after: String) {
    list(id: $id) {
      shares { id }
      sharesConnection(first: 1, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id } } }
    }
  }
`);
const GroupAndRight = graphql(`
  query ConnT_GroupAndRight($group: ID!, $right: ID!, $afterMember: String, $afterHolder: String) {
    group: node(id: $group) {
      ... on Group {
        members { id }
        membersConnection(first: 1, after: $afterMember) { pageInfo { hasNextPage endCursor } edges { node { id } } }
      }
    }
    right: node(id: $right) {
      ... on Right {
        holders { id }
        holdersConnection(first: 1, after: $afterHolder) { pageInfo { hasNextPage endCursor } edges { node { id } } }
      }
    }
  }
`);
const WorkspacePending = graphql(`
  query ConnT_WorkspacePending($id: ID!, $afterInvitation: String, $afterRequest: String) {
    workspace(id: $id) {
      invitations { id }
      invitationsConnection(first: 1, after: $afterInvitation) {
        pageInfo { hasNextPage endCursor } edges { node { id } }
      }
      joinRequests { id }
      joinRequestsConnection(first: 1, after: $afterRequest) {
        pageInfo { hasNextPage endCursor } edges { node { id } }
      }
    }
  }
`);
const Directory = graphql(`
  query ConnT_Directory($accountId: ID!, $after: String) {
    contentDirectory(accountId: $accountId) { id }
    contentDirectoryConnection(accountId: $accountId, first: 1, after: $after) {
      pageInfo { hasNextPage endCursor } edges { node { id } }
    }
  }
`);

const ADMIN = 'admin@conn.test';
const BEA = 'bea@conn.test';
const CAL = 'cal@conn.test';
const DAN = 'dan@conn.test';
const EVE = 'eve@conn.test';

interface PageOf {
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
  edges: { node: unknown }[];
}

/** Every node of a connection read one at a time, following endCursor. */
async function all(read: (after: string | null) => Promise<PageOf | null | undefined>): Promise<unknown[]> {
  const nodes: unknown[] = [];
  let after: string | null = null;
  for (let i = 0; i < 20; i++) {
    const page = await read(after);
    if (!page) throw new Error('no connection');
    expect(page.edges.length).toBeLessThanOrEqual(1);
    nodes.push(...page.edges.map((e) => e.node));
    if (!page.pageInfo.hasNextPage) return nodes;
    after = page.pageInfo.endCursor ?? null;
  }
  throw new Error('did not end');
}

const sorted = (ids: string[]) => [...ids].sort();

describe('the connections beside the plain lists', () => {
  let t: TestServer;
  let accountId: string;
  let workspaceId: string;
  let closedId: string;
  let listId: string;
  let groupId: string;
  let rightId: string;
  beforeAll(async () => {
    t = await startTestServer();
    const a = (await t.ok(CreateAccount, { input: { name: 'Conn' } }, ADMIN)).createAccount;
    accountId = a.__typename === 'CreateAccountPayload' ? a.account.id : '';
    const userIds: string[] = [];
    for (const email of [BEA, CAL]) {
      const m = (await t.ok(AddMember, { input: { accountId, email, role: 'MEMBER' } }, ADMIN)).addAccountMember;
      userIds.push(m.__typename === 'AddAccountMemberPayload' ? m.member.user.id : '');
    }
    const w = (await t.ok(CreateWorkspace, { input: { accountId, name: 'Open' } }, ADMIN)).createWorkspace;
    workspaceId = w.__typename === 'CreateWorkspacePayload' ? w.workspace.id : '';
    const c = (await t.ok(CreateWorkspace, { input: { accountId, name: 'Closed', type: 'CLOSED' } }, ADMIN))
      .createWorkspace;
    closedId = c.__typename === 'CreateWorkspacePayload' ? c.workspace.id : '';
    const l = (await t.ok(CreateList, { input: { workspaceId, name: 'L', kind: 'SHAREABLE' } }, ADMIN)).createList;
    listId = l.__typename === 'CreateListPayload' ? l.list.id : '';
    const g = (await t.ok(CreateGroup, { input: { accountId, name: 'G' } }, ADMIN)).createGroup;
    groupId = g.__typename === 'CreateGroupPayload' ? g.group.id : '';
    const r = (await t.ok(CreateRight, { input: { accountId, name: 'R' } }, ADMIN)).createRight;
    rightId = r.__typename === 'CreateRightPayload' ? r.right.id : '';
    for (const userId of userIds) {
      expect((await t.ok(Share, { input: { listId, userId, role: 'VIEWER' } }, ADMIN)).shareList.__typename).toBe(
        'ShareListPayload',
      );
      await t.ok(AddGroupMember, { input: { groupId, userId } }, ADMIN);
      await t.ok(GrantRight, { input: { rightId, userId } }, ADMIN);
    }
    for (const email of ['x@elsewhere.test', 'y@elsewhere.test']) {
      await t.ok(Invite, { input: { workspaceId: closedId, email } }, ADMIN);
    }
    // Admins who are not its owners see a closed workspace and may ask to join it.
    for (const email of [DAN, EVE]) await t.ok(AddMember, { input: { accountId, email, role: 'ADMIN' } }, ADMIN);
    for (const as of [DAN, EVE]) {
      const requested = (await t.ok(RequestJoin, { input: { workspaceId: closedId } }, as)).requestToJoinWorkspace;
      expect(requested.__typename).toBe('RequestToJoinWorkspacePayload');
    }
  });
  afterAll(() => t?.close());

  it('Account.membersConnection pages through members', async () => {
    const old = (await t.ok(Account, { id: accountId }, ADMIN)).account?.members.map((m) => m.user.id) ?? [];
    const paged = await all(
      async (after) => (await t.ok(Account, { id: accountId, after }, ADMIN)).account?.membersConnection,
    );
    expect(old).toHaveLength(5);
    expect(sorted(paged.map((n) => (n as { user: { id: string } }).user.id))).toEqual(sorted(old));
  });

  it('List.sharesConnection pages through shares', async () => {
    const old = (await t.ok(ListShares, { id: listId }, ADMIN)).list?.shares?.map((s) => s.id) ?? [];
    const paged = await all(
      async (after) => (await t.ok(ListShares, { id: listId, after }, ADMIN)).list?.sharesConnection,
    );
    expect(old).toHaveLength(2);
    expect(paged.map((n) => (n as { id: string }).id)).toEqual(old);
  });

  it('Group.membersConnection and Right.holdersConnection page through people', async () => {
    const first = await t.ok(GroupAndRight, { group: groupId, right: rightId }, ADMIN);
    const oldMembers = first.group && 'members' in first.group ? first.group.members.map((u) => u.id) : [];
    const oldHolders = first.right && 'holders' in first.right ? first.right.holders.map((u) => u.id) : [];
    const members = await all(async (afterMember) => {
      const d = await t.ok(GroupAndRight, { group: groupId, right: rightId, afterMember }, ADMIN);
      return d.group && 'membersConnection' in d.group ? d.group.membersConnection : null;
    });
    const holders = await all(async (afterHolder) => {
      const d = await t.ok(GroupAndRight, { group: groupId, right: rightId, afterHolder }, ADMIN);
      return d.right && 'holdersConnection' in d.right ? d.right.holdersConnection : null;
    });
    expect(oldMembers).toHaveLength(2);
    expect(sorted(members.map((n) => (n as { id: string }).id))).toEqual(sorted(oldMembers));
    expect(sorted(holders.map((n) => (n as { id: string }).id))).toEqual(sorted(oldHolders));
  });

  it('Workspace.invitationsConnection and joinRequestsConnection page through what is pending, for owners only', async () => {
    const first = (await t.ok(WorkspacePending, { id: closedId }, ADMIN)).workspace;
    const invitations = await all(
      async (afterInvitation) =>
        (await t.ok(WorkspacePending, { id: closedId, afterInvitation }, ADMIN)).workspace?.invitationsConnection,
    );
    const requests = await all(
      async (afterRequest) =>
        (await t.ok(WorkspacePending, { id: closedId, afterRequest }, ADMIN)).workspace?.joinRequestsConnection,
    );
    expect(first?.invitations).toHaveLength(2);
    expect(invitations.map((n) => (n as { id: string }).id)).toEqual(first?.invitations?.map((i) => i.id));
    expect(first?.joinRequests).toHaveLength(2);
    expect(requests.map((n) => (n as { id: string }).id)).toEqual(first?.joinRequests?.map((r) => r.id));
    // Not for a member who does not manage it: null, like the plain lists.
    const asBea = (await t.gql(WorkspacePending, { id: workspaceId }, BEA)).data?.workspace;
    expect(asBea?.invitationsConnection ?? null).toBeNull();
    expect(asBea?.joinRequestsConnection ?? null).toBeNull();
  });

  it('contentDirectoryConnection pages through every workspace, for admins only', async () => {
    const old = (await t.ok(Directory, { accountId }, ADMIN)).contentDirectory?.map((w) => w.id) ?? [];
    const paged = await all(
      async (after) => (await t.ok(Directory, { accountId, after }, ADMIN)).contentDirectoryConnection,
    );
    expect(old).toHaveLength(2);
    expect(paged.map((n) => (n as { id: string }).id)).toEqual(old);
    expect((await t.gql(Directory, { accountId }, BEA)).data?.contentDirectoryConnection).toBeNull();
  });
});
