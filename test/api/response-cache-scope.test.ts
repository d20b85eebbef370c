import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements as statements } from '../../bench/lib/round-trips.ts';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, startTwoInstances, type TestServer, type TwoInstances } from '../helpers/server.ts';

// What a write ends among the kept answers: a write of list content (items, updates) only the
// answers of viewers who could read a list of that account; anything else (every kind of access
// change among them) every answer, on every instance.

const ListView = graphql(`
  query RsList($id: ID!, $linkToken: String) {
    list(id: $id, linkToken: $linkToken) { id name viewerRole items(first: 10) { edges { node { id title version } } } }
  }
`);
const CreateItem = graphql(`
  mutation RsCreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id version } } ... on Error { code message } }
  }
`);
const UpdateItem = graphql(`
  mutation RsUpdateItem($input: UpdateItemInput!) {
    updateItem(input: $input) { __typename ... on Error { code message } }
  }
`);
const UpdateShare = graphql(`
  mutation RsUpdateShare($input: UpdateShareInput!) {
    updateShare(input: $input) { __typename ... on Error { code message } }
  }
`);
const RemoveShare = graphql(`
  mutation RsRemoveShare($input: RemoveShareInput!) {
    removeShare(input: $input) { __typename ... on Error { code message } }
  }
`);
const CreateGroup = graphql(`
  mutation RsCreateGroup($input: CreateGroupInput!) {
    createGroup(input: $input) { __typename ... on CreateGroupPayload { group { id } } ... on Error { code message } }
  }
`);
const AddGroupMember = graphql(`
  mutation RsAddGroupMember($input: AddGroupMemberInput!) {
    addGroupMember(input: $input) { __typename ... on Error { code message } }
  }
`);
const CreateRight = graphql(`
  mutation RsCreateRight($input: CreateRightInput!) {
    createRight(input: $input) { __typename ... on CreateRightPayload { right { id } } ... on Error { code message } }
  }
`);
const GrantRight = graphql(`
  mutation RsGrantRight($input: GrantRightInput!) {
    grantRight(input: $input) { __typename ... on Error { code message } }
  }
`);
const UpdateWorkspace = graphql(`
  mutation RsUpdateWorkspace($input: UpdateWorkspaceInput!) {
    updateWorkspace(input: $input) { __typename ... on Error { code message } }
  }
`);
const RemoveWorkspaceMember = graphql(`
  mutation RsRemoveWorkspaceMember($input: RemoveWorkspaceMemberInput!) {
    removeWorkspaceMember(input: $input) { __typename ... on Error { code message } }
  }
`);
const SetAccountPolicy = graphql(`
  mutation RsSetAccountPolicy($input: SetAccountPolicyInput!) {
    setAccountPolicy(input: $input) { __typename ... on Error { code message } }
  }
`);
const SetWorkspacePermission = graphql(`
  mutation RsSetWorkspacePermission($input: SetWorkspacePermissionInput!) {
    setWorkspacePermission(input: $input) { __typename ... on Error { code message } }
  }
`);
const RotateListLink = graphql(`
  mutation RsRotateListLink($input: RotateListLinkInput!) {
    rotateListLink(input: $input) { __typename ... on Error { code message } }
  }
`);
const DeleteList = graphql(`
  mutation RsDeleteList($input: DeleteListInput!) {
    deleteList(input: $input) { __typename ... on Error { code message } }
  }
`);
const Anonymize = graphql(`
  mutation RsAnonymize($input: AnonymizeUserInput!) {
    anonymizeUser(input: $input) { __typename ... on Error { code message } }
  }
`);

/** Asserts a mutation's union answered its payload (`<Name>Payload`), not an error. */
function payload(result: Record<string, { __typename: string } | null>): void {
  const [value] = Object.values(result);
  expect(value?.__typename, JSON.stringify(result)).toMatch(/Payload$/);
}

let tags = 0;

/**
 * An account with its admin, a MEMBER `viewer` and a closed workspace with one SHAREABLE list
 * (general access RESTRICTED), its first item made; `share` gives the viewer a VIEWER share.
 */
async function world(t: TestServer, share = true) {
  const tag = `s${++tags}-${Date.now().toString(36)}`;
  const lists = listHelpers(t);
  const people = { admin: `admin-${tag}@rs.test`, viewer: `viewer-${tag}@rs.test` };
  const accountId = await lists.account(people.admin, [people.viewer]);
  const ws = await lists.workspace(accountId, people.admin, 'CLOSED');
  const listId = await lists.list(ws.id, people.admin, 'SHAREABLE', `List ${tag}`);
  const viewerId = await lists.userId(people.viewer);
  const shareId = share ? await lists.share(people.admin, { listId, role: 'VIEWER', userId: viewerId }) : null;
  const created = await t.ok(CreateItem, { input: { listId, title: 'First' } }, people.admin);
  if (created.createItem.__typename !== 'CreateItemPayload') throw new Error(JSON.stringify(created));
  return { people, accountId, workspaceId: ws.id, listId, viewerId, shareId, item: created.createItem.item };
}

/** Reads the list on `t` as `token` until the answer is kept there (no statement), and returns it. */
async function kept(t: TestServer, listId: string, token: string | null, linkToken?: string) {
  const first = await t.gql(ListView, { id: listId, linkToken }, token);
  await expect.poll(() => statements(t, () => t.gql(ListView, { id: listId, linkToken }, token))).toBe(0);
  return first;
}

describe('a write of list content, one instance', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("leaves another account's kept answers served, and ends the answers of the list's own readers", async () => {
    const a = await world(t);
    const b = await world(t);
    const aToken = await t.token(a.people.viewer);
    const bToken = await t.token(b.people.viewer);
    const aAnswer = await kept(t, a.listId, aToken);
    await kept(t, b.listId, bToken);

    const edited = await t.ok(
      UpdateItem,
      { input: { id: b.item.id, expectedVersion: b.item.version, patch: { title: 'Edited on B' } } },
      b.people.admin,
    );
    payload(edited);
    payload(await t.ok(CreateItem, { input: { listId: b.listId, title: 'Second on B' } }, b.people.admin));

    // Account A's answer is still the kept one: served without a statement, the same body.
    expect(await statements(t, () => t.gql(ListView, { id: a.listId }, aToken))).toBe(0);
    expect(await t.gql(ListView, { id: a.listId }, aToken)).toEqual(aAnswer);
    // Account B's reader sees both writes at once.
    const bAfter = await t.gql(ListView, { id: b.listId }, bToken);
    expect(bAfter.data?.list?.items.edges.map((e) => e.node.title)).toEqual(['Edited on B', 'Second on B']);
  });

  it('ends the answer of a viewer who reaches the other account only through a share (admin of A shares to B)', async () => {
    const a = await world(t);
    const b = await world(t, false);
    // B's admin is no member of A: an admin's share reaches people outside the account.
    const bAdminId = await listHelpers(t).userId(b.people.admin);
    await listHelpers(t).share(a.people.admin, { listId: a.listId, role: 'VIEWER', userId: bAdminId });
    const token = await t.token(b.people.admin);
    const before = await kept(t, a.listId, token);
    expect(before.data?.list?.viewerRole).toBe('VIEWER');
    payload(await t.ok(CreateItem, { input: { listId: a.listId, title: 'Seen from B' } }, a.people.admin));
    const after = await t.gql(ListView, { id: a.listId }, token);
    expect(after.data?.list?.items.edges.map((e) => e.node.title)).toEqual(['First', 'Seen from B']);
  });

  it('ends the answer of an anonymous reader who opened the list by its link', async () => {
    const a = await world(t);
    const lists = listHelpers(t);
    const list = await lists.generalAccess(a.people.admin, a.listId, 'ANYONE_WITH_LINK');
    const linkToken = list.linkToken as string;
    expect(linkToken).toBeTruthy();
    const before = await kept(t, a.listId, null, linkToken);
    expect(before.data?.list?.viewerRole).toBe('VIEWER');
    payload(await t.ok(CreateItem, { input: { listId: a.listId, title: 'By link' } }, a.people.admin));
    const after = await t.gql(ListView, { id: a.listId, linkToken }, null);
    expect(after.data?.list?.items.edges.map((e) => e.node.title)).toEqual(['First', 'By link']);
  });
});

describe('writes across instances (Redis)', () => {
  let two: TwoInstances;
  beforeAll(async () => {
    two = await startTwoInstances();
  });
  afterAll(async () => {
    await two?.close();
  });

  it("an item edited on B leaves another account's answer kept on A and ends its own readers' answers there", async () => {
    const { a, b } = two;
    const mine = await world(b);
    const theirs = await world(b);
    const myToken = await a.token(mine.people.viewer);
    const theirToken = await a.token(theirs.people.viewer);
    const myAnswer = await kept(a, mine.listId, myToken);
    await kept(a, theirs.listId, theirToken);

    const edited = await b.ok(
      UpdateItem,
      { input: { id: theirs.item.id, expectedVersion: theirs.item.version, patch: { title: 'Edited on B' } } },
      theirs.people.admin,
    );
    payload(edited);
    await expect
      .poll(
        async () => (await a.gql(ListView, { id: theirs.listId }, theirToken)).data?.list?.items.edges[0]?.node.title,
      )
      .toBe('Edited on B');
    expect(await statements(a, () => a.gql(ListView, { id: mine.listId }, myToken))).toBe(0);
    expect(await a.gql(ListView, { id: mine.listId }, myToken)).toEqual(myAnswer);
  });

  type World = Awaited<ReturnType<typeof world>>;
  type Read = Awaited<ReturnType<typeof kept>>;
  const role = (r: Read) => r.data?.list?.viewerRole ?? null;
  // Each kind of access change, made on B, against the viewer's answer kept on A.
  const changes: {
    name: string;
    share?: boolean;
    prepare?: (b: TestServer, w: World) => Promise<Record<string, string>>;
    change: (b: TestServer, w: World, prepared: Record<string, string>) => Promise<void>;
    before: (r: Read) => unknown;
    after: (r: Read) => unknown;
    expected: [unknown, unknown];
  }[] = [
    {
      name: 'shareList',
      share: false,
      change: async (b, w) => {
        await listHelpers(b).share(w.people.admin, { listId: w.listId, role: 'VIEWER', userId: w.viewerId });
      },
      before: role,
      after: role,
      expected: [null, 'VIEWER'],
    },
    {
      name: 'updateShare',
      change: async (b, w) =>
        payload(await b.ok(UpdateShare, { input: { shareId: w.shareId as string, role: 'EDITOR' } }, w.people.admin)),
      before: role,
      after: role,
      expected: ['VIEWER', 'EDITOR'],
    },
    {
      name: 'removeShare',
      change: async (b, w) =>
        payload(await b.ok(RemoveShare, { input: { shareId: w.shareId as string } }, w.people.admin)),
      before: role,
      after: role,
      expected: ['VIEWER', null],
    },
    {
      name: 'addGroupMember (a group the list is shared with)',
      prepare: async (b, w) => {
        const res = await b.ok(CreateGroup, { input: { accountId: w.accountId, name: 'Editors' } }, w.people.admin);
        if (res.createGroup.__typename !== 'CreateGroupPayload') throw new Error(JSON.stringify(res));
        const groupId = res.createGroup.group.id;
        await listHelpers(b).share(w.people.admin, { listId: w.listId, role: 'EDITOR', groupId });
        return { groupId };
      },
      change: async (b, w, p) =>
        payload(
          await b.ok(AddGroupMember, { input: { groupId: p.groupId as string, userId: w.viewerId } }, w.people.admin),
        ),
      before: role,
      after: role,
      expected: ['VIEWER', 'EDITOR'],
    },
    {
      name: 'grantRight (a right the list is shared with)',
      prepare: async (b, w) => {
        const res = await b.ok(CreateRight, { input: { accountId: w.accountId, name: 'Sales' } }, w.people.admin);
        if (res.createRight.__typename !== 'CreateRightPayload') throw new Error(JSON.stringify(res));
        const rightId = res.createRight.right.id;
        await listHelpers(b).share(w.people.admin, { listId: w.listId, role: 'EDITOR', rightId });
        return { rightId };
      },
      change: async (b, w, p) =>
        payload(
          await b.ok(GrantRight, { input: { rightId: p.rightId as string, userId: w.viewerId } }, w.people.admin),
        ),
      before: role,
      after: role,
      expected: ['VIEWER', 'EDITOR'],
    },
    {
      name: 'setListGeneralAccess (GLOBAL)',
      share: false,
      change: async (b, w) => {
        await listHelpers(b).generalAccess(w.people.admin, w.listId, 'GLOBAL');
      },
      before: role,
      after: role,
      expected: [null, 'VIEWER'],
    },
    {
      name: 'updateWorkspace (CLOSED to OPEN, a list shared with the workspace)',
      share: false,
      prepare: async (b, w) => {
        await listHelpers(b).generalAccess(w.people.admin, w.listId, 'WORKSPACE');
        return {};
      },
      change: async (b, w) =>
        payload(await b.ok(UpdateWorkspace, { input: { workspaceId: w.workspaceId, type: 'OPEN' } }, w.people.admin)),
      before: role,
      after: role,
      expected: [null, 'VIEWER'],
    },
    {
      name: 'removeWorkspaceMember',
      share: false,
      prepare: async (b, w) => {
        await listHelpers(b).generalAccess(w.people.admin, w.listId, 'WORKSPACE');
        const db = b.server.services.db;
        const { decodeGlobalID } = await import('@pothos/plugin-relay');
        await db.workspaceMember.create({
          data: {
            workspaceId: decodeGlobalID(w.workspaceId).id,
            userId: decodeGlobalID(w.viewerId).id,
            role: 'MEMBER',
          },
        });
        return {};
      },
      change: async (b, w) =>
        payload(
          await b.ok(
            RemoveWorkspaceMember,
            { input: { workspaceId: w.workspaceId, userId: w.viewerId } },
            w.people.admin,
          ),
        ),
      before: role,
      after: role,
      expected: ['VIEWER', null],
    },
    {
      name: 'setAccountPolicy',
      change: async (b, w) =>
        payload(
          await b.ok(SetAccountPolicy, { input: { accountId: w.accountId, externalSharing: false } }, w.people.admin),
        ),
      before: role,
      after: role,
      expected: ['VIEWER', 'VIEWER'],
    },
    {
      name: 'setWorkspacePermission',
      change: async (b, w) =>
        payload(
          await b.ok(
            SetWorkspacePermission,
            { input: { workspaceId: w.workspaceId, action: 'COMMENT', role: 'NON_MEMBER', allowed: false } },
            w.people.admin,
          ),
        ),
      before: role,
      after: role,
      expected: ['VIEWER', 'VIEWER'],
    },
    {
      name: 'deleteList',
      change: async (b, w) => payload(await b.ok(DeleteList, { input: { listId: w.listId } }, w.people.admin)),
      before: role,
      after: role,
      expected: ['VIEWER', null],
    },
    {
      name: 'anonymizeUser (the viewer)',
      change: async (b, w) => payload(await b.ok(Anonymize, { input: { userId: w.viewerId } }, w.people.admin)),
      before: (r) => r.status,
      after: (r) => r.status,
      expected: [200, 401],
    },
  ];

  for (const c of changes) {
    it(`${c.name} on B ends the answer A kept`, async () => {
      const { a, b } = two;
      const w = await world(b, c.share ?? true);
      const prepared = (await c.prepare?.(b, w)) ?? {};
      const token = await a.token(w.people.viewer);
      expect(c.before(await kept(a, w.listId, token))).toEqual(c.expected[0]);
      await c.change(b, w, prepared);
      // Ended on A: the next read executes there, and answers as of the change.
      await expect.poll(async () => statements(a, () => a.gql(ListView, { id: w.listId }, token))).toBeGreaterThan(0);
      expect(c.after(await a.gql(ListView, { id: w.listId }, token))).toEqual(c.expected[1]);
    });
  }

  it('rotateListLink on B ends the answer A kept for the old link', async () => {
    const { a, b } = two;
    const w = await world(b, false);
    const list = await listHelpers(b).generalAccess(w.people.admin, w.listId, 'ANYONE_WITH_LINK');
    const linkToken = list.linkToken as string;
    expect(role(await kept(a, w.listId, null, linkToken))).toBe('VIEWER');
    payload(await b.ok(RotateListLink, { input: { listId: w.listId } }, w.people.admin));
    await expect.poll(async () => role(await a.gql(ListView, { id: w.listId, linkToken }, null))).toBeNull();
  });
});

describe('access facts remembered across requests', () => {
  let two: TwoInstances;
  beforeAll(async () => {
    two = await startTwoInstances();
  });
  afterAll(async () => {
    await two?.close();
  });

  const edit = (t: TestServer, w: World, as: string, title: string) =>
    t.ok(UpdateItem, { input: { id: w.item.id, expectedVersion: 1, patch: { fields: { [title]: title } } } }, as);
  type World = Awaited<ReturnType<typeof world>>;

  it('serve an editor’s next edits, and are forgotten at a role change on the same instance and on another', async () => {
    const { a, b } = two;
    const w = await world(a, false);
    const editor = w.people.viewer;
    const shareId = await listHelpers(a).share(w.people.admin, {
      listId: w.listId,
      role: 'EDITOR',
      userId: w.viewerId,
    });
    payload(await edit(a, w, editor, 'one'));
    // The decision of the next edit comes from what the first one loaded: only the change itself is sent.
    expect(await statements(a, async () => payload(await edit(a, w, editor, 'two')))).toBe(1);

    // Made a viewer on the same instance: refused at once.
    payload(await a.ok(UpdateShare, { input: { shareId, role: 'VIEWER' } }, w.people.admin));
    expect((await edit(a, w, editor, 'three')).updateItem.__typename).toBe('ForbiddenError');

    // An editor again, then made a viewer on the other instance: refused on this one too.
    payload(await a.ok(UpdateShare, { input: { shareId, role: 'EDITOR' } }, w.people.admin));
    payload(await edit(a, w, editor, 'four'));
    expect(await statements(a, async () => payload(await edit(a, w, editor, 'five')))).toBe(1);
    payload(await b.ok(UpdateShare, { input: { shareId, role: 'VIEWER' } }, w.people.admin));
    await expect.poll(async () => (await edit(a, w, editor, 'six')).updateItem.__typename).toBe('ForbiddenError');
  });
});
