import { decodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ShareList = graphql(`
  mutation StShareList($input: ShareListInput!) {
    shareList(input: $input) {
      __typename
      ... on ShareListPayload { share { id role email user { email } } }
      ... on ValidationError { path }
      ... on Error { code message }
    }
  }
`);
const UpdateShare = graphql(`
  mutation StUpdateShare($input: UpdateShareInput!) {
    updateShare(input: $input) {
      __typename
      ... on UpdateSharePayload { share { id role } }
      ... on Error { code message }
    }
  }
`);
const RemoveShare = graphql(`
  mutation StRemoveShare($input: RemoveShareInput!) {
    removeShare(input: $input) {
      __typename
      ... on RemoveSharePayload { list { shares { id } } }
      ... on Error { code message }
    }
  }
`);
const CreateGroup = graphql(`
  mutation StCreateGroup($input: CreateGroupInput!) {
    createGroup(input: $input) {
      __typename
      ... on CreateGroupPayload { group { id name parent { id } } }
      ... on Error { code message }
    }
  }
`);
const AddGroupMember = graphql(`
  mutation StAddGroupMember($input: AddGroupMemberInput!) {
    addGroupMember(input: $input) {
      __typename
      ... on AddGroupMemberPayload { group { members { email } } }
      ... on Error { code message }
    }
  }
`);
const CreateRight = graphql(`
  mutation StCreateRight($input: CreateRightInput!) {
    createRight(input: $input) {
      __typename
      ... on CreateRightPayload { right { id } }
      ... on Error { code message }
    }
  }
`);
const GrantRight = graphql(`
  mutation StGrantRight($input: GrantRightInput!) {
    grantRight(input: $input) {
      __typename
      ... on GrantRightPayload { right { holders { email } } }
      ... on Error { code message }
    }
  }
`);
const ListRole = graphql(`
  query StListRole($id: ID!) { list(id: $id) { id viewerRole shares { id role } } }
`);
const SharedWithMe = graphql(`
  query StSharedWithMe { sharedWithMe(first: 10) { edges { node { id name viewerRole workspace { name } } } } }
`);
const AcceptInvitation = graphql(`
  mutation StAcceptInvitation($input: AcceptInvitationInput!) {
    acceptInvitation(input: $input) { __typename ... on Error { code message } }
  }
`);
const Account = graphql(`
  query StAccount($id: ID!) { account(id: $id) { id } }
`);

const ADMIN = 'admin@share.test';
const LEAD = 'lead@share.test';
const ALICE = 'alice@share.test';
const BOB = 'bob@share.test';
const CAROL = 'carol@share.test';
const PARTNER = 'partner@partner.test';
const STRANGER = 'stranger@elsewhere.test';

let t: TestServer;
let h: ReturnType<typeof listHelpers>;
let accountId: string;
let wsId: string;
beforeAll(async () => {
  t = await startTestServer();
  h = listHelpers(t);
  accountId = await h.account(ADMIN, [LEAD, ALICE, BOB, CAROL]);
  await h.account(STRANGER);
  wsId = (await h.workspace(accountId, LEAD, 'PRIVATE', [ADMIN])).id;
});
afterAll(async () => {
  await t?.close();
});

describe('shares to users', () => {
  it('applies at once, is audited, and can be changed and removed by a co-owner', async () => {
    const listId = await h.list(wsId, LEAD, 'SHAREABLE');
    const before = await h.rows();
    const res = await t.ok(ShareList, { input: { listId, role: 'EDITOR', userId: await h.userId(ALICE) } }, LEAD);
    expect(res.shareList).toMatchObject({ share: { role: 'EDITOR', user: { email: ALICE } } });
    expect(await h.rows()).toEqual({ ...before, shares: before.shares + 1, audit: before.audit + 1 });
    expect((await t.ok(ListRole, { id: listId }, ALICE)).list?.viewerRole).toBe('EDITOR');
    if (res.shareList.__typename !== 'ShareListPayload') throw new Error('no share');
    const shareId = res.shareList.share.id;

    const again = await t.ok(ShareList, { input: { listId, role: 'VIEWER', userId: await h.userId(ALICE) } }, LEAD);
    expect(again.shareList).toMatchObject({ __typename: 'ConflictError' });

    await h.share(LEAD, { listId, role: 'CO_OWNER', userId: await h.userId(BOB) });
    const up = await t.ok(UpdateShare, { input: { shareId, role: 'VIEWER' } }, BOB);
    expect(up.updateShare).toMatchObject({ share: { role: 'VIEWER' } });
    expect((await t.ok(ListRole, { id: listId }, ALICE)).list?.viewerRole).toBe('VIEWER');

    const byViewer = await t.ok(RemoveShare, { input: { shareId } }, ALICE);
    expect(byViewer.removeShare).toMatchObject({ __typename: 'ForbiddenError' });
    const removed = await t.ok(RemoveShare, { input: { shareId } }, BOB);
    expect(removed.removeShare.__typename).toBe('RemoveSharePayload');
    expect((await t.ok(ListRole, { id: listId }, ALICE)).list).toBeNull();
    const audit = await t.server.services.db.auditEvent.findMany({
      where: { action: { startsWith: 'share.' }, data: { path: ['listId'], equals: decodeGlobalID(listId).id } },
      orderBy: { id: 'asc' },
    });
    expect(audit.map((a) => a.action)).toEqual(['share.create', 'share.create', 'share.update', 'share.remove']);
  });

  it('editors cannot share; co-owners cannot change the creator; nobody is made creator', async () => {
    const listId = await h.list(wsId, LEAD, 'SHAREABLE');
    await h.share(LEAD, { listId, role: 'EDITOR', userId: await h.userId(ALICE) });
    await h.share(LEAD, { listId, role: 'CO_OWNER', userId: await h.userId(BOB) });
    const before = await h.rows();
    const byEditor = await t.ok(ShareList, { input: { listId, role: 'VIEWER', userId: await h.userId(CAROL) } }, ALICE);
    expect(byEditor.shareList).toMatchObject({ __typename: 'ForbiddenError' });
    const creator = await t.ok(ShareList, { input: { listId, role: 'VIEWER', userId: await h.userId(LEAD) } }, BOB);
    expect(creator.shareList).toMatchObject({
      __typename: 'ForbiddenError',
      message: expect.stringMatching(/creator/),
    });
    const asCreator = await t.ok(ShareList, { input: { listId, role: 'CREATOR', userId: await h.userId(CAROL) } }, BOB);
    expect(asCreator.shareList).toMatchObject({ __typename: 'ForbiddenError' });
    expect(await h.rows()).toEqual(before);
    expect((await t.ok(ListRole, { id: listId }, LEAD)).list?.viewerRole).toBe('CREATOR');
  });

  it('a non-admin shares only inside the account; an admin is at least co-owner and unlimited', async () => {
    const listId = await h.list(wsId, LEAD, 'MAIN');
    const stranger = await h.userId(STRANGER);
    const before = await h.rows();
    const res = await t.ok(ShareList, { input: { listId, role: 'VIEWER', userId: stranger } }, LEAD);
    // Someone the co-owner cannot see is, to them, no one: the answer of a random id.
    expect(res.shareList).toMatchObject({ __typename: 'NotFoundError', message: 'The user was not found' });
    expect(await h.rows()).toEqual(before);
    expect((await t.ok(ListRole, { id: listId }, ADMIN)).list?.viewerRole).toBe('CO_OWNER');
    const byAdmin = await t.ok(ShareList, { input: { listId, role: 'VIEWER', userId: stranger } }, ADMIN);
    expect(byAdmin.shareList.__typename).toBe('ShareListPayload');
    expect((await t.ok(ListRole, { id: listId }, STRANGER)).list?.viewerRole).toBe('VIEWER');
  });

  it('names exactly one principal, or fails validation writing nothing', async () => {
    const listId = await h.list(wsId, LEAD, 'SHAREABLE');
    const before = await h.rows();
    const two = await t.ok(
      ShareList,
      { input: { listId, role: 'VIEWER', userId: await h.userId(ALICE), email: 'x@y.test' } },
      LEAD,
    );
    expect(two.shareList).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION' });
    const none = await t.ok(ShareList, { input: { listId, role: 'VIEWER' } }, LEAD);
    expect(none.shareList).toMatchObject({ __typename: 'ValidationError' });
    const badEmail = await t.ok(ShareList, { input: { listId, role: 'VIEWER', email: 'not-an-email' } }, LEAD);
    expect(badEmail.shareList).toMatchObject({ __typename: 'ValidationError', path: ['input', 'email'] });
    expect(await h.rows()).toEqual(before);
  });
});

describe('groups and rights', () => {
  it('a group share reaches direct members only, not members of its subgroups', async () => {
    const group = await t.ok(CreateGroup, { input: { accountId, name: 'Sales' } }, ADMIN);
    if (group.createGroup.__typename !== 'CreateGroupPayload') throw new Error('no group');
    const groupId = group.createGroup.group.id;
    const sub = await t.ok(CreateGroup, { input: { accountId, name: 'Sales EMEA', parentId: groupId } }, ADMIN);
    if (sub.createGroup.__typename !== 'CreateGroupPayload') throw new Error('no subgroup');
    expect(sub.createGroup.group.parent?.id).toBe(groupId);
    const added = await t.ok(AddGroupMember, { input: { groupId, userId: await h.userId(ALICE) } }, ADMIN);
    expect(added.addGroupMember).toMatchObject({ group: { members: [{ email: ALICE }] } });
    await t.ok(AddGroupMember, { input: { groupId: sub.createGroup.group.id, userId: await h.userId(BOB) } }, ADMIN);
    const byMember = await t.ok(CreateGroup, { input: { accountId, name: 'Mine' } }, LEAD);
    expect(byMember.createGroup).toMatchObject({ __typename: 'ForbiddenError' });

    const listId = await h.list(wsId, LEAD, 'SHAREABLE');
    await h.share(LEAD, { listId, role: 'EDITOR', groupId });
    expect((await t.ok(ListRole, { id: listId }, ALICE)).list?.viewerRole).toBe('EDITOR');
    expect((await t.ok(ListRole, { id: listId }, BOB)).list).toBeNull();
  });

  it('a right share reaches its holders; non-admins share only rights they hold', async () => {
    const right = await t.ok(CreateRight, { input: { accountId, name: 'Finance' } }, ADMIN);
    if (right.createRight.__typename !== 'CreateRightPayload') throw new Error('no right');
    const rightId = right.createRight.right.id;
    const granted = await t.ok(GrantRight, { input: { rightId, userId: await h.userId(CAROL) } }, ADMIN);
    expect(granted.grantRight).toMatchObject({ right: { holders: [{ email: CAROL }] } });

    const listId = await h.list(wsId, LEAD, 'SHAREABLE');
    const before = await h.rows();
    const lacking = await t.ok(ShareList, { input: { listId, role: 'VIEWER', rightId } }, LEAD);
    expect(lacking.shareList).toMatchObject({ __typename: 'ForbiddenError' });
    expect(await h.rows()).toEqual(before);
    expect((await t.ok(ListRole, { id: listId }, CAROL)).list).toBeNull();

    await t.ok(GrantRight, { input: { rightId, userId: await h.userId(LEAD) } }, ADMIN);
    await h.share(LEAD, { listId, role: 'VIEWER', rightId });
    expect((await t.ok(ListRole, { id: listId }, CAROL)).list?.viewerRole).toBe('VIEWER');
    expect((await t.ok(ListRole, { id: listId }, ALICE)).list).toBeNull();
  });
});

describe('external people', () => {
  it('an email share invites; accepting makes a guest who finds the list in sharedWithMe and nothing else', async () => {
    const mainList = await h.list(wsId, LEAD, 'MAIN', 'Internal');
    const before = await h.rows();
    const onMain = await t.ok(ShareList, { input: { listId: mainList, role: 'VIEWER', email: PARTNER } }, LEAD);
    expect(onMain.shareList).toMatchObject({ __typename: 'ForbiddenError' });
    expect(await h.rows()).toEqual(before);

    const listId = await h.list(wsId, LEAD, 'SHAREABLE', 'Partner deals');
    const res = await t.ok(ShareList, { input: { listId, role: 'EDITOR', email: 'Partner@Partner.test' } }, LEAD);
    expect(res.shareList).toMatchObject({ share: { role: 'EDITOR', email: PARTNER, user: null } });
    const db = t.server.services.db;
    const invitation = await db.invitation.findFirstOrThrow({ where: { email: PARTNER, kind: 'LIST_SHARE' } });
    expect(invitation).toMatchObject({ listRole: 'EDITOR', status: 'PENDING', listId: decodeGlobalID(listId).id });
    const mail = await db.mailOutbox.findFirstOrThrow({ where: { to: PARTNER } });
    const token = mail.text.match(/\/invitations\/([\w-]+)/)?.[1];
    expect(mail.text).toContain(`${t.config.publicUrl}/invitations/`);
    expect(token).toBeTruthy();

    expect((await t.ok(ListRole, { id: listId }, PARTNER)).list).toBeNull();
    const accepted = await t.ok(AcceptInvitation, { input: { token: token ?? '' } }, PARTNER);
    expect(accepted.acceptInvitation.__typename).toBe('AcceptInvitationPayload');

    const shared = await t.ok(SharedWithMe, {}, PARTNER);
    expect(shared.sharedWithMe.edges.map((e) => [e.node.name, e.node.viewerRole, e.node.workspace.name])).toEqual([
      ['Partner deals', 'EDITOR', 'WS PRIVATE'],
    ]);
    // A guest: the list, nothing else of the account.
    expect((await t.ok(Account, { id: accountId }, PARTNER)).account).toBeNull();
    expect((await t.ok(ListRole, { id: mainList }, PARTNER)).list).toBeNull();
    const role = await db.accountMember.findFirstOrThrow({ where: { user: { email: PARTNER } } });
    expect(role.role).toBe('GUEST');
  });

  it('sharedWithMe is newest first and leaves out the viewer’s own workspaces', async () => {
    const first = await h.list(wsId, LEAD, 'SHAREABLE', 'Older');
    const second = await h.list(wsId, LEAD, 'SHAREABLE', 'Newer');
    await h.share(ADMIN, { listId: first, role: 'VIEWER', userId: await h.userId(STRANGER) });
    await h.share(ADMIN, { listId: second, role: 'VIEWER', userId: await h.userId(STRANGER) });
    const names = (await t.ok(SharedWithMe, {}, STRANGER)).sharedWithMe.edges.map((e) => e.node.name);
    expect(names.slice(0, 2)).toEqual(['Newer', 'Older']);
    expect((await t.ok(SharedWithMe, {}, LEAD)).sharedWithMe.edges).toEqual([]);
  });

  it('refuses external sharing when the account forbids it', async () => {
    const listId = await h.list(wsId, LEAD, 'SHAREABLE');
    await t.server.services.db.account.update({
      where: { id: decodeGlobalID(accountId).id },
      data: { externalSharing: false },
    });
    const before = await h.rows();
    const res = await t.ok(ShareList, { input: { listId, role: 'VIEWER', email: 'other@partner.test' } }, LEAD);
    expect(res.shareList).toMatchObject({ __typename: 'ForbiddenError' });
    expect(await h.rows()).toEqual(before);
    await t.server.services.db.account.update({
      where: { id: decodeGlobalID(accountId).id },
      data: { externalSharing: true },
    });
  });
});
