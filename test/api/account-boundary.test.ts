import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { snapshot, startTestServer, type TestServer } from '../helpers/server.ts';

const CreateAccount = graphql(`
  mutation Ab_CreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { account { id } } }
  }
`);
const AddMember = graphql(`
  mutation Ab_AddMember($input: AddAccountMemberInput!) {
    addAccountMember(input: $input) {
      __typename
      ... on AddAccountMemberPayload { member { id role user { id } account { id } } }
      ... on Error { code message }
    }
  }
`);
const SetPolicy = graphql(`
  mutation Ab_SetPolicy($input: SetAccountPolicyInput!) {
    setAccountPolicy(input: $input) {
      __typename
      ... on SetAccountPolicyPayload { account { memberInviters memberDomains } }
      ... on Error { code message }
    }
  }
`);
const CreateWorkspace = graphql(`
  mutation Ab_CreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) { __typename ... on CreateWorkspacePayload { workspace { id } } ... on Error { code } }
  }
`);
const Invite = graphql(`
  mutation Ab_Invite($input: InviteToWorkspaceInput!) {
    inviteToWorkspace(input: $input) {
      __typename
      ... on InviteToWorkspacePayload { invitation { id status } }
      ... on Error { code message }
    }
  }
`);
const Accept = graphql(`
  mutation Ab_Accept($input: AcceptInvitationInput!) {
    acceptInvitation(input: $input) { __typename ... on Error { code message } }
  }
`);
const Me = graphql(`
  query Ab_Me {
    me { id accounts { id role account { id name } } }
  }
`);
const Invitations = graphql(`
  query Ab_Invitations($id: ID!) {
    workspace(id: $id) { invitations { email status } }
  }
`);
const CreateList = graphql(`
  mutation Ab_CreateList($input: CreateListInput!) {
    createList(input: $input) { __typename ... on CreateListPayload { list { id } } ... on Error { code message } }
  }
`);
const ReadList = graphql(`
  query Ab_ReadList($id: ID!) {
    list(id: $id) { id name viewerRole workspace { name locked members { edges { node { role } } } lists { edges { node { id } } } } }
  }
`);
const Share = graphql(`
  mutation Ab_Share($input: ShareListInput!) {
    shareList(input: $input) { __typename ... on ShareListPayload { share { id role } } ... on Error { code message } }
  }
`);
const GeneralAccess = graphql(`
  mutation Ab_GeneralAccess($input: SetListGeneralAccessInput!) {
    setListGeneralAccess(input: $input) { __typename ... on Error { code message } }
  }
`);
const Remove = graphql(`
  mutation Ab_Remove($input: RemoveAccountMemberInput!) {
    removeAccountMember(input: $input) {
      __typename
      ... on RemoveAccountMemberPayload { dryRun steps { kind resourceType resourceId accountId role } }
      ... on Error { code message }
    }
  }
`);
const SetRole = graphql(`
  mutation Ab_SetRole($input: SetAccountMemberRoleInput!) {
    setAccountMemberRole(input: $input) {
      __typename
      ... on SetAccountMemberRolePayload { member { role user { id } } }
      ... on Error { code message }
    }
  }
`);
const Explain = graphql(`
  query Ab_Explain($resourceId: ID!, $userId: ID) {
    explainAccess(resourceId: $resourceId, userId: $userId) { role decisions { question allowed reasons { rule } } }
  }
`);
const Audit = graphql(`
  query Ab_Audit($resourceId: ID!) {
    auditLog(resourceId: $resourceId) { edges { node { action } } }
  }
`);
const Workspace = graphql(`
  query Ab_Workspace($id: ID!) {
    workspace(id: $id) {
      name
      type
      locked
      memberCount
      owners { email }
      members { edges { node { role } } }
      subscriberCount
      lists { edges { node { id } } }
      contacts { edges { node { id } } }
      emails { edges { node { id } } }
      permissions { action }
      joinRequests { id }
      viewerCan
    }
  }
`);
const Workspaces = graphql(`
  query Ab_Workspaces($accountId: ID!) {
    workspaces(accountId: $accountId) { edges { node { name locked } } }
  }
`);
const Directory = graphql(`
  query Ab_Directory($accountId: ID!) {
    contentDirectory(accountId: $accountId) {
      id
      name
      type
      locked
      memberCount
      subscriberCount
      members { edges { node { user { email } } } }
      subscribers { edges { node { email } } }
      lists { edges { node { id } } }
      contacts { edges { node { id } } }
      permissions { action }
    }
  }
`);
const Join = graphql(`
  mutation Ab_Join($input: JoinWorkspaceInput!) {
    joinWorkspace(input: $input) { __typename ... on Error { code message } }
  }
`);
const RequestJoin = graphql(`
  mutation Ab_RequestJoin($input: RequestToJoinWorkspaceInput!) {
    requestToJoinWorkspace(input: $input) {
      __typename
      ... on RequestToJoinWorkspacePayload { request { id } }
      ... on Error { code message }
    }
  }
`);
const Decide = graphql(`
  mutation Ab_Decide($input: DecideJoinRequestInput!) {
    decideJoinRequest(input: $input) { __typename ... on Error { code message } }
  }
`);

const ADMIN = 'admin@acme.test';
const ADMIN2 = 'admin2@acme.test';
const MEMBER = 'member@acme.test';
const PLAIN = 'plain@acme.test';
const LEAVER = 'leaver@acme.test';
const GUEST = 'guest@outside.test';
const OUTSIDER = 'stranger@elsewhere.test';

let t: TestServer;
let accountId: string;
const ids: Record<string, string> = {};
function id(key: string): string {
  const found = ids[key];
  if (!found) throw new Error(`no id for ${key}`);
  return found;
}

async function addMember(email: string, role: 'ADMIN' | 'MEMBER' | 'GUEST') {
  const r = await t.ok(AddMember, { input: { accountId, email, role } }, ADMIN);
  if (r.addAccountMember.__typename !== 'AddAccountMemberPayload') throw new Error(JSON.stringify(r));
  ids[email] = r.addAccountMember.member.user.id;
}

async function workspace(name: string, type: 'OPEN' | 'CLOSED' | 'PRIVATE', as = ADMIN): Promise<string> {
  const r = await t.ok(CreateWorkspace, { input: { accountId, name, type } }, as);
  if (r.createWorkspace.__typename !== 'CreateWorkspacePayload') throw new Error(JSON.stringify(r));
  return r.createWorkspace.workspace.id;
}

async function list(workspaceId: string, name: string, kind: 'MAIN' | 'SHAREABLE' | 'PRIVATE', as: string) {
  const r = await t.ok(CreateList, { input: { workspaceId, name, kind } }, as);
  if (r.createList.__typename !== 'CreateListPayload') throw new Error(JSON.stringify(r));
  return r.createList.list.id;
}

async function lastInvitationToken(email: string): Promise<string> {
  const mail = await t.server.services.db.mailOutbox.findFirstOrThrow({
    where: { to: email },
    orderBy: { id: 'desc' },
  });
  const match = /\/invitations\/([A-Za-z0-9_-]+)/.exec(mail.text);
  if (!match?.[1]) throw new Error('no link in the mail');
  return match[1];
}

beforeAll(async () => {
  t = await startTestServer();
  // Provision everyone first: a first token provisions its user, which is not a mutation's doing.
  for (const email of [ADMIN, ADMIN2, MEMBER, PLAIN, LEAVER, GUEST, OUTSIDER, 'eve@elsewhere.test']) {
    ids[email] = (await t.ok(Me, {}, email)).me?.id ?? '';
  }
  const created = await t.ok(CreateAccount, { input: { name: 'Acme' } }, ADMIN);
  if (created.createAccount.__typename !== 'CreateAccountPayload') throw new Error('no account');
  accountId = created.createAccount.account.id;
  await addMember(ADMIN2, 'ADMIN');
  await addMember(MEMBER, 'MEMBER');
  await addMember(PLAIN, 'MEMBER');
  await addMember(LEAVER, 'MEMBER');
  await addMember(GUEST, 'GUEST');
  ids.open = await workspace('Open space', 'OPEN', MEMBER);
});

afterAll(() => t?.close());

describe('who comes in', () => {
  it('me.accounts gives each account with its id, name and the role', async () => {
    const me = await t.ok(Me, {}, MEMBER);
    expect(me.me?.accounts).toEqual([
      { id: expect.any(String), role: 'MEMBER', account: { id: accountId, name: 'Acme' } },
    ]);
  });

  it('a plain member inviting an outsider is refused under the defaults, naming the policy, and nothing changes', async () => {
    const before = await snapshot(t);
    const r = await t.ok(Invite, { input: { workspaceId: id('open'), email: 'new@elsewhere.test' } }, MEMBER);
    expect(r.inviteToWorkspace).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
    if (r.inviteToWorkspace.__typename !== 'ForbiddenError') return;
    expect(r.inviteToWorkspace.message).toContain('memberInviters');
    expect(await snapshot(t)).toEqual(before);
    // addAccountMember by a member: the same rule, the same answer.
    const add = await t.ok(AddMember, { input: { accountId, email: 'new@elsewhere.test', role: 'MEMBER' } }, MEMBER);
    expect(add.addAccountMember).toMatchObject({ __typename: 'ForbiddenError' });
    expect(await snapshot(t)).toEqual(before);
  });

  it('an outsider invited by a member becomes MEMBER when their domain is a member domain', async () => {
    const policy = await t.ok(SetPolicy, { input: { accountId, memberDomains: ['Partner.test'] } }, ADMIN);
    expect(policy.setAccountPolicy).toMatchObject({
      account: { memberInviters: 'ADMINS_ONLY', memberDomains: ['partner.test'] },
    });
    const r = await t.ok(Invite, { input: { workspaceId: id('open'), email: 'ann@partner.test' } }, MEMBER);
    expect(r.inviteToWorkspace.__typename).toBe('InviteToWorkspacePayload');
    const token = await lastInvitationToken('ann@partner.test');
    expect((await t.ok(Accept, { input: { token } }, 'ann@partner.test')).acceptInvitation.__typename).toBe(
      'AcceptInvitationPayload',
    );
    const me = await t.ok(Me, {}, 'ann@partner.test');
    expect(me.me?.accounts).toEqual([
      expect.objectContaining({ role: 'MEMBER', account: { id: accountId, name: 'Acme' } }),
    ]);
    // A member may add a person of a member domain directly too.
    const add = await t.ok(AddMember, { input: { accountId, email: 'bob@partner.test', role: 'MEMBER' } }, MEMBER);
    expect(add.addAccountMember).toMatchObject({ member: { role: 'MEMBER', account: { id: accountId } } });
    // But never as ADMIN.
    const admin = await t.ok(AddMember, { input: { accountId, email: 'cat@partner.test', role: 'ADMIN' } }, MEMBER);
    expect(admin.addAccountMember).toMatchObject({ __typename: 'ForbiddenError' });
  });

  it("an admin's invitation always works", async () => {
    const r = await t.ok(Invite, { input: { workspaceId: id('open'), email: 'dan@elsewhere.test' } }, ADMIN);
    expect(r.inviteToWorkspace.__typename).toBe('InviteToWorkspacePayload');
    const token = await lastInvitationToken('dan@elsewhere.test');
    expect((await t.ok(Accept, { input: { token } }, 'dan@elsewhere.test')).acceptInvitation.__typename).toBe(
      'AcceptInvitationPayload',
    );
  });

  it('ALL_MEMBERS lets every member bring people in; acceptance is decided again under the policy of the day', async () => {
    await t.ok(SetPolicy, { input: { accountId, memberInviters: 'ALL_MEMBERS' } }, ADMIN);
    const r = await t.ok(Invite, { input: { workspaceId: id('open'), email: 'eve@elsewhere.test' } }, MEMBER);
    expect(r.inviteToWorkspace.__typename).toBe('InviteToWorkspacePayload');
    await t.ok(SetPolicy, { input: { accountId, memberInviters: 'ADMINS_ONLY' } }, ADMIN);
    const token = await lastInvitationToken('eve@elsewhere.test');
    const before = await snapshot(t);
    const accepted = await t.ok(Accept, { input: { token } }, 'eve@elsewhere.test');
    expect(accepted.acceptInvitation).toMatchObject({ __typename: 'InvitationError', code: 'INVITATION_INVALID' });
    if (accepted.acceptInvitation.__typename === 'InvitationError')
      expect(accepted.acceptInvitation.message).toContain('memberInviters');
    expect(await snapshot(t)).toEqual(before);
    expect((await t.ok(Me, {}, 'eve@elsewhere.test')).me?.accounts).toEqual([]);
  });

  it('a pending invitation past its expiry reads EXPIRED', async () => {
    const r = await t.ok(Invite, { input: { workspaceId: id('open'), email: 'fay@elsewhere.test' } }, ADMIN);
    if (r.inviteToWorkspace.__typename !== 'InviteToWorkspacePayload') throw new Error('not invited');
    expect(r.inviteToWorkspace.invitation.status).toBe('PENDING');
    await t.server.services.db.invitation.updateMany({
      where: { email: 'fay@elsewhere.test' },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const listed = await t.ok(Invitations, { id: id('open') }, ADMIN);
    expect(listed.workspace?.invitations).toContainEqual({ email: 'fay@elsewhere.test', status: 'EXPIRED' });
    const token = await lastInvitationToken('fay@elsewhere.test');
    expect((await t.ok(Accept, { input: { token } }, 'fay@elsewhere.test')).acceptInvitation.__typename).toBe(
      'InvitationError',
    );
  });
});

describe('what a closed or private space shows', () => {
  beforeAll(async () => {
    ids.closed = await workspace('Closed space', 'CLOSED', MEMBER);
    ids.private = await workspace('Private space', 'PRIVATE', MEMBER);
    ids.closedList = await list(id('closed'), 'Closed board', 'MAIN', MEMBER);
    ids.privateList = await list(id('private'), 'Private board', 'MAIN', MEMBER);
    ids.secretList = await list(id('private'), 'Secret', 'PRIVATE', MEMBER);
  });

  it('a closed workspace is listed to account members with its overview and a lock, its content null', async () => {
    const listed = await t.ok(Workspaces, { accountId }, PLAIN);
    expect(listed.workspaces.edges.map((e) => e.node)).toEqual(
      expect.arrayContaining([
        { name: 'Closed space', locked: true },
        { name: 'Open space', locked: false },
      ]),
    );
    expect(listed.workspaces.edges.map((e) => e.node.name)).not.toContain('Private space');
    const ws = await t.ok(Workspace, { id: id('closed') }, PLAIN);
    expect(ws.workspace).toEqual({
      name: 'Closed space',
      type: 'CLOSED',
      locked: true,
      memberCount: 1,
      owners: [{ email: MEMBER }],
      members: null,
      subscriberCount: null,
      lists: null,
      contacts: null,
      emails: null,
      permissions: null,
      joinRequests: null,
      viewerCan: [],
    });
    expect((await t.ok(ReadList, { id: id('closedList') }, PLAIN)).list).toBeNull();
    // Guests see none of it.
    expect((await t.ok(Workspace, { id: id('closed') }, GUEST)).workspace).toBeNull();
  });

  it('a member joins a closed workspace by request and approval, and then reads it', async () => {
    const asked = await t.ok(RequestJoin, { input: { workspaceId: id('closed') } }, PLAIN);
    if (asked.requestToJoinWorkspace.__typename !== 'RequestToJoinWorkspacePayload')
      throw new Error(JSON.stringify(asked));
    expect((await t.ok(Join, { input: { workspaceId: id('closed') } }, PLAIN)).joinWorkspace).toMatchObject({
      code: 'FORBIDDEN',
    });
    const decided = await t.ok(
      Decide,
      { input: { requestId: asked.requestToJoinWorkspace.request.id, approve: true } },
      MEMBER,
    );
    expect(decided.decideJoinRequest.__typename).toBe('DecideJoinRequestPayload');
    const ws = await t.ok(Workspace, { id: id('closed') }, PLAIN);
    expect(ws.workspace).toMatchObject({
      locked: false,
      members: { edges: [{}, {}] },
      lists: { edges: [{ node: { id: id('closedList') } }] },
    });
  });

  it('a private workspace is invisible to account members, and to admins outside the content directory', async () => {
    expect((await t.ok(Workspace, { id: id('private') }, PLAIN)).workspace).toBeNull();
    expect((await t.ok(Workspace, { id: id('private') }, ADMIN)).workspace).toBeNull();
    const listed = await t.ok(Workspaces, { accountId }, ADMIN);
    expect(listed.workspaces.edges.map((e) => e.node.name)).not.toContain('Private space');
    expect(
      (await t.ok(RequestJoin, { input: { workspaceId: id('private') } }, PLAIN)).requestToJoinWorkspace,
    ).toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('a private list is shared by invitation inside the account, never outside nor by link', async () => {
    const shared = await t.ok(
      Share,
      { input: { listId: id('secretList'), userId: id(PLAIN), role: 'EDITOR' } },
      MEMBER,
    );
    expect(shared.shareList).toMatchObject({ share: { role: 'EDITOR' } });
    // The invited non-member sees the list and the workspace's name, nothing else.
    const seen = await t.ok(ReadList, { id: id('secretList') }, PLAIN);
    expect(seen.list).toMatchObject({
      name: 'Secret',
      viewerRole: 'EDITOR',
      workspace: {
        name: 'Private space',
        locked: true,
        members: null,
        lists: { edges: [{ node: { id: id('secretList') } }] },
      },
    });
    const before = await snapshot(t);
    for (const input of [
      { listId: id('secretList'), email: 'x@elsewhere.test', role: 'VIEWER' as const },
      { listId: id('secretList'), userId: id(GUEST), role: 'VIEWER' as const },
    ]) {
      expect((await t.ok(Share, { input }, MEMBER)).shareList).toMatchObject({ __typename: 'ForbiddenError' });
      expect((await t.ok(Share, { input }, ADMIN2)).shareList).toMatchObject({ code: 'NOT_FOUND' });
    }
    const link = await t.ok(GeneralAccess, { input: { listId: id('secretList'), access: 'ANYONE_WITH_LINK' } }, MEMBER);
    expect(link.setListGeneralAccess).toMatchObject({ __typename: 'ForbiddenError' });
    expect(await snapshot(t)).toEqual(before);
  });

  it('the content directory shows every workspace with its people and no content; an admin joins without approval, audited', async () => {
    const dir = await t.ok(Directory, { accountId }, ADMIN);
    const privateWs = dir.contentDirectory?.find((w) => w.name === 'Private space');
    expect(privateWs).toEqual({
      id: id('private'),
      name: 'Private space',
      type: 'PRIVATE',
      locked: true,
      memberCount: 1,
      subscriberCount: 1,
      members: { edges: [{ node: { user: { email: MEMBER } } }] },
      subscribers: { edges: [{ node: { email: PLAIN } }] },
      lists: null,
      contacts: null,
      permissions: null,
    });
    expect((await t.ok(Directory, { accountId }, MEMBER)).contentDirectory).toBeNull();
    // Behind the lock an admin reads no list, and is no co-owner of it.
    expect((await t.ok(ReadList, { id: id('privateList') }, ADMIN)).list).toBeNull();
    const joined = await t.ok(Join, { input: { workspaceId: id('private') } }, ADMIN);
    expect(joined.joinWorkspace.__typename).toBe('JoinWorkspacePayload');
    expect((await t.ok(ReadList, { id: id('privateList') }, ADMIN)).list).toMatchObject({ viewerRole: 'CO_OWNER' });
    expect((await t.ok(ReadList, { id: id('secretList') }, ADMIN)).list).toMatchObject({ viewerRole: 'CO_OWNER' });
    const audit = await t.ok(Audit, { resourceId: id('private') }, MEMBER);
    expect(audit.auditLog?.edges.map((e) => e.node.action)).toContain('member.admin-join');
  });
});

describe('who leaves', () => {
  beforeAll(async () => {
    ids.leaverSpace = await workspace('Leaver space', 'OPEN', LEAVER);
    ids.sharedSpace = await workspace('Shared space', 'OPEN', LEAVER);
    ids.leaverList = await list(id('leaverSpace'), 'Leaver board', 'SHAREABLE', LEAVER);
    ids.othersList = await list(id('open'), 'Team board', 'SHAREABLE', MEMBER);
    await t.ok(Share, { input: { listId: id('othersList'), userId: id(LEAVER), role: 'EDITOR' } }, MEMBER);
    await t.ok(Join, { input: { workspaceId: id('sharedSpace') } }, MEMBER);
    await t.ok(Share, { input: { listId: id('leaverList'), userId: id(MEMBER), role: 'VIEWER' } }, LEAVER);
  });

  it('only admins remove; whoever cannot see the account gets NOT_FOUND; nothing changes', async () => {
    const before = await snapshot(t);
    const input = { accountId, userId: id(LEAVER), dryRun: false };
    expect((await t.ok(Remove, { input }, MEMBER)).removeAccountMember).toMatchObject({ code: 'FORBIDDEN' });
    expect((await t.ok(Remove, { input }, OUTSIDER)).removeAccountMember).toMatchObject({ code: 'NOT_FOUND' });
    expect(
      (await t.ok(SetRole, { input: { accountId, userId: id(LEAVER), role: 'GUEST' } }, MEMBER)).setAccountMemberRole,
    ).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(
      (await t.ok(SetRole, { input: { accountId, userId: id(LEAVER), role: 'GUEST' } }, OUTSIDER)).setAccountMemberRole,
    ).toMatchObject({
      code: 'NOT_FOUND',
    });
    const heir = await t.ok(Remove, { input: { ...input, transferTo: id(GUEST) } }, ADMIN);
    expect(heir.removeAccountMember).toMatchObject({ code: 'VALIDATION' });
    expect(await snapshot(t)).toEqual(before);
  });

  it('a dry run returns exactly the steps the real run takes, and a second run finds nothing to do', async () => {
    const input = { accountId, userId: id(LEAVER), transferTo: id(ADMIN2) };
    const before = await snapshot(t);
    const plan = await t.ok(Remove, { input: { ...input, dryRun: true } }, ADMIN);
    if (plan.removeAccountMember.__typename !== 'RemoveAccountMemberPayload') throw new Error(JSON.stringify(plan));
    expect(await snapshot(t)).toEqual(before);
    const kinds = plan.removeAccountMember.steps.map((s) => s.kind);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'REMOVE_SHARE',
        'TRANSFER_LIST',
        'TRANSFER_WORKSPACE',
        'REMOVE_WORKSPACE_MEMBERSHIP',
        'REMOVE_ACCOUNT_MEMBERSHIP',
      ]),
    );
    // "Shared space" has another member but no other owner: it passes on; each workspace once.
    expect(kinds.filter((k) => k === 'TRANSFER_WORKSPACE')).toHaveLength(2);
    const run = await t.ok(Remove, { input: { ...input, dryRun: false } }, ADMIN);
    expect(run.removeAccountMember).toEqual({ ...plan.removeAccountMember, dryRun: false });
    const again = await t.ok(Remove, { input: { ...input, dryRun: false } }, ADMIN);
    expect(again.removeAccountMember).toMatchObject({ steps: [] });
  });

  it('the removed person reaches nothing; what they owned is the heir’s, as explainAccess and the audit show', async () => {
    expect((await t.ok(Me, {}, LEAVER)).me?.accounts).toEqual([]);
    expect((await t.ok(ReadList, { id: id('othersList') }, LEAVER)).list).toBeNull();
    expect((await t.ok(ReadList, { id: id('leaverList') }, LEAVER)).list).toBeNull();
    const explained = await t.ok(Explain, { resourceId: id('leaverList'), userId: id(ADMIN2) }, ADMIN);
    expect(explained.explainAccess?.role).toBe('CREATOR');
    expect(explained.explainAccess?.decisions[0]?.reasons.map((r) => r.rule)).toContain('list.creator');
    const ws = await t.ok(Workspace, { id: id('sharedSpace') }, MEMBER);
    expect(ws.workspace?.owners).toEqual([{ email: ADMIN2 }]);
    const audit = await t.ok(Audit, { resourceId: id('leaverList') }, ADMIN);
    expect(audit.auditLog?.edges.map((e) => e.node.action)).toContain('account.remove-member.transfer-list');
    // The share the leaver gave stays: it was the list's, not theirs.
    expect((await t.ok(ReadList, { id: id('leaverList') }, MEMBER)).list).toMatchObject({ viewerRole: 'VIEWER' });
  });

  it('setAccountMemberRole demotes and promotes; the last admin stays', async () => {
    const demoted = await t.ok(SetRole, { input: { accountId, userId: id(PLAIN), role: 'GUEST' } }, ADMIN);
    expect(demoted.setAccountMemberRole).toMatchObject({ member: { role: 'GUEST' } });
    expect((await t.ok(Workspace, { id: id('open') }, PLAIN)).workspace).toBeNull();
    await t.ok(SetRole, { input: { accountId, userId: id(PLAIN), role: 'MEMBER' } }, ADMIN);
    expect((await t.ok(Workspace, { id: id('open') }, PLAIN)).workspace).toMatchObject({ locked: false });
    await t.ok(SetRole, { input: { accountId, userId: id(ADMIN2), role: 'MEMBER' } }, ADMIN);
    const before = await snapshot(t);
    const last = await t.ok(SetRole, { input: { accountId, userId: id(ADMIN), role: 'MEMBER' } }, ADMIN);
    expect(last.setAccountMemberRole).toMatchObject({ code: 'LAST_OWNER' });
    const removed = await t.ok(
      Remove,
      { input: { accountId, userId: id(ADMIN), transferTo: id(MEMBER), dryRun: false } },
      ADMIN,
    );
    expect(removed.removeAccountMember).toMatchObject({ code: 'LAST_OWNER' });
    const dry = await t.ok(
      Remove,
      { input: { accountId, userId: id(ADMIN), transferTo: id(MEMBER), dryRun: true } },
      ADMIN,
    );
    expect(dry.removeAccountMember).toMatchObject({ code: 'LAST_OWNER' });
    expect(await snapshot(t)).toEqual(before);
    const missing = await t.ok(SetRole, { input: { accountId, userId: id(OUTSIDER), role: 'MEMBER' } }, ADMIN);
    expect(missing.setAccountMemberRole).toMatchObject({ code: 'NOT_FOUND' });
  });
});
