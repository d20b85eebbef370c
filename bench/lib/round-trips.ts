import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import type { Db } from '../../src/db/client.ts';
import { graphql } from '../../test/generated/gql.ts';
import type { TestServer } from '../../test/helpers/server.ts';

/**
 * The benchmark's authorized list query (issue 8): a list with 50 items, each with its last
 * change (when, by whom) and its last update with the update's author, as the viewer sees it.
 */
export const BenchList = graphql(`
  query BenchList($id: ID!) {
    list(id: $id) {
      id
      name
      viewerRole
      items(first: 50) {
        edges {
          node {
            id
            title
            fields
            version
            updatedAt
            updatedBy { id name }
            updates(last: 1) { edges { node { id body createdAt author { id name } } } }
          }
        }
      }
    }
  }
`);

const Me = graphql(`
  query RtMe { me { id email name accounts { role } } }
`);
const Workspaces = graphql(`
  query RtWorkspaces($accountId: ID!) {
    workspaces(accountId: $accountId, first: 100) { edges { node { id name type viewerRole } } }
  }
`);
const WorkspaceLists = graphql(`
  query RtWorkspaceLists($id: ID!) {
    workspace(id: $id) { id name viewerRole lists(first: 100) { edges { node { id name kind viewerRole } } } }
  }
`);
const SharedWithMe = graphql(`
  query RtSharedWithMe { sharedWithMe(first: 100) { edges { node { id name viewerRole workspace { name } } } } }
`);
const CreateItem = graphql(`
  mutation RtCreateItem($input: CreateItemInput!) {
    createItem(input: $input) {
      __typename
      ... on CreateItemPayload { item { id title version updatedBy { name } } }
      ... on Error { code message }
    }
  }
`);
const UpdateItem = graphql(`
  mutation RtUpdateItem($input: UpdateItemInput!) {
    updateItem(input: $input) {
      __typename
      ... on UpdateItemPayload { changedFields item { id title version } }
      ... on Error { code message }
    }
  }
`);
const MoveItem = graphql(`
  mutation RtMoveItem($input: MoveItemInput!) {
    moveItem(input: $input) { __typename ... on MoveItemPayload { item { id position } } ... on Error { code message } }
  }
`);
const PostUpdate = graphql(`
  mutation RtPostUpdate($input: PostUpdateInput!) {
    postUpdate(input: $input) {
      __typename
      ... on PostUpdatePayload { update { id body author { name } } }
      ... on Error { code message }
    }
  }
`);
const DeleteItem = graphql(`
  mutation RtDeleteItem($input: DeleteItemInput!) {
    deleteItem(input: $input) { __typename ... on DeleteItemPayload { itemId } ... on Error { code message } }
  }
`);
const CreateList = graphql(`
  mutation RtCreateList($input: CreateListInput!) {
    createList(input: $input) {
      __typename
      ... on CreateListPayload { list { id name viewerRole } }
      ... on Error { code message }
    }
  }
`);
const ShareList = graphql(`
  mutation RtShareList($input: ShareListInput!) {
    shareList(input: $input) { __typename ... on ShareListPayload { share { id role } } ... on Error { code message } }
  }
`);
const CreateAccount = graphql(`
  mutation RtCreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { account { id } } ... on Error { message } }
  }
`);
const AddMember = graphql(`
  mutation RtAddMember($input: AddAccountMemberInput!) {
    addAccountMember(input: $input) { __typename ... on Error { message } }
  }
`);
const CreateGroup = graphql(`
  mutation RtCreateGroup($input: CreateGroupInput!) {
    createGroup(input: $input) { __typename ... on CreateGroupPayload { group { id } } ... on Error { message } }
  }
`);
const AddGroupMember = graphql(`
  mutation RtAddGroupMember($input: AddGroupMemberInput!) {
    addGroupMember(input: $input) { __typename ... on Error { message } }
  }
`);
const CreateWorkspace = graphql(`
  mutation RtCreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) { __typename ... on CreateWorkspacePayload { workspace { id } } ... on Error { message } }
  }
`);

const expectType = (typename: string) => (value: { __typename: string }) => {
  if (value.__typename !== typename) throw new Error(`expected ${typename}: ${JSON.stringify(value)}`);
};

/**
 * How a fixture is built: operations as a user (by email), and the database for bulk rows. A
 * `TestServer` serves in process (`inProcessActor`); the HTTP bench acts over the wire.
 */
export interface FixtureActor {
  ok: TestServer['ok'];
  db: Db;
}

/** A fixture actor on an in-process test server. */
export function inProcessActor(t: TestServer): FixtureActor {
  return { ok: (doc, variables, as) => t.ok(doc, variables, as), db: t.server.services.db };
}

/** Ids (global) and people of one count fixture. */
export interface CountFixture {
  size: number;
  accountId: string;
  workspaceId: string;
  /** The list the viewer reaches through a group share; it holds `size` items. */
  listId: string;
  /** An item of the list, at version 1. */
  itemId: string;
  /** Another item of the list. */
  otherItemId: string;
  /** An update posted on `itemId`. */
  updateId: string;
  /** Another user of the account, not yet shared on the list. */
  otherUserId: string;
  admin: string;
  owner: string;
  viewer: string;
}

/**
 * Builds a fixture that scales with `size`: an account whose viewer is in a group; a closed
 * workspace where the viewer is no member, holding `size` lists shared with the group (the
 * first with `size` items, each last changed and updated by alternating people); and `size - 1`
 * open workspaces. Structure goes through the API; bulk rows straight to the database.
 */
export async function seedCountFixture(t: FixtureActor, size: number, tag: string): Promise<CountFixture> {
  const admin = `admin-${tag}@counts.test`;
  const owner = `owner-${tag}@counts.test`;
  const viewer = `viewer-${tag}@counts.test`;
  const other = `other-${tag}@counts.test`;
  const account = (await t.ok(CreateAccount, { input: { name: `Counts ${tag}` } }, admin)).createAccount;
  if (account.__typename !== 'CreateAccountPayload') throw new Error(`createAccount: ${JSON.stringify(account)}`);
  const accountId = account.account.id;
  for (const email of [owner, viewer, other])
    expectType('AddAccountMemberPayload')(
      (await t.ok(AddMember, { input: { accountId, email, role: 'MEMBER' } }, admin)).addAccountMember,
    );
  const ids = await Promise.all(
    [admin, owner, viewer, other].map(async (email) => (await t.ok(Me, {}, email)).me?.id ?? ''),
  );
  const [adminGid, ownerGid, viewerGid, otherUserId] = ids as [string, string, string, string];
  const [adminId, ownerId] = [adminGid, ownerGid].map((id) => decodeGlobalID(id).id) as [string, string];
  const viewerId = decodeGlobalID(viewerGid).id;
  const group = (await t.ok(CreateGroup, { input: { accountId, name: 'Readers' } }, admin)).createGroup;
  if (group.__typename !== 'CreateGroupPayload') throw new Error(`createGroup: ${JSON.stringify(group)}`);
  expectType('AddGroupMemberPayload')(
    (await t.ok(AddGroupMember, { input: { groupId: group.group.id, userId: viewerGid } }, admin)).addGroupMember,
  );
  const ws = (await t.ok(CreateWorkspace, { input: { accountId, name: 'Closed', type: 'CLOSED' } }, owner))
    .createWorkspace;
  if (ws.__typename !== 'CreateWorkspacePayload') throw new Error(`createWorkspace: ${JSON.stringify(ws)}`);
  const list = (
    await t.ok(CreateList, { input: { workspaceId: ws.workspace.id, name: 'Main', kind: 'SHAREABLE' } }, owner)
  ).createList;
  if (list.__typename !== 'CreateListPayload') throw new Error(`createList: ${JSON.stringify(list)}`);
  expectType('ShareListPayload')(
    (await t.ok(ShareList, { input: { listId: list.list.id, role: 'VIEWER', groupId: group.group.id } }, owner))
      .shareList,
  );

  const db = t.db;
  const dbId = (global: string) => decodeGlobalID(global).id;
  const accountDbId = dbId(accountId);
  const workspaceDbId = dbId(ws.workspace.id);
  const listDbId = dbId(list.list.id);
  const groupDbId = dbId(group.group.id);
  const seq = (n: number) => Array.from({ length: n }, (_, i) => i);
  await db.workspace.createMany({
    data: seq(size - 1).map((i) => ({
      accountId: accountDbId,
      name: `Open ${i}`,
      type: 'OPEN' as const,
      createdById: ownerId,
    })),
  });
  const lists = await db.list.createManyAndReturn({
    data: seq(size - 1).map((i) => ({
      workspaceId: workspaceDbId,
      name: `Shared ${i}`,
      kind: 'SHAREABLE' as const,
      generalAccess: 'RESTRICTED' as const,
      creatorId: ownerId,
    })),
    select: { id: true },
  });
  await db.share.createMany({
    data: lists.map((l) => ({ listId: l.id, groupId: groupDbId, role: 'VIEWER' as const, createdById: ownerId })),
  });
  const items = await db.item.createManyAndReturn({
    data: seq(size).map((i) => ({
      listId: listDbId,
      title: `Item ${i}`,
      fields: { n: i, status: 'open' },
      fieldVersions: { title: 1, 'fields.n': 1, 'fields.status': 1 },
      position: i + 1,
      createdById: ownerId,
      updatedById: i % 2 ? ownerId : adminId,
    })),
    select: { id: true },
  });
  const updates = await db.itemUpdate.createManyAndReturn({
    data: items.flatMap((item, i) => [
      { itemId: item.id, authorId: i % 2 ? adminId : ownerId, kind: 'UPDATE' as const, body: `First on ${i}` },
      { itemId: item.id, authorId: i % 3 ? ownerId : viewerId, kind: 'COMMENT' as const, body: `Last on ${i}` },
    ]),
    select: { id: true },
  });
  return {
    size,
    accountId,
    workspaceId: ws.workspace.id,
    listId: list.list.id,
    itemId: encodeGlobalID('Item', items[0]?.id ?? ''),
    otherItemId: encodeGlobalID('Item', items[1]?.id ?? ''),
    updateId: encodeGlobalID('ItemUpdate', updates[0]?.id ?? ''),
    otherUserId,
    admin,
    owner,
    viewer,
  };
}

/** One operation whose SQL statements are counted: who runs it, and how. */
interface CountedOperation {
  name: string;
  kind: 'query' | 'mutation';
  run(t: TestServer, f: CountFixture): Promise<unknown>;
}

/**
 * The main queries and mutations, each as the person who would run it. Mutations act on the
 * fixture's list, so run them once per fixture, in this order.
 */
export const COUNTED_OPERATIONS: CountedOperation[] = [
  {
    name: 'list with 50 items, last update, author (group-share viewer)',
    kind: 'query',
    run: async (t, f) => {
      const { list } = await t.ok(BenchList, { id: f.listId }, f.viewer);
      if (list?.items.edges.length !== Math.min(50, f.size)) throw new Error(`list: ${JSON.stringify(list)}`);
    },
  },
  { name: 'me', kind: 'query', run: (t, f) => t.ok(Me, {}, f.viewer) },
  {
    name: 'workspaces (viewer)',
    kind: 'query',
    run: async (t, f) => {
      const { workspaces } = await t.ok(Workspaces, { accountId: f.accountId }, f.viewer);
      if (workspaces.edges.length !== f.size) throw new Error(`workspaces: ${workspaces.edges.length}`);
    },
  },
  {
    name: 'workspace with its lists (owner)',
    kind: 'query',
    run: async (t, f) => {
      const { workspace } = await t.ok(WorkspaceLists, { id: f.workspaceId }, f.owner);
      if (workspace?.lists?.edges.length !== f.size) throw new Error(`workspace: ${JSON.stringify(workspace)}`);
    },
  },
  {
    name: 'sharedWithMe (viewer)',
    kind: 'query',
    run: async (t, f) => {
      const { sharedWithMe } = await t.ok(SharedWithMe, {}, f.viewer);
      if (sharedWithMe.edges.length !== f.size) throw new Error(`sharedWithMe: ${sharedWithMe.edges.length}`);
    },
  },
  {
    name: 'createItem',
    kind: 'mutation',
    run: async (t, f) =>
      expectType('CreateItemPayload')(
        (await t.ok(CreateItem, { input: { listId: f.listId, title: 'New', fields: { n: 0 } } }, f.owner)).createItem,
      ),
  },
  {
    name: 'updateItem',
    kind: 'mutation',
    run: async (t, f) =>
      expectType('UpdateItemPayload')(
        (
          await t.ok(
            UpdateItem,
            { input: { id: f.itemId, expectedVersion: 1, patch: { title: 'Renamed', fields: { status: 'done' } } } },
            f.owner,
          )
        ).updateItem,
      ),
  },
  {
    name: 'updateItem (again, its list known)',
    kind: 'mutation',
    run: async (t, f) =>
      expectType('UpdateItemPayload')(
        (await t.ok(UpdateItem, { input: { id: f.itemId, expectedVersion: 2, patch: { fields: { n: 1 } } } }, f.owner))
          .updateItem,
      ),
  },
  {
    name: 'moveItem',
    kind: 'mutation',
    run: async (t, f) =>
      expectType('MoveItemPayload')(
        (await t.ok(MoveItem, { input: { id: f.itemId, afterId: null } }, f.owner)).moveItem,
      ),
  },
  {
    name: 'moveItem (after an item)',
    kind: 'mutation',
    run: async (t, f) =>
      expectType('MoveItemPayload')(
        (await t.ok(MoveItem, { input: { id: f.itemId, afterId: f.otherItemId } }, f.owner)).moveItem,
      ),
  },
  {
    name: 'postUpdate',
    kind: 'mutation',
    run: async (t, f) =>
      expectType('PostUpdatePayload')(
        (await t.ok(PostUpdate, { input: { itemId: f.itemId, body: 'Done' } }, f.owner)).postUpdate,
      ),
  },
  {
    name: 'postUpdate (reply)',
    kind: 'mutation',
    run: async (t, f) =>
      expectType('PostUpdatePayload')(
        (await t.ok(PostUpdate, { input: { itemId: f.itemId, body: 'Agreed', parentId: f.updateId } }, f.owner))
          .postUpdate,
      ),
  },
  {
    name: 'shareList (user)',
    kind: 'mutation',
    run: async (t, f) =>
      expectType('ShareListPayload')(
        (await t.ok(ShareList, { input: { listId: f.listId, role: 'EDITOR', userId: f.otherUserId } }, f.owner))
          .shareList,
      ),
  },
  {
    name: 'createList',
    kind: 'mutation',
    run: async (t, f) =>
      expectType('CreateListPayload')(
        (await t.ok(CreateList, { input: { workspaceId: f.workspaceId, name: 'Another' } }, f.owner)).createList,
      ),
  },
  {
    name: 'deleteItem',
    kind: 'mutation',
    run: async (t, f) =>
      expectType('DeleteItemPayload')((await t.ok(DeleteItem, { input: { id: f.itemId } }, f.owner)).deleteItem),
  },
];

/**
 * Runs `run` and returns how many SQL statements the server sent meanwhile. Work a request
 * leaves behind (mail flushes) would count too; none of the counted operations sends mail.
 */
export async function countStatements(t: TestServer, run: () => Promise<unknown>): Promise<number> {
  const before = t.server.database.statements();
  await run();
  return t.server.database.statements() - before;
}

/** Each counted operation's statements on fixture `f`, by name (tokens are minted beforehand). */
export async function countAll(t: TestServer, f: CountFixture): Promise<Record<string, number>> {
  for (const email of [f.admin, f.owner, f.viewer]) await t.token(email);
  const counts: Record<string, number> = {};
  for (const op of COUNTED_OPERATIONS) counts[op.name] = await countStatements(t, () => op.run(t, f));
  return counts;
}
