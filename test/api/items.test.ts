import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CreateItem = graphql(`
  mutation ItCreateItem($input: CreateItemInput!) {
    createItem(input: $input) {
      __typename
      ... on CreateItemPayload { item { id title fields version fieldVersions updatedBy { email } } }
      ... on ValidationError { path }
      ... on Error { code message }
    }
  }
`);
const UpdateItem = graphql(`
  mutation ItUpdateItem($input: UpdateItemInput!) {
    updateItem(input: $input) {
      __typename
      ... on UpdateItemPayload { changedFields item { id title fields version fieldVersions } }
      ... on ConflictError { code message currentItem { id title fields version } }
      ... on ValidationError { path }
      ... on Error { code message }
    }
  }
`);
const DeleteItem = graphql(`
  mutation ItDeleteItem($input: DeleteItemInput!) {
    deleteItem(input: $input) { __typename ... on DeleteItemPayload { itemId } ... on Error { code } }
  }
`);
const MoveItem = graphql(`
  mutation ItMoveItem($input: MoveItemInput!) {
    moveItem(input: $input) { __typename ... on MoveItemPayload { item { id } } ... on Error { code } }
  }
`);
const PostUpdate = graphql(`
  mutation ItPostUpdate($input: PostUpdateInput!) {
    postUpdate(input: $input) {
      __typename
      ... on PostUpdatePayload { update { id kind body author { email } parent { id } } }
      ... on ValidationError { path }
      ... on Error { code message }
    }
  }
`);
const Items = graphql(`
  query ItItems($id: ID!) { list(id: $id) { items(first: 50) { edges { node { title } } } } }
`);
const ItemNode = graphql(`
  query ItItemNode($id: ID!) {
    node(id: $id) { __typename ... on Item { title updates(first: 10) { edges { node { kind body } } } } }
  }
`);

const OWNER = 'owner@items.test';
const EDITOR = 'editor@items.test';
const EDITOR2 = 'editor2@items.test';
const VIEWER = 'viewer@items.test';
const OUTSIDER = 'outsider@elsewhere.test';

let t: TestServer;
let h: ReturnType<typeof listHelpers>;
let listId: string;
let wsDbId: string;
beforeAll(async () => {
  t = await startTestServer();
  h = listHelpers(t);
  const accountId = await h.account('admin@items.test', [OWNER, EDITOR, EDITOR2, VIEWER]);
  const ws = await h.workspace(accountId, OWNER, 'CLOSED', [EDITOR, EDITOR2, VIEWER]);
  wsDbId = ws.dbId;
  listId = await h.list(ws.id, OWNER, 'SHAREABLE');
  await h.share(OWNER, { listId, role: 'EDITOR', userId: await h.userId(EDITOR) });
  await h.share(OWNER, { listId, role: 'EDITOR', userId: await h.userId(EDITOR2) });
  await h.share(OWNER, { listId, role: 'VIEWER', userId: await h.userId(VIEWER) });
});
afterAll(async () => {
  await t?.close();
});

async function newItem(title: string, fields: Record<string, unknown> = {}) {
  const res = await t.ok(CreateItem, { input: { listId, title, fields } }, EDITOR);
  if (res.createItem.__typename !== 'CreateItemPayload') throw new Error(JSON.stringify(res));
  return res.createItem.item;
}

describe('items', () => {
  it('creates items with per-field versions, audited; viewers and outsiders cannot', async () => {
    const before = await h.rows();
    const item = await newItem('Acme deal', { stage: 'lead', value: 100 });
    expect(item).toMatchObject({
      title: 'Acme deal',
      fields: { stage: 'lead', value: 100 },
      version: 1,
      fieldVersions: { title: 1, 'fields.stage': 1, 'fields.value': 1 },
      updatedBy: { email: EDITOR },
    });
    expect(await h.rows()).toEqual({ ...before, items: before.items + 1, audit: before.audit + 1 });
    const mid = await h.rows();
    expect((await t.ok(CreateItem, { input: { listId, title: 'x' } }, VIEWER)).createItem).toMatchObject({
      __typename: 'ForbiddenError',
    });
    expect((await t.ok(CreateItem, { input: { listId, title: 'x' } }, OUTSIDER)).createItem).toMatchObject({
      __typename: 'NotFoundError',
    });
    expect(
      (await t.ok(CreateItem, { input: { listId, title: 'x', fields: [1, 2] } }, EDITOR)).createItem,
    ).toMatchObject({
      __typename: 'ValidationError',
      path: ['input', 'fields'],
    });
    expect(await h.rows()).toEqual(mid);
    expect((await t.ok(ItemNode, { id: item.id }, OUTSIDER)).node).toBeNull();
    expect((await t.ok(ItemNode, { id: item.id }, VIEWER)).node).toMatchObject({ title: 'Acme deal' });
  });

  it('concurrent edits to the same field: one wins, the other gets ConflictError with the current item', async () => {
    const item = await newItem('Same field');
    const before = await h.rows();
    const [a, b] = await Promise.all([
      t.ok(UpdateItem, { input: { id: item.id, expectedVersion: 1, patch: { title: 'From A' } } }, EDITOR),
      t.ok(UpdateItem, { input: { id: item.id, expectedVersion: 1, patch: { title: 'From B' } } }, EDITOR2),
    ]);
    const results = [a.updateItem, b.updateItem];
    const won = results.filter((r) => r.__typename === 'UpdateItemPayload');
    const lost = results.filter((r) => r.__typename === 'ConflictError');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const winner = won[0]?.__typename === 'UpdateItemPayload' ? won[0].item : null;
    expect(winner?.version).toBe(2);
    expect(lost[0]).toMatchObject({ code: 'CONFLICT', currentItem: { id: item.id, title: winner?.title, version: 2 } });
    // Only the winner wrote: one update of the row, one audit row.
    expect(await h.rows()).toEqual({ ...before, audit: before.audit + 1 });
  });

  it('concurrent edits to different fields both apply and merge', async () => {
    const item = await newItem('Different fields', { stage: 'lead', owner: 'ann' });
    const [a, b] = await Promise.all([
      t.ok(UpdateItem, { input: { id: item.id, expectedVersion: 1, patch: { fields: { stage: 'won' } } } }, EDITOR),
      t.ok(UpdateItem, { input: { id: item.id, expectedVersion: 1, patch: { title: 'Renamed' } } }, EDITOR2),
    ]);
    expect(a.updateItem.__typename).toBe('UpdateItemPayload');
    expect(b.updateItem.__typename).toBe('UpdateItemPayload');
    const node = await t.server.services.db.item.findUniqueOrThrow({ where: { id: itemDbId(item.id) } });
    expect(node).toMatchObject({ title: 'Renamed', fields: { stage: 'won', owner: 'ann' }, version: 3 });
    // A later patch based on version 1 that touches a field changed since then conflicts.
    const stale = await t.ok(
      UpdateItem,
      { input: { id: item.id, expectedVersion: 1, patch: { fields: { stage: 'lost' } } } },
      EDITOR,
    );
    expect(stale.updateItem).toMatchObject({ __typename: 'ConflictError', currentItem: { version: 3 } });
    // …while one touching only untouched fields merges, and null removes a key.
    const merge = await t.ok(
      UpdateItem,
      { input: { id: item.id, expectedVersion: 1, patch: { fields: { owner: null, note: 'hi' } } } },
      EDITOR,
    );
    expect(merge.updateItem).toMatchObject({
      changedFields: ['owner', 'note'],
      item: { title: 'Renamed', fields: { stage: 'won', note: 'hi' }, version: 4 },
    });
  });

  it('refuses a bad patch with a ValidationError, writing nothing; viewers cannot edit', async () => {
    const item = await newItem('Validated');
    const before = await h.rows();
    const empty = await t.ok(UpdateItem, { input: { id: item.id, expectedVersion: 1, patch: {} } }, EDITOR);
    expect(empty.updateItem).toMatchObject({ __typename: 'ValidationError', path: ['input', 'patch'] });
    const future = await t.ok(
      UpdateItem,
      { input: { id: item.id, expectedVersion: 9, patch: { title: 'x' } } },
      EDITOR,
    );
    expect(future.updateItem).toMatchObject({ __typename: 'ValidationError', path: ['input', 'expectedVersion'] });
    const blank = await t.ok(UpdateItem, { input: { id: item.id, expectedVersion: 1, patch: { title: ' ' } } }, EDITOR);
    expect(blank.updateItem).toMatchObject({ __typename: 'ValidationError' });
    const viewer = await t.ok(
      UpdateItem,
      { input: { id: item.id, expectedVersion: 1, patch: { title: 'v' } } },
      VIEWER,
    );
    expect(viewer.updateItem).toMatchObject({ __typename: 'ForbiddenError' });
    expect((await t.ok(DeleteItem, { input: { id: item.id } }, VIEWER)).deleteItem).toMatchObject({
      __typename: 'ForbiddenError',
    });
    expect(await h.rows()).toEqual(before);
  });

  it('moves items and deletes them', async () => {
    const ws = await t.server.services.db.list.create({
      data: {
        workspaceId: wsDbId,
        name: 'Order',
        kind: 'SHAREABLE',
        generalAccess: 'RESTRICTED',
        creatorId: (await t.server.services.db.user.findUniqueOrThrow({ where: { email: EDITOR } })).id,
      },
    });
    const orderList = Buffer.from(`List:${ws.id}`).toString('base64');
    const ids: string[] = [];
    for (const title of ['A', 'B', 'C']) {
      const res = await t.ok(CreateItem, { input: { listId: orderList, title } }, EDITOR);
      if (res.createItem.__typename === 'CreateItemPayload') ids.push(res.createItem.item.id);
    }
    const titles = async () =>
      (await t.ok(Items, { id: orderList }, EDITOR)).list?.items.edges.map((e) => e.node.title);
    expect(await titles()).toEqual(['A', 'B', 'C']);
    await t.ok(MoveItem, { input: { id: ids[2] ?? '', afterId: null } }, EDITOR);
    expect(await titles()).toEqual(['C', 'A', 'B']);
    await t.ok(MoveItem, { input: { id: ids[2] ?? '', afterId: ids[0] } }, EDITOR);
    expect(await titles()).toEqual(['A', 'C', 'B']);
    const self = await t.ok(MoveItem, { input: { id: ids[0] ?? '', afterId: ids[0] } }, EDITOR);
    expect(self.moveItem).toMatchObject({ __typename: 'ValidationError' });
    const del = await t.ok(DeleteItem, { input: { id: ids[1] ?? '' } }, EDITOR);
    expect(del.deleteItem).toMatchObject({ __typename: 'DeleteItemPayload', itemId: ids[1] });
    expect(await titles()).toEqual(['A', 'C']);
  });
});

describe('postUpdate', () => {
  it('editors post and reply; viewers cannot; the workspace rule and the account cap apply', async () => {
    const item = await newItem('Talked about');
    const posted = await t.ok(PostUpdate, { input: { itemId: item.id, body: 'Called them' } }, EDITOR);
    expect(posted.postUpdate).toMatchObject({
      update: { kind: 'UPDATE', body: 'Called them', author: { email: EDITOR } },
    });
    if (posted.postUpdate.__typename !== 'PostUpdatePayload') throw new Error('not posted');
    const reply = await t.ok(
      PostUpdate,
      { input: { itemId: item.id, body: 'Nice', parentId: posted.postUpdate.update.id } },
      EDITOR2,
    );
    expect(reply.postUpdate).toMatchObject({ update: { kind: 'REPLY', parent: { id: posted.postUpdate.update.id } } });

    const before = await h.rows();
    const byViewer = await t.ok(PostUpdate, { input: { itemId: item.id, body: 'Me too', kind: 'COMMENT' } }, VIEWER);
    expect(byViewer.postUpdate).toMatchObject({ __typename: 'ForbiddenError' });
    const empty = await t.ok(PostUpdate, { input: { itemId: item.id, body: '  ' } }, EDITOR);
    expect(empty.postUpdate).toMatchObject({ __typename: 'ValidationError', path: ['input', 'body'] });

    const db = t.server.services.db;
    await db.workspacePermission.create({
      data: { workspaceId: wsDbId, audience: 'MEMBER', action: 'POST_UPDATE', allowed: false },
    });
    const denied = await t.ok(PostUpdate, { input: { itemId: item.id, body: 'Again' } }, EDITOR);
    expect(denied.postUpdate).toMatchObject({
      __typename: 'ForbiddenError',
      message: expect.stringMatching(/POST_UPDATE/),
    });
    const comment = await t.ok(PostUpdate, { input: { itemId: item.id, body: 'A comment', kind: 'COMMENT' } }, EDITOR);
    expect(comment.postUpdate).toMatchObject({ update: { kind: 'COMMENT' } });
    const account = await db.workspace.findUniqueOrThrow({ where: { id: wsDbId } });
    await db.accountActionCap.create({
      data: { accountId: account.accountId, action: 'COMMENT', role: 'MEMBER', allowed: false },
    });
    const capped = await t.ok(PostUpdate, { input: { itemId: item.id, body: 'Capped', kind: 'COMMENT' } }, EDITOR);
    expect(capped.postUpdate).toMatchObject({ __typename: 'ForbiddenError' });
    expect(await h.rows()).toEqual({ ...before, updates: before.updates + 1, audit: before.audit + 1 });

    const node = await t.ok(ItemNode, { id: item.id }, VIEWER);
    expect(node.node).toMatchObject({
      updates: { edges: [{ node: { kind: 'UPDATE' } }, { node: { kind: 'REPLY' } }, { node: { kind: 'COMMENT' } }] },
    });
  });
});

function itemDbId(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString().split(':').slice(1).join(':');
}
