import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { snapshot, startTestServer, type TestServer } from '../helpers/server.ts';
import { smtpServer } from '../helpers/smtp.ts';

const CreateAccount = graphql(`
  mutation WsT_CreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { account { id } } }
  }
`);
const AddMember = graphql(`
  mutation WsT_AddMember($input: AddAccountMemberInput!) {
    addAccountMember(input: $input) { __typename ... on AddAccountMemberPayload { member { user { id } } } }
  }
`);
const SetPolicy = graphql(`
  mutation WsT_SetPolicy($input: SetAccountPolicyInput!) {
    setAccountPolicy(input: $input) {
      __typename
      ... on SetAccountPolicyPayload { account { workspaceCreators externalSharing caps { action roles } } }
      ... on Error { code }
    }
  }
`);
const CreateWorkspace = graphql(`
  mutation WsT_CreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) { __typename ... on CreateWorkspacePayload { workspace { id } } ... on Error { code } }
  }
`);
const UpdateWorkspace = graphql(`
  mutation WsT_UpdateWorkspace($input: UpdateWorkspaceInput!) {
    updateWorkspace(input: $input) {
      __typename
      ... on UpdateWorkspacePayload { workspace { name type } }
      ... on Error { code message }
    }
  }
`);
const DeleteWorkspace = graphql(`
  mutation WsT_DeleteWorkspace($input: DeleteWorkspaceInput!) {
    deleteWorkspace(input: $input) { __typename ... on DeleteWorkspacePayload { deletedWorkspaceId } ... on Error { code } }
  }
`);
const Workspace = graphql(`
  query WsT_Workspace($id: ID!) {
    workspace(id: $id) {
      name
      type
      viewerRole
      viewerCan
      viewerCanManage
      members { edges { node { role user { email } } } }
      permissions { role action setting effective cappedByAccount }
      joinRequests { id user { email } }
    }
  }
`);
const Workspaces = graphql(`
  query WsT_Workspaces($accountId: ID!) {
    workspaces(accountId: $accountId) { edges { node { name } } }
  }
`);
const ContentDirectory = graphql(`
  query WsT_ContentDirectory($accountId: ID!) {
    contentDirectory(accountId: $accountId) { name type createdAt members { edges { node { user { email } } } } }
  }
`);
const Join = graphql(`
  mutation WsT_Join($input: JoinWorkspaceInput!) {
    joinWorkspace(input: $input) { __typename ... on JoinWorkspacePayload { member { role } } ... on Error { code } }
  }
`);
const RequestJoin = graphql(`
  mutation WsT_RequestJoin($input: RequestToJoinWorkspaceInput!) {
    requestToJoinWorkspace(input: $input) {
      __typename
      ... on RequestToJoinWorkspacePayload { request { id status } }
      ... on Error { code }
    }
  }
`);
const DecideJoin = graphql(`
  mutation WsT_DecideJoin($input: DecideJoinRequestInput!) {
    decideJoinRequest(input: $input) {
      __typename
      ... on DecideJoinRequestPayload { request { status } }
      ... on Error { code }
    }
  }
`);
const Remove = graphql(`
  mutation WsT_Remove($input: RemoveWorkspaceMemberInput!) {
    removeWorkspaceMember(input: $input) { __typename ... on Error { code } }
  }
`);
const Leave = graphql(`
  mutation WsT_Leave($input: LeaveWorkspaceInput!) {
    leaveWorkspace(input: $input) { __typename ... on Error { code } }
  }
`);
const SetRole = graphql(`
  mutation WsT_SetRole($input: SetWorkspaceMemberRoleInput!) {
    setWorkspaceMemberRole(input: $input) {
      __typename
      ... on SetWorkspaceMemberRolePayload { member { role } }
      ... on Error { code }
    }
  }
`);
const SetPermission = graphql(`
  mutation WsT_SetPermission($input: SetWorkspacePermissionInput!) {
    setWorkspacePermission(input: $input) { __typename ... on Error { code message } }
  }
`);
const Invite = graphql(`
  mutation WsT_Invite($input: InviteToWorkspaceInput!) {
    inviteToWorkspace(input: $input) {
      __typename
      ... on InviteToWorkspacePayload { invitation { id email status sentCount } }
      ... on RateLimitedError { retryAfterSeconds }
      ... on Error { code }
    }
  }
`);
const Preview = graphql(`
  query WsT_Preview($token: String!) {
    invitation(token: $token) { kind email accountName workspaceName invitedByName }
  }
`);
const Accept = graphql(`
  mutation WsT_Accept($input: AcceptInvitationInput!) {
    acceptInvitation(input: $input) {
      __typename
      ... on AcceptInvitationPayload { workspace { name viewerRole } }
      ... on Error { code }
    }
  }
`);
const Decline = graphql(`
  mutation WsT_Decline($input: DeclineInvitationInput!) {
    declineInvitation(input: $input) { __typename ... on Error { code } }
  }
`);
const Revoke = graphql(`
  mutation WsT_Revoke($input: RevokeInvitationInput!) {
    revokeInvitation(input: $input) { __typename ... on RevokeInvitationPayload { invitation { status } } ... on Error { code } }
  }
`);
const Resend = graphql(`
  mutation WsT_Resend($input: ResendInvitationInput!) {
    resendInvitation(input: $input) { __typename ... on ResendInvitationPayload { invitation { sentCount } } ... on Error { code } }
  }
`);
const Explain = graphql(`
  query WsT_Explain($resourceId: ID!, $userId: ID) {
    explainAccess(resourceId: $resourceId, userId: $userId) {
      role
      decisions { question allowed reasons { rule effect detail } }
    }
  }
`);
const AuditLog = graphql(`
  query WsT_AuditLog($resourceId: ID!, $actorId: ID) {
    auditLog(resourceId: $resourceId, actorId: $actorId) { edges { node { action actor { email } data } } }
  }
`);
const Me = graphql(`
  query WsT_Me { me { id } }
`);

const ADMIN = 'admin@ws.test';
const OWNER = 'owner@ws.test';
const MEMBER = 'member@ws.test';
const OTHER = 'other@ws.test';
const OUTSIDER = 'outsider@elsewhere.test';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ env: { INVITATIONS_PER_HOUR: '4' } });
});
afterAll(async () => t?.close());

function payload<T extends { __typename?: string }>(value: T, typename: string): T {
  if (value.__typename !== typename) throw new Error(`expected ${typename}, got ${JSON.stringify(value)}`);
  return value;
}

async function userId(email: string) {
  return (await t.ok(Me, {}, email)).me?.id ?? '';
}

/**
 * An account with an admin, an owner, two members; an open, a closed and a private workspace made
 * by the owner. The invitees' domains are member domains, so members may invite them.
 */
async function world() {
  const created = payload(
    (await t.ok(CreateAccount, { input: { name: 'Acme' } }, ADMIN)).createAccount,
    'CreateAccountPayload',
  );
  const accountId = created.__typename === 'CreateAccountPayload' ? created.account.id : '';
  for (const email of [OWNER, MEMBER, OTHER]) {
    await t.ok(AddMember, { input: { accountId, email, role: 'MEMBER' } }, ADMIN);
  }
  await t.ok(SetPolicy, { input: { accountId, memberDomains: ['example.test', 'x.test'] } }, ADMIN);
  const ws = async (name: string, type: 'OPEN' | 'CLOSED' | 'PRIVATE') => {
    const r = (await t.ok(CreateWorkspace, { input: { accountId, name, type } }, OWNER)).createWorkspace;
    return r.__typename === 'CreateWorkspacePayload' ? r.workspace.id : '';
  };
  // Provision everyone first: a first token provisions its user, which is not the mutation's doing.
  for (const email of [OUTSIDER, 'new.person@example.test', 'a@x.test', 'b@x.test', 'c@x.test', 'd@x.test']) {
    await userId(email);
  }
  const open = await ws('Open', 'OPEN');
  const closed = await ws('Closed', 'CLOSED');
  const hidden = await ws('Private', 'PRIVATE');
  return { accountId, open, closed, hidden };
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

describe('account policy', () => {
  it('lets admins set it and refuses members, changing nothing', async () => {
    const { accountId } = await world();
    const set = await t.ok(
      SetPolicy,
      {
        input: {
          accountId,
          workspaceCreators: 'ADMINS_ONLY',
          externalSharing: false,
          caps: [{ action: 'CREATE_DOC', roles: ['ADMIN'] }],
        },
      },
      ADMIN,
    );
    const account = payload(set.setAccountPolicy, 'SetAccountPolicyPayload');
    expect(account).toMatchObject({ account: { workspaceCreators: 'ADMINS_ONLY', externalSharing: false } });
    if (account.__typename === 'SetAccountPolicyPayload') {
      expect(account.account.caps.find((c) => c.action === 'CREATE_DOC')?.roles).toEqual(['ADMIN']);
      expect(account.account.caps.find((c) => c.action === 'CREATE_MAIN_LIST')?.roles).toEqual(['ADMIN', 'MEMBER']);
    }
    const before = await snapshot(t);
    const byMember = await t.ok(SetPolicy, { input: { accountId, externalSharing: true } }, MEMBER);
    expect(byMember.setAccountPolicy).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
    const byOutsider = await t.ok(SetPolicy, { input: { accountId, externalSharing: true } }, OUTSIDER);
    expect(byOutsider.setAccountPolicy).toMatchObject({ __typename: 'NotFoundError' });
    expect(await snapshot(t)).toEqual(before);

    const created = await t.ok(CreateWorkspace, { input: { accountId, name: 'Nope' } }, MEMBER);
    expect(created.createWorkspace).toMatchObject({ __typename: 'ForbiddenError' });
  });
});

describe('workspaces', () => {
  it('are renamed and retyped by owners and admins only', async () => {
    const { open } = await world();
    const renamed = await t.ok(UpdateWorkspace, { input: { workspaceId: open, name: 'Sales' } }, OWNER);
    expect(renamed.updateWorkspace).toMatchObject({ workspace: { name: 'Sales', type: 'OPEN' } });
    const retyped = await t.ok(UpdateWorkspace, { input: { workspaceId: open, type: 'CLOSED' } }, ADMIN);
    expect(retyped.updateWorkspace).toMatchObject({ workspace: { name: 'Sales', type: 'CLOSED' } });
    const locked = await t.ok(UpdateWorkspace, { input: { workspaceId: open, name: 'Mine' } }, MEMBER);
    // Closed: listed to MEMBER with a lock, so they see it but may not change it.
    expect(locked.updateWorkspace).toMatchObject({ __typename: 'ForbiddenError' });
    await t.ok(UpdateWorkspace, { input: { workspaceId: open, type: 'PRIVATE' } }, ADMIN);

    const before = await snapshot(t);
    const byMember = await t.ok(UpdateWorkspace, { input: { workspaceId: open, name: 'Mine' } }, MEMBER);
    // Now private and MEMBER is not in it: it is invisible to them.
    expect(byMember.updateWorkspace).toMatchObject({ __typename: 'NotFoundError' });
    const empty = await t.ok(UpdateWorkspace, { input: { workspaceId: open, name: '  ' } }, OWNER);
    expect(empty.updateWorkspace).toMatchObject({ __typename: 'ValidationError' });
    expect(await snapshot(t)).toEqual(before);
  });

  it('keeps private workspaces invisible to non-members, exactly like ones that do not exist', async () => {
    const { accountId, hidden } = await world();
    const fake = Buffer.from('Workspace:00000000-0000-7000-8000-000000000000').toString('base64');
    const asMember = await t.gql(Workspace, { id: hidden }, MEMBER);
    const missing = await t.gql(Workspace, { id: fake }, MEMBER);
    expect(asMember).toEqual(missing);
    expect(asMember.data?.workspace).toBeNull();
    const list = await t.ok(Workspaces, { accountId }, MEMBER);
    expect(list.workspaces.edges.map((e) => e.node.name)).toEqual(['Open', 'Closed']);
    expect((await t.ok(Workspace, { id: hidden }, OWNER)).workspace?.name).toBe('Private');
  });

  it('are deleted by owners; then gone for everyone', async () => {
    const { hidden: closed } = await world();
    const before = await snapshot(t);
    expect((await t.ok(DeleteWorkspace, { input: { workspaceId: closed } }, MEMBER)).deleteWorkspace.__typename).toBe(
      'NotFoundError',
    );
    expect(await snapshot(t)).toEqual(before);
    expect((await t.ok(DeleteWorkspace, { input: { workspaceId: closed } }, OWNER)).deleteWorkspace.__typename).toBe(
      'DeleteWorkspacePayload',
    );
    expect((await t.ok(Workspace, { id: closed }, OWNER)).workspace).toBeNull();
  });

  it('shows admins every workspace in the content directory, and no one else', async () => {
    const { accountId } = await world();
    const dir = await t.ok(ContentDirectory, { accountId }, ADMIN);
    expect(dir.contentDirectory?.map((w) => [w.name, w.type])).toEqual([
      ['Open', 'OPEN'],
      ['Closed', 'CLOSED'],
      ['Private', 'PRIVATE'],
    ]);
    expect(dir.contentDirectory?.[1]?.members?.edges.map((e) => e.node.user.email)).toEqual([OWNER]);
    expect((await t.gql(ContentDirectory, { accountId }, MEMBER)).data?.contentDirectory).toBeNull();
  });
});

describe('membership', () => {
  it('open workspaces are joined instantly; closed ones are not', async () => {
    const { open, closed, hidden } = await world();
    expect((await t.ok(Join, { input: { workspaceId: open } }, MEMBER)).joinWorkspace).toMatchObject({
      member: { role: 'MEMBER' },
    });
    expect((await t.ok(Workspace, { id: open }, MEMBER)).workspace?.viewerRole).toBe('MEMBER');
    const before = await snapshot(t);
    expect((await t.ok(Join, { input: { workspaceId: open } }, MEMBER)).joinWorkspace.__typename).toBe(
      'ForbiddenError',
    );
    expect((await t.ok(Join, { input: { workspaceId: closed } }, OTHER)).joinWorkspace.__typename).toBe(
      'ForbiddenError',
    );
    expect((await t.ok(Join, { input: { workspaceId: hidden } }, OTHER)).joinWorkspace.__typename).toBe(
      'NotFoundError',
    );
    expect(await snapshot(t)).toEqual(before);
  });

  it('closed workspaces take requests that owners approve or decline', async () => {
    const { closed } = await world();
    // A member of the account who can see the closed workspace (an admin of it would be an owner):
    await t.ok(UpdateWorkspace, { input: { workspaceId: closed, type: 'OPEN' } }, OWNER);
    expect(
      (await t.ok(RequestJoin, { input: { workspaceId: closed } }, MEMBER)).requestToJoinWorkspace.__typename,
    ).toBe('ForbiddenError');
    await t.ok(UpdateWorkspace, { input: { workspaceId: closed, type: 'CLOSED' } }, OWNER);
    // Admins see closed workspaces; they may ask to join as members.
    const req = payload(
      (await t.ok(RequestJoin, { input: { workspaceId: closed, message: 'hi' } }, ADMIN)).requestToJoinWorkspace,
      'RequestToJoinWorkspacePayload',
    );
    const requestId = req.__typename === 'RequestToJoinWorkspacePayload' ? req.request.id : '';
    const again = await t.ok(RequestJoin, { input: { workspaceId: closed } }, ADMIN);
    expect(again.requestToJoinWorkspace).toMatchObject({ request: { id: requestId } });
    expect((await t.ok(Workspace, { id: closed }, OWNER)).workspace?.joinRequests?.map((r) => r.user.email)).toEqual([
      ADMIN,
    ]);

    expect((await t.ok(DecideJoin, { input: { requestId, approve: true } }, MEMBER)).decideJoinRequest.__typename).toBe(
      'NotFoundError',
    );
    expect((await t.ok(DecideJoin, { input: { requestId, approve: true } }, OWNER)).decideJoinRequest).toMatchObject({
      request: { status: 'APPROVED' },
    });
    expect((await t.ok(Workspace, { id: closed }, ADMIN)).workspace?.viewerRole).toBe('MEMBER');
    expect((await t.ok(DecideJoin, { input: { requestId, approve: false } }, OWNER)).decideJoinRequest.__typename).toBe(
      'ConflictError',
    );
  });

  it('never leaves a workspace without an owner', async () => {
    const { open } = await world();
    const ownerId = await userId(OWNER);
    const memberId = await userId(MEMBER);
    await t.ok(Join, { input: { workspaceId: open } }, MEMBER);
    const before = await snapshot(t);
    expect((await t.ok(Leave, { input: { workspaceId: open } }, OWNER)).leaveWorkspace.__typename).toBe(
      'LastOwnerError',
    );
    expect(
      (await t.ok(SetRole, { input: { workspaceId: open, userId: ownerId, role: 'MEMBER' } }, OWNER))
        .setWorkspaceMemberRole.__typename,
    ).toBe('LastOwnerError');
    expect(
      (await t.ok(Remove, { input: { workspaceId: open, userId: ownerId } }, ADMIN)).removeWorkspaceMember.__typename,
    ).toBe('LastOwnerError');
    expect(await snapshot(t)).toEqual(before);

    expect(
      (await t.ok(SetRole, { input: { workspaceId: open, userId: memberId, role: 'OWNER' } }, MEMBER))
        .setWorkspaceMemberRole.__typename,
    ).toBe('ForbiddenError');
    expect(
      (await t.ok(SetRole, { input: { workspaceId: open, userId: memberId, role: 'OWNER' } }, OWNER))
        .setWorkspaceMemberRole,
    ).toMatchObject({
      member: { role: 'OWNER' },
    });
    expect((await t.ok(Leave, { input: { workspaceId: open } }, OWNER)).leaveWorkspace.__typename).toBe(
      'LeaveWorkspacePayload',
    );
    expect(
      (await t.ok(Remove, { input: { workspaceId: open, userId: memberId } }, ADMIN)).removeWorkspaceMember.__typename,
    ).toBe('LastOwnerError');
  });

  it('removes members on an owner’s word only', async () => {
    const { open } = await world();
    const memberId = await userId(MEMBER);
    await t.ok(Join, { input: { workspaceId: open } }, MEMBER);
    await t.ok(Join, { input: { workspaceId: open } }, OTHER);
    expect(
      (await t.ok(Remove, { input: { workspaceId: open, userId: memberId } }, OTHER)).removeWorkspaceMember.__typename,
    ).toBe('ForbiddenError');
    expect(
      (await t.ok(Remove, { input: { workspaceId: open, userId: memberId } }, OWNER)).removeWorkspaceMember.__typename,
    ).toBe('RemoveWorkspaceMemberPayload');
    expect((await t.ok(Workspace, { id: open }, MEMBER)).workspace?.viewerRole).toBe('NON_MEMBER');
  });
});

describe('invitations', () => {
  it('invite → preview → accept joins the account and the workspace; the token is single use', async () => {
    const { closed } = await world();
    const invited = await t.ok(Invite, { input: { workspaceId: closed, email: 'New.Person@Example.test' } }, OWNER);
    expect(invited.inviteToWorkspace).toMatchObject({
      invitation: { email: 'new.person@example.test', status: 'PENDING' },
    });
    const token = await lastInvitationToken('new.person@example.test');
    const stored = await t.server.services.db.invitation.findFirstOrThrow({
      where: { email: 'new.person@example.test' },
    });
    expect(stored.tokenHash).not.toContain(token);

    expect((await t.gql(Preview, { token })).data?.invitation).toMatchObject({
      kind: 'WORKSPACE',
      accountName: 'Acme',
      workspaceName: 'Closed',
      invitedByName: OWNER,
    });
    expect((await t.gql(Preview, { token: 'nope' })).data?.invitation).toBeNull();

    const before = await snapshot(t);
    expect((await t.ok(Accept, { input: { token } }, OUTSIDER)).acceptInvitation.__typename).toBe('InvitationError');
    expect(await snapshot(t)).toEqual(before);
    expect((await t.ok(Accept, { input: { token } }, 'new.person@example.test')).acceptInvitation).toMatchObject({
      workspace: { name: 'Closed', viewerRole: 'MEMBER' },
    });
    expect((await t.ok(Accept, { input: { token } }, 'new.person@example.test')).acceptInvitation.__typename).toBe(
      'InvitationError',
    );
    expect((await t.gql(Preview, { token })).data?.invitation).toBeNull();
  });

  it('revoked, declined and expired invitations do not open', async () => {
    const { closed } = await world();
    const a = payload(
      (await t.ok(Invite, { input: { workspaceId: closed, email: 'a@x.test' } }, OWNER)).inviteToWorkspace,
      'InviteToWorkspacePayload',
    );
    const tokenA = await lastInvitationToken('a@x.test');
    const idA = a.__typename === 'InviteToWorkspacePayload' ? a.invitation.id : '';
    expect((await t.ok(Revoke, { input: { invitationId: idA } }, MEMBER)).revokeInvitation.__typename).toBe(
      'NotFoundError',
    );
    expect((await t.ok(Revoke, { input: { invitationId: idA } }, OWNER)).revokeInvitation).toMatchObject({
      invitation: { status: 'REVOKED' },
    });
    expect((await t.ok(Accept, { input: { token: tokenA } }, 'a@x.test')).acceptInvitation.__typename).toBe(
      'InvitationError',
    );

    await t.ok(Invite, { input: { workspaceId: closed, email: 'b@x.test' } }, OWNER);
    const tokenB = await lastInvitationToken('b@x.test');
    expect((await t.ok(Decline, { input: { token: tokenB } }, 'b@x.test')).declineInvitation.__typename).toBe(
      'DeclineInvitationPayload',
    );
    expect((await t.ok(Accept, { input: { token: tokenB } }, 'b@x.test')).acceptInvitation.__typename).toBe(
      'InvitationError',
    );

    await t.ok(Invite, { input: { workspaceId: closed, email: 'c@x.test' } }, OWNER);
    const tokenC = await lastInvitationToken('c@x.test');
    await t.server.services.db.invitation.updateMany({
      where: { email: 'c@x.test' },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect((await t.ok(Accept, { input: { token: tokenC } }, 'c@x.test')).acceptInvitation.__typename).toBe(
      'InvitationError',
    );
  });

  it('resending replaces the link; inviting members is refused; invitations are rate limited per inviter', async () => {
    const { closed, open } = await world();
    const first = payload(
      (await t.ok(Invite, { input: { workspaceId: closed, email: 'd@x.test' } }, ADMIN)).inviteToWorkspace,
      'InviteToWorkspacePayload',
    );
    const old = await lastInvitationToken('d@x.test');
    const id = first.__typename === 'InviteToWorkspacePayload' ? first.invitation.id : '';
    expect((await t.ok(Resend, { input: { invitationId: id } }, ADMIN)).resendInvitation).toMatchObject({
      invitation: { sentCount: 2 },
    });
    const fresh = await lastInvitationToken('d@x.test');
    expect(fresh).not.toBe(old);
    expect((await t.ok(Accept, { input: { token: old } }, 'd@x.test')).acceptInvitation.__typename).toBe(
      'InvitationError',
    );
    expect((await t.ok(Accept, { input: { token: fresh } }, 'd@x.test')).acceptInvitation.__typename).toBe(
      'AcceptInvitationPayload',
    );

    expect(
      (await t.ok(Invite, { input: { workspaceId: closed, email: OWNER } }, ADMIN)).inviteToWorkspace.__typename,
    ).toBe('ConflictError');
    // MEMBER sees the open workspace without being in it: non-members may not invite.
    expect(
      (await t.ok(Invite, { input: { workspaceId: open, email: 'e@x.test', role: 'OWNER' } }, MEMBER)).inviteToWorkspace
        .__typename,
    ).toBe('ForbiddenError');

    // ADMIN sent 2 (create + resend) this hour in this test; the limit is 4.
    await t.ok(Invite, { input: { workspaceId: closed, email: 'f@x.test' } }, ADMIN);
    await t.ok(Invite, { input: { workspaceId: closed, email: 'g@x.test' } }, ADMIN);
    const before = await snapshot(t);
    const limited = await t.ok(Invite, { input: { workspaceId: closed, email: 'h@x.test' } }, ADMIN);
    expect(limited.inviteToWorkspace).toMatchObject({ __typename: 'RateLimitedError', code: 'RATE_LIMITED' });
    if (limited.inviteToWorkspace.__typename === 'RateLimitedError') {
      expect(limited.inviteToWorkspace.retryAfterSeconds).toBeGreaterThan(0);
    }
    expect(await snapshot(t)).toEqual(before);
  });
});

describe('workspace permissions', () => {
  it('are set by owners, can only be stricter than the account, and show setting and effect', async () => {
    const { accountId, open } = await world();
    await t.ok(Join, { input: { workspaceId: open } }, MEMBER);
    await t.ok(SetPolicy, { input: { accountId, caps: [{ action: 'CREATE_DOC', roles: ['ADMIN'] }] } }, ADMIN);

    const before = await snapshot(t);
    const capped = await t.ok(
      SetPermission,
      { input: { workspaceId: open, role: 'MEMBER', action: 'CREATE_DOC', allowed: true } },
      OWNER,
    );
    expect(capped.setWorkspacePermission).toMatchObject({
      __typename: 'CappedByAccountPolicy',
      code: 'CAPPED_BY_ACCOUNT_POLICY',
    });
    const byMember = await t.ok(
      SetPermission,
      { input: { workspaceId: open, role: 'MEMBER', action: 'COMMENT', allowed: false } },
      MEMBER,
    );
    expect(byMember.setWorkspacePermission.__typename).toBe('ForbiddenError');
    expect(await snapshot(t)).toEqual(before);

    const stricter = await t.ok(
      SetPermission,
      { input: { workspaceId: open, role: 'MEMBER', action: 'CREATE_MAIN_LIST', allowed: false } },
      OWNER,
    );
    expect(stricter.setWorkspacePermission.__typename).toBe('SetWorkspacePermissionPayload');

    const ws = (await t.ok(Workspace, { id: open }, MEMBER)).workspace;
    const cell = (role: string, action: string) => ws?.permissions?.find((p) => p.role === role && p.action === action);
    expect(cell('MEMBER', 'CREATE_MAIN_LIST')).toMatchObject({
      setting: false,
      effective: false,
      cappedByAccount: false,
    });
    expect(cell('MEMBER', 'CREATE_DOC')).toMatchObject({ setting: true, effective: false, cappedByAccount: true });
    expect(cell('OWNER', 'CREATE_MAIN_LIST')).toMatchObject({ setting: true, effective: true });
    expect(cell('NON_MEMBER', 'COMMENT')).toMatchObject({ setting: true, effective: true });
    expect(ws?.viewerCan).not.toContain('CREATE_MAIN_LIST');
    expect(ws?.viewerCan).not.toContain('CREATE_DOC');
    expect(ws?.viewerCan).toContain('CREATE_SHAREABLE_LIST');
    expect(ws?.viewerCanManage).toBe(false);
    expect((await t.ok(Workspace, { id: open }, OWNER)).workspace?.viewerCan).toContain('CREATE_MAIN_LIST');

    const explained = await t.ok(Explain, { resourceId: open, userId: await userId(MEMBER) }, OWNER);
    const doc = explained.explainAccess?.decisions.find((d) => d.question === 'CREATE_DOC');
    expect(doc?.allowed).toBe(false);
    expect(doc?.reasons.map((r) => [r.rule, r.effect])).toEqual(
      expect.arrayContaining([
        ['workspace.rule', 'ALLOW'],
        ['account.cap', 'CAP'],
      ]),
    );
    expect(explained.explainAccess?.role).toBe('MEMBER');
    expect(
      (await t.gql(Explain, { resourceId: open, userId: await userId(OWNER) }, MEMBER)).data?.explainAccess,
    ).toBeNull();
    expect((await t.ok(Explain, { resourceId: open }, MEMBER)).explainAccess?.role).toBe('MEMBER');
  });
});

describe('audit', () => {
  it('records every change in its transaction, readable by owners and admins, filterable by actor', async () => {
    const { open } = await world();
    await t.ok(Join, { input: { workspaceId: open } }, MEMBER);
    await t.ok(UpdateWorkspace, { input: { workspaceId: open, name: 'Renamed' } }, OWNER);
    await t.ok(
      SetPermission,
      { input: { workspaceId: open, role: 'MEMBER', action: 'COMMENT', allowed: false } },
      OWNER,
    );
    const log = await t.ok(AuditLog, { resourceId: open }, OWNER);
    expect(log.auditLog?.edges.map((e) => [e.node.action, e.node.actor?.email])).toEqual([
      ['workspace.permission', OWNER],
      ['workspace.rename', OWNER],
      ['member.join', MEMBER],
      ['workspace.create', OWNER],
    ]);
    const byMember = await t.ok(AuditLog, { resourceId: open, actorId: await userId(MEMBER) }, ADMIN);
    expect(byMember.auditLog?.edges.map((e) => e.node.action)).toEqual(['member.join']);
    expect((await t.gql(AuditLog, { resourceId: open }, MEMBER)).data?.auditLog).toBeNull();
  });
});

describe('invitation mail over SMTP', () => {
  it('reaches a real SMTP server with the token link', async () => {
    const smtp = await smtpServer();
    const mailed = await startTestServer({
      env: { SMTP_URL: smtp.url, PUBLIC_URL: 'https://app.example.test' },
    });
    try {
      const r = (await mailed.ok(CreateAccount, { input: { name: 'Mail' } }, ADMIN)).createAccount;
      const accountId = r.__typename === 'CreateAccountPayload' ? r.account.id : '';
      const w = (await mailed.ok(CreateWorkspace, { input: { accountId, name: 'Team' } }, ADMIN)).createWorkspace;
      const workspaceId = w.__typename === 'CreateWorkspacePayload' ? w.workspace.id : '';
      await mailed.ok(Invite, { input: { workspaceId, email: 'smtp@x.test' } }, ADMIN);
      expect(smtp.received).toHaveLength(1);
      const link = /https:\/\/app\.example\.test\/invitations\/([A-Za-z0-9_-]+)/.exec(smtp.received[0]?.data ?? '');
      expect(link?.[1]).toBeTruthy();
      const accepted = await mailed.ok(Accept, { input: { token: link?.[1] ?? '' } }, 'smtp@x.test');
      expect(accepted.acceptInvitation.__typename).toBe('AcceptInvitationPayload');
      const outbox = await mailed.server.services.db.mailOutbox.findMany();
      expect(outbox.map((m) => m.status)).toEqual(['SENT']);
    } finally {
      await mailed.close();
      await smtp.close();
    }
  });
});
