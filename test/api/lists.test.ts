import { decodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CreateList = graphql(`
  mutation LtCreateList($input: CreateListInput!) {
    createList(input: $input) {
      __typename
      ... on CreateListPayload { list { id name kind generalAccess generalRole viewerRole workspace { id } } }
      ... on ValidationError { path }
      ... on Error { code message }
    }
  }
`);
const UpdateList = graphql(`
  mutation LtUpdateList($input: UpdateListInput!) {
    updateList(input: $input) {
      __typename
      ... on UpdateListPayload { list { id name } }
      ... on Error { code message }
    }
  }
`);
const DeleteList = graphql(`
  mutation LtDeleteList($input: DeleteListInput!) {
    deleteList(input: $input) {
      __typename
      ... on DeleteListPayload { listId }
      ... on Error { code message }
    }
  }
`);
const CopyList = graphql(`
  mutation LtCopyList($input: CopyListInput!) {
    copyList(input: $input) {
      __typename
      ... on CopyListPayload { list { id name viewerRole items { edges { node { title } } } } }
      ... on Error { code message }
    }
  }
`);
const SetGeneralAccess = graphql(`
  mutation LtSetGeneralAccess($input: SetListGeneralAccessInput!) {
    setListGeneralAccess(input: $input) {
      __typename
      ... on SetListGeneralAccessPayload { list { id generalAccess generalRole linkToken } }
      ... on Error { code message }
    }
  }
`);
const RotateLink = graphql(`
  mutation LtRotateLink($input: RotateListLinkInput!) {
    rotateListLink(input: $input) {
      __typename
      ... on RotateListLinkPayload { list { linkToken } }
      ... on Error { code message }
    }
  }
`);
const GetList = graphql(`
  query LtGetList($id: ID!, $linkToken: String) {
    list(id: $id, linkToken: $linkToken) {
      id name viewerRole linkToken
      shares { id role }
      workspace { name members { edges { node { role } } } }
      items(first: 10) { edges { node { title } } }
    }
  }
`);
const ListNode = graphql(`
  query LtListNode($id: ID!) {
    node(id: $id) { __typename id ... on List { name viewerRole } }
  }
`);
const CreateItem = graphql(`
  mutation LtCreateItem($input: CreateItemInput!) {
    createItem(input: $input) {
      __typename
      ... on CreateItemPayload { item { id } }
      ... on Error { code message }
    }
  }
`);
const WorkspaceLists = graphql(`
  query LtWorkspaceLists($id: ID!, $first: Int, $after: String) {
    workspace(id: $id) {
      name
      lists(first: $first, after: $after) {
        edges { node { id name } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`);
const Explain = graphql(`
  query LtExplain($resourceId: ID!, $userId: ID) {
    explainAccess(resourceId: $resourceId, userId: $userId) {
      role
      decisions { question allowed reasons { rule effect } }
    }
  }
`);

const ADMIN = 'admin@lists.test';
const OWNER = 'owner@lists.test';
const MEMBER = 'member@lists.test';
const OTHER = 'other@lists.test';
const OUTSIDER = 'outsider@elsewhere.test';

let t: TestServer;
let h: ReturnType<typeof listHelpers>;
let accountId: string;
beforeAll(async () => {
  t = await startTestServer();
  h = listHelpers(t);
  accountId = await h.account(ADMIN, [OWNER, MEMBER, OTHER]);
});
afterAll(async () => {
  await t?.close();
});

describe('createList', () => {
  it('creates a MAIN list shared with the workspace, audited', async () => {
    const ws = await h.workspace(accountId, OWNER, 'OPEN');
    const before = await h.rows();
    const res = await t.ok(CreateList, { input: { workspaceId: ws.id, name: ' Deals ' } }, OWNER);
    expect(res.createList).toMatchObject({
      __typename: 'CreateListPayload',
      list: { name: 'Deals', kind: 'MAIN', generalAccess: 'WORKSPACE', generalRole: 'EDITOR', viewerRole: 'CREATOR' },
    });
    const after = await h.rows();
    expect(after).toEqual({ ...before, lists: before.lists + 1, audit: before.audit + 1 });
    if (res.createList.__typename !== 'CreateListPayload') throw new Error('no list');
    // The open workspace's audience: an account member who never joined it.
    const asMember = await t.ok(GetList, { id: res.createList.list.id }, MEMBER);
    expect(asMember.list?.viewerRole).toBe('EDITOR');
    expect((await t.gql(GetList, { id: res.createList.list.id }, OUTSIDER)).data?.list).toBeNull();
  });

  it('makes SHAREABLE and PRIVATE lists restricted', async () => {
    const ws = await h.workspace(accountId, OWNER, 'OPEN');
    for (const kind of ['SHAREABLE', 'PRIVATE'] as const) {
      const res = await t.ok(CreateList, { input: { workspaceId: ws.id, name: kind, kind } }, OWNER);
      expect(res.createList).toMatchObject({ list: { kind, generalAccess: 'RESTRICTED', viewerRole: 'CREATOR' } });
      if (res.createList.__typename !== 'CreateListPayload') throw new Error('no list');
      expect((await t.gql(GetList, { id: res.createList.list.id }, MEMBER)).data?.list).toBeNull();
    }
  });

  it('refuses an empty name with a ValidationError, writing nothing', async () => {
    const ws = await h.workspace(accountId, OWNER, 'OPEN');
    const before = await h.rows();
    const res = await t.ok(CreateList, { input: { workspaceId: ws.id, name: '  ' } }, OWNER);
    expect(res.createList).toMatchObject({ __typename: 'ValidationError', path: ['input', 'name'] });
    expect(await h.rows()).toEqual(before);
  });

  it('follows the workspace permission and the account cap for each kind', async () => {
    const ws = await h.workspace(accountId, OWNER, 'OPEN', [MEMBER]);
    const db = t.server.services.db;
    await db.workspacePermission.create({
      data: { workspaceId: ws.dbId, audience: 'MEMBER', action: 'CREATE_PRIVATE_LIST', allowed: false },
    });
    const before = await h.rows();
    const denied = await t.ok(CreateList, { input: { workspaceId: ws.id, name: 'Mine', kind: 'PRIVATE' } }, MEMBER);
    expect(denied.createList).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
    expect(await h.rows()).toEqual(before);
    const main = await t.ok(CreateList, { input: { workspaceId: ws.id, name: 'Ours', kind: 'MAIN' } }, MEMBER);
    expect(main.createList.__typename).toBe('CreateListPayload');

    await db.accountActionCap.create({
      data: {
        accountId: decodeGlobalID(accountId).id,
        action: 'CREATE_SHAREABLE_LIST',
        role: 'MEMBER',
        allowed: false,
      },
    });
    const capped = await t.ok(CreateList, { input: { workspaceId: ws.id, name: 'Out', kind: 'SHAREABLE' } }, OWNER);
    expect(capped.createList).toMatchObject({ __typename: 'ForbiddenError' });
    await db.accountActionCap.deleteMany({});
  });

  it('answers NOT_FOUND for a workspace the viewer cannot see', async () => {
    const ws = await h.workspace(accountId, OWNER, 'PRIVATE');
    const res = await t.ok(CreateList, { input: { workspaceId: ws.id, name: 'X' } }, MEMBER);
    expect(res.createList).toMatchObject({ __typename: 'NotFoundError' });
  });
});

describe('roles on a list', () => {
  let listId: string;
  beforeAll(async () => {
    const ws = await h.workspace(accountId, OWNER, 'PRIVATE', [ADMIN]);
    listId = await h.list(ws.id, OWNER, 'SHAREABLE');
    await h.share(OWNER, { listId, role: 'VIEWER', userId: await h.userId(MEMBER) });
    await h.share(OWNER, { listId, role: 'EDITOR', userId: await h.userId(OTHER) });
    await t.ok(CreateItem, { input: { listId, title: 'First deal' } }, OWNER);
  });

  it('a viewer reads but cannot edit, comment, copy or delete', async () => {
    const read = await t.ok(GetList, { id: listId }, MEMBER);
    expect(read.list).toMatchObject({ viewerRole: 'VIEWER', items: { edges: [{ node: { title: 'First deal' } }] } });
    const before = await h.rows();
    expect((await t.ok(UpdateList, { input: { listId, name: 'Mine' } }, MEMBER)).updateList).toMatchObject({
      __typename: 'ForbiddenError',
    });
    expect((await t.ok(CreateItem, { input: { listId, title: 'x' } }, MEMBER)).createItem).toMatchObject({
      __typename: 'ForbiddenError',
    });
    expect((await t.ok(CopyList, { input: { listId } }, MEMBER)).copyList).toMatchObject({
      __typename: 'ForbiddenError',
    });
    expect((await t.ok(DeleteList, { input: { listId } }, MEMBER)).deleteList).toMatchObject({
      __typename: 'ForbiddenError',
    });
    expect(await h.rows()).toEqual(before);
  });

  it('an editor renames and copies but cannot share or delete', async () => {
    const renamed = await t.ok(UpdateList, { input: { listId, name: 'Pipeline 2' } }, OTHER);
    expect(renamed.updateList).toMatchObject({ list: { name: 'Pipeline 2' } });
    const before = await h.rows();
    const share = await t.ok(
      graphql(`
        mutation LtEditorShares($input: ShareListInput!) { shareList(input: $input) { __typename } }
      `),
      { input: { listId, role: 'VIEWER', userId: await h.userId(ADMIN) } },
      OTHER,
    );
    expect(share.shareList.__typename).toBe('ForbiddenError');
    expect((await t.ok(DeleteList, { input: { listId } }, OTHER)).deleteList).toMatchObject({
      __typename: 'ForbiddenError',
    });
    expect(
      (await t.ok(SetGeneralAccess, { input: { listId, access: 'WORKSPACE' } }, OTHER)).setListGeneralAccess,
    ).toMatchObject({ __typename: 'ForbiddenError' });
    expect(await h.rows()).toEqual(before);
    // Copying needs CREATE_SHAREABLE_LIST in the workspace, which a NON_MEMBER lacks by default.
    expect((await t.ok(CopyList, { input: { listId } }, OTHER)).copyList).toMatchObject({
      __typename: 'ForbiddenError',
    });
  });

  it('a non-member with a share sees that list and the workspace name, nothing else', async () => {
    const read = await t.ok(GetList, { id: listId }, MEMBER);
    expect(read.list?.workspace.name).toBe('WS PRIVATE');
    expect(read.list?.workspace.members).toBeNull();
    expect(read.list?.linkToken).toBeNull();
    const ws = await t.server.services.db.list.findUniqueOrThrow({ where: { id: decodeGlobalID(listId).id } });
    const other = await t.server.services.db.list.create({
      data: { workspaceId: ws.workspaceId, name: 'Hidden', kind: 'MAIN', generalAccess: 'WORKSPACE' },
    });
    const hiddenId = Buffer.from(`List:${other.id}`).toString('base64');
    expect((await t.ok(ListNode, { id: hiddenId }, MEMBER)).node).toBeNull();
    expect((await t.ok(GetList, { id: hiddenId }, MEMBER)).list).toBeNull();
    // Invisible and nonexistent look the same.
    const missing = Buffer.from('List:00000000-0000-7000-8000-000000000000').toString('base64');
    expect((await t.ok(UpdateList, { input: { listId: hiddenId, name: 'x' } }, MEMBER)).updateList).toEqual(
      (await t.ok(UpdateList, { input: { listId: missing, name: 'x' } }, MEMBER)).updateList,
    );
  });

  it('the creator copies with items, and a co-owner deletes', async () => {
    const copy = await t.ok(CopyList, { input: { listId, name: 'Copy' } }, OWNER);
    expect(copy.copyList).toMatchObject({
      list: { name: 'Copy', viewerRole: 'CREATOR', items: { edges: [{ node: { title: 'First deal' } }] } },
    });
    if (copy.copyList.__typename !== 'CopyListPayload') throw new Error('no copy');
    await h.share(OWNER, { listId: copy.copyList.list.id, role: 'CO_OWNER', userId: await h.userId(OTHER) });
    const before = await h.rows();
    const del = await t.ok(DeleteList, { input: { listId: copy.copyList.list.id } }, OTHER);
    expect(del.deleteList).toMatchObject({ __typename: 'DeleteListPayload', listId: copy.copyList.list.id });
    const after = await h.rows();
    expect(after.lists).toBe(before.lists - 1);
    expect(after.audit).toBe(before.audit + 1);
    expect((await t.ok(GetList, { id: copy.copyList.list.id }, OWNER)).list).toBeNull();
  });

  it('explains access: the viewer their own, co-owners anyone, editors nobody else', async () => {
    const own = await t.ok(Explain, { resourceId: listId }, MEMBER);
    expect(own.explainAccess?.role).toBe('VIEWER');
    const roleDecision = own.explainAccess?.decisions.find((d) => d.question === 'list:role');
    expect(roleDecision?.reasons.map((r) => r.rule)).toContain('list.share.user');
    const byOwner = await t.ok(Explain, { resourceId: listId, userId: await h.userId(OTHER) }, OWNER);
    expect(byOwner.explainAccess?.role).toBe('EDITOR');
    const byAdmin = await t.ok(Explain, { resourceId: listId, userId: await h.userId(ADMIN) }, ADMIN);
    expect(byAdmin.explainAccess?.decisions[0]?.reasons.map((r) => r.rule)).toContain('account.admin');
    const byEditor = await t.ok(Explain, { resourceId: listId, userId: await h.userId(MEMBER) }, OTHER);
    expect(byEditor.explainAccess).toBeNull();
  });
});

describe('general access', () => {
  it('GLOBAL is refused for non-admins and reaches the whole account when an admin sets it', async () => {
    const ws = await h.workspace(accountId, OWNER, 'PRIVATE', [ADMIN]);
    const listId = await h.list(ws.id, OWNER, 'SHAREABLE');
    const before = await h.rows();
    const refused = await t.ok(SetGeneralAccess, { input: { listId, access: 'GLOBAL' } }, OWNER);
    expect(refused.setListGeneralAccess).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
    expect(await h.rows()).toEqual(before);
    expect((await t.ok(ListNode, { id: listId }, MEMBER)).node).toBeNull();
    const set = await t.ok(SetGeneralAccess, { input: { listId, access: 'GLOBAL' } }, ADMIN);
    expect(set.setListGeneralAccess).toMatchObject({ list: { generalAccess: 'GLOBAL' } });
    expect((await t.ok(ListNode, { id: listId }, MEMBER)).node).toMatchObject({ viewerRole: 'VIEWER' });
    expect((await t.ok(ListNode, { id: listId }, OUTSIDER)).node).toBeNull();
  });

  it('WORKSPACE reaches members of a closed workspace only', async () => {
    const ws = await h.workspace(accountId, OWNER, 'PRIVATE', [OTHER]);
    const listId = await h.list(ws.id, OWNER, 'SHAREABLE');
    await h.generalAccess(OWNER, listId, 'WORKSPACE', 'VIEWER');
    expect((await t.ok(GetList, { id: listId }, OTHER)).list?.viewerRole).toBe('VIEWER');
    expect((await t.ok(GetList, { id: listId }, MEMBER)).list).toBeNull();
    const editors = await t.ok(SetGeneralAccess, { input: { listId, access: 'WORKSPACE', role: 'EDITOR' } }, OWNER);
    expect(editors.setListGeneralAccess).toMatchObject({ list: { generalRole: 'EDITOR' } });
    expect((await t.ok(GetList, { id: listId }, OTHER)).list?.viewerRole).toBe('EDITOR');
  });

  it('a link opens the list anonymously for reading only, until it is rotated', async () => {
    const ws = await h.workspace(accountId, OWNER, 'PRIVATE');
    const listId = await h.list(ws.id, OWNER, 'SHAREABLE');
    await t.ok(CreateItem, { input: { listId, title: 'Visible by link' } }, OWNER);
    const { linkToken } = await h.generalAccess(OWNER, listId, 'ANYONE_WITH_LINK');
    expect(linkToken).toBeTruthy();

    const anon = await t.gql(GetList, { id: listId, linkToken });
    expect(anon.data?.list).toMatchObject({
      viewerRole: 'VIEWER',
      linkToken: null,
      shares: null,
      items: { edges: [{ node: { title: 'Visible by link' } }] },
    });
    expect((await t.gql(GetList, { id: listId })).data?.list).toBeNull();
    expect((await t.gql(GetList, { id: listId, linkToken: 'wrong' })).data?.list).toBeNull();
    const write = await t.gql(CreateItem, { input: { listId, title: 'nope' } });
    expect(write.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // Signed in with the link: still a viewer.
    const withLink = await t.ok(GetList, { id: listId, linkToken }, OUTSIDER);
    expect(withLink.list?.viewerRole).toBe('VIEWER');

    const byEditor = await t.ok(RotateLink, { input: { listId } }, MEMBER);
    expect(byEditor.rotateListLink).toMatchObject({ __typename: 'NotFoundError' });
    const rotated = await t.ok(RotateLink, { input: { listId } }, OWNER);
    if (rotated.rotateListLink.__typename !== 'RotateListLinkPayload') throw new Error('not rotated');
    const fresh = rotated.rotateListLink.list.linkToken;
    expect(fresh).toBeTruthy();
    expect(fresh).not.toBe(linkToken);
    expect((await t.gql(GetList, { id: listId, linkToken })).data?.list).toBeNull();
    expect((await t.gql(GetList, { id: listId, linkToken: fresh })).data?.list?.name).toBe('Pipeline');
  });
});

describe('pagination', () => {
  it('pages are full: 50 lists, 20 visible, first: 10 twice gives 10 and 10', async () => {
    const ws = await h.workspace(accountId, OWNER, 'PRIVATE');
    const db = t.server.services.db;
    const viewer = await db.user.findUniqueOrThrow({ where: { email: MEMBER } });
    const visible: string[] = [];
    for (let i = 0; i < 50; i++) {
      const list = await db.list.create({
        data: {
          workspaceId: ws.dbId,
          name: `L${String(i).padStart(2, '0')}`,
          kind: 'SHAREABLE',
          generalAccess: 'RESTRICTED',
        },
      });
      if (i % 5 < 2) {
        await db.share.create({ data: { listId: list.id, userId: viewer.id, role: 'VIEWER' } });
        visible.push(list.name);
      }
    }
    expect(visible).toHaveLength(20);
    const page1 = await t.ok(WorkspaceLists, { id: ws.id, first: 10 }, MEMBER);
    expect(page1.workspace?.lists?.edges).toHaveLength(10);
    expect(page1.workspace?.lists?.pageInfo.hasNextPage).toBe(true);
    const page2 = await t.ok(
      WorkspaceLists,
      { id: ws.id, first: 10, after: page1.workspace?.lists?.pageInfo.endCursor },
      MEMBER,
    );
    expect(page2.workspace?.lists?.edges).toHaveLength(10);
    expect(page2.workspace?.lists?.pageInfo.hasNextPage).toBe(false);
    const names = [...(page1.workspace?.lists?.edges ?? []), ...(page2.workspace?.lists?.edges ?? [])].map(
      (e) => e.node.name,
    );
    expect(names).toEqual(visible);
    // The owner (creator of none of them, but a member of a CLOSED workspace with RESTRICTED lists) sees none.
    const asOwner = await t.ok(WorkspaceLists, { id: ws.id, first: 10 }, OWNER);
    expect(asOwner.workspace?.lists?.edges).toHaveLength(0);
  });
});
