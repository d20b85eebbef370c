import { decodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import type { IwPostUpdateMutation } from '../generated/graphql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Each item mutation writes its change and its audit row in one statement (issue 8): these pin
// what that statement must keep doing under concurrency and on refusal.

const CreateItem = graphql(`
  mutation IwCreateItem($input: CreateItemInput!) {
    createItem(input: $input) {
      __typename
      ... on CreateItemPayload { item { id title fields version fieldVersions position createdAt updatedAt } }
      ... on Error { code message }
    }
  }
`);
const UpdateItem = graphql(`
  mutation IwUpdateItem($input: UpdateItemInput!) {
    updateItem(input: $input) {
      __typename
      ... on UpdateItemPayload { changedFields item { id title fields version fieldVersions updatedAt updatedBy { email } } }
      ... on ConflictError { code message currentItem { id version } }
      ... on Error { code message }
    }
  }
`);
const MoveItem = graphql(`
  mutation IwMoveItem($input: MoveItemInput!) {
    moveItem(input: $input) { __typename ... on MoveItemPayload { item { id position } } ... on Error { code message } }
  }
`);
const DeleteItem = graphql(`
  mutation IwDeleteItem($input: DeleteItemInput!) {
    deleteItem(input: $input) { __typename ... on DeleteItemPayload { itemId } ... on Error { code message } }
  }
`);
const PostUpdate = graphql(`
  mutation IwPostUpdate($input: PostUpdateInput!) {
    postUpdate(input: $input) {
      __typename
      ... on PostUpdatePayload { update { id kind createdAt parent { id } } }
      ... on ValidationError { path }
      ... on Error { code message }
    }
  }
`);

const OWNER = 'owner@item-writes.test';
const EDITOR = 'editor@item-writes.test';
const VIEWER = 'viewer@item-writes.test';

let t: TestServer;
let h: ReturnType<typeof listHelpers>;
let listId: string;
let otherListId: string;
let workspaceId: string;
beforeAll(async () => {
  t = await startTestServer();
  h = listHelpers(t);
  const accountId = await h.account('admin@item-writes.test', [OWNER, EDITOR, VIEWER]);
  const ws = await h.workspace(accountId, OWNER, 'CLOSED', [EDITOR, VIEWER]);
  workspaceId = ws.id;
  listId = await h.list(ws.id, OWNER, 'SHAREABLE');
  otherListId = await h.list(ws.id, OWNER, 'SHAREABLE', 'Other');
  for (const list of [listId, otherListId])
    await h.share(OWNER, { listId: list, role: 'EDITOR', userId: await h.userId(EDITOR) });
  await h.share(OWNER, { listId, role: 'VIEWER', userId: await h.userId(VIEWER) });
});
afterAll(async () => {
  await t?.close();
});

async function newItem(title: string, fields: Record<string, unknown> = {}, list = listId) {
  const res = await t.ok(CreateItem, { input: { listId: list, title, fields } }, EDITOR);
  if (res.createItem.__typename !== 'CreateItemPayload') throw new Error(JSON.stringify(res));
  return res.createItem.item;
}

const dbId = (globalId: string) => decodeGlobalID(globalId).id;

function auditOf(resourceId: string) {
  return t.server.services.db.auditEvent.findMany({ where: { resourceId }, orderBy: { id: 'asc' } });
}

describe('item writes', () => {
  it('createItem appends, stamps the times in UTC and writes its audit row', async () => {
    const before = Date.now();
    const first = await newItem('First', { a: 1 });
    const second = await newItem('Second');
    expect(second.position).toBe(first.position + 1);
    for (const stamp of [first.createdAt, first.updatedAt])
      expect(Math.abs(new Date(stamp).getTime() - before)).toBeLessThan(60_000);
    const rows = await t.server.services.db.auditEvent.findMany({
      where: { action: 'item.create', resourceId: dbId(listId) },
      orderBy: { id: 'asc' },
    });
    expect(rows.slice(-2).map((r) => r.data)).toEqual([
      { listId: dbId(listId), title: 'First' },
      { listId: dbId(listId), title: 'Second' },
    ]);
  });

  it('twenty concurrent edits of different fields all apply, each with its own version', async () => {
    const item = await newItem('Busy');
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const results = await Promise.all(
      keys.map((key, i) =>
        t.ok(
          UpdateItem,
          { input: { id: item.id, expectedVersion: 1, patch: { fields: { [key]: i } } } },
          i % 2 ? EDITOR : OWNER,
        ),
      ),
    );
    const versions = results.map((r) =>
      r.updateItem.__typename === 'UpdateItemPayload' ? r.updateItem.item.version : r.updateItem.__typename,
    );
    expect([...versions].sort((a, b) => Number(a) - Number(b))).toEqual(keys.map((_, i) => i + 2));
    const row = await t.server.services.db.item.findUniqueOrThrow({ where: { id: dbId(item.id) } });
    expect(row.version).toBe(21);
    expect(row.fields).toEqual(Object.fromEntries(keys.map((key, i) => [key, i])));
    // Each field's version is the version its own edit made.
    results.forEach((r, i) => {
      if (r.updateItem.__typename !== 'UpdateItemPayload') throw new Error('not applied');
      expect((row.fieldVersions as Record<string, number>)[`fields.k${i}`]).toBe(r.updateItem.item.version);
    });
    const audit = await auditOf(dbId(item.id));
    expect(audit.filter((a) => a.action === 'item.update')).toHaveLength(20);
  });

  it('concurrent edits of one field: exactly one applies; the others conflict and write nothing', async () => {
    const item = await newItem('Contested', { stage: 'lead' });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        t.ok(UpdateItem, { input: { id: item.id, expectedVersion: 1, patch: { fields: { stage: `s${i}` } } } }, EDITOR),
      ),
    );
    const applied = results.flatMap((r) => (r.updateItem.__typename === 'UpdateItemPayload' ? [r.updateItem] : []));
    expect(applied).toHaveLength(1);
    for (const r of results)
      if (r.updateItem.__typename !== 'UpdateItemPayload')
        expect(r.updateItem).toMatchObject({
          __typename: 'ConflictError',
          message: expect.stringContaining('fields.stage'),
          currentItem: { id: item.id, version: 2 },
        });
    const row = await t.server.services.db.item.findUniqueOrThrow({ where: { id: dbId(item.id) } });
    expect(row).toMatchObject({ version: 2, fields: applied[0]?.item.fields });
    expect((await auditOf(dbId(item.id))).filter((a) => a.action === 'item.update')).toHaveLength(1);
  });

  it('updateItem merges key by key, removes null keys, bumps the touched versions, audits and stamps', async () => {
    const item = await newItem('Merge', { a: 1, b: { nested: null }, c: 'x' });
    const before = Date.now();
    const res = await t.ok(
      UpdateItem,
      { input: { id: item.id, expectedVersion: 1, patch: { title: 'Merged', fields: { a: null, d: [1, null] } } } },
      OWNER,
    );
    expect(res.updateItem).toMatchObject({
      __typename: 'UpdateItemPayload',
      changedFields: ['title', 'a', 'd'],
      item: {
        title: 'Merged',
        fields: { b: { nested: null }, c: 'x', d: [1, null] },
        version: 2,
        fieldVersions: { title: 2, 'fields.a': 2, 'fields.b': 1, 'fields.c': 1, 'fields.d': 2 },
        updatedBy: { email: OWNER },
      },
    });
    if (res.updateItem.__typename !== 'UpdateItemPayload') throw new Error('not applied');
    expect(Math.abs(new Date(res.updateItem.item.updatedAt).getTime() - before)).toBeLessThan(60_000);
    const [, update] = await auditOf(dbId(item.id)).then((rows) => [null, rows.at(-1)]);
    expect(update).toMatchObject({
      action: 'item.update',
      resourceType: 'Item',
      data: { listId: dbId(listId), changedFields: ['title', 'a', 'd'], expectedVersion: 1 },
    });
  });

  it('of two concurrent deletes one applies, the other is NOT_FOUND; a deleted item is NOT_FOUND to every item mutation', async () => {
    const item = await newItem('Gone');
    const deletes = await Promise.all(
      [EDITOR, OWNER].map(async (as) => (await t.ok(DeleteItem, { input: { id: item.id } }, as)).deleteItem),
    );
    expect(deletes.map((d) => d.__typename).sort()).toEqual(['DeleteItemPayload', 'NotFoundError']);
    expect((await auditOf(dbId(item.id))).map((a) => a.action)).toEqual(['item.delete']);
    const before = await h.rows();
    const again = await Promise.all([
      t.ok(DeleteItem, { input: { id: item.id } }, EDITOR).then((r) => r.deleteItem),
      t
        .ok(UpdateItem, { input: { id: item.id, expectedVersion: 1, patch: { title: 'x' } } }, EDITOR)
        .then((r) => r.updateItem),
      t.ok(MoveItem, { input: { id: item.id } }, EDITOR).then((r) => r.moveItem),
      t.ok(PostUpdate, { input: { itemId: item.id, body: 'x' } }, EDITOR).then((r) => r.postUpdate),
    ]);
    for (const r of again) expect(r).toMatchObject({ __typename: 'NotFoundError' });
    expect(await h.rows()).toEqual(before);
  });

  it('an item this instance knows, deleted by another instance, is NOT_FOUND to editors and viewers alike', async () => {
    const item = await newItem('Deleted elsewhere');
    const sibling = await newItem('Its sibling');
    const post = await t.ok(PostUpdate, { input: { itemId: item.id, body: 'Before' } }, EDITOR);
    if (post.postUpdate.__typename !== 'PostUpdatePayload') throw new Error('not posted');
    await t.server.services.db.item.delete({ where: { id: dbId(item.id) } });
    const before = await h.rows();
    const audit = await t.server.services.db.auditEvent.count();
    const update = { id: item.id, expectedVersion: 1, patch: { title: 'x' } };
    const answers = [
      (await t.ok(UpdateItem, { input: update }, EDITOR)).updateItem,
      (await t.ok(UpdateItem, { input: update }, VIEWER)).updateItem,
      (await t.ok(MoveItem, { input: { id: item.id } }, EDITOR)).moveItem,
      (await t.ok(MoveItem, { input: { id: item.id, afterId: sibling.id } }, EDITOR)).moveItem,
      (await t.ok(PostUpdate, { input: { itemId: item.id, body: 'x' } }, EDITOR)).postUpdate,
      (await t.ok(PostUpdate, { input: { itemId: item.id, body: 'x', parentId: post.postUpdate.update.id } }, EDITOR))
        .postUpdate,
      (await t.ok(PostUpdate, { input: { itemId: item.id, body: 'x', kind: 'COMMENT' } }, VIEWER)).postUpdate,
      (await t.ok(DeleteItem, { input: { id: item.id } }, EDITOR)).deleteItem,
      (await t.ok(DeleteItem, { input: { id: item.id } }, VIEWER)).deleteItem,
    ];
    for (const answer of answers) expect(answer).toMatchObject({ __typename: 'NotFoundError' });
    expect(await h.rows()).toEqual(before);
    expect(await t.server.services.db.auditEvent.count()).toBe(audit);
  });

  it('moveItem after an item of another list, or a reply to an update of another item, is refused and writes nothing', async () => {
    const item = await newItem('Stays');
    const elsewhere = await newItem('Elsewhere', {}, otherListId);
    const sibling = await newItem('Sibling');
    const post = await t.ok(PostUpdate, { input: { itemId: sibling.id, body: 'On the sibling' } }, EDITOR);
    if (post.postUpdate.__typename !== 'PostUpdatePayload') throw new Error('not posted');
    const before = await h.rows();
    const audit = await t.server.services.db.auditEvent.count();
    expect((await t.ok(MoveItem, { input: { id: item.id, afterId: elsewhere.id } }, EDITOR)).moveItem).toMatchObject({
      __typename: 'ValidationError',
    });
    const reply = await t.ok(
      PostUpdate,
      { input: { itemId: item.id, body: 'Wrong thread', parentId: post.postUpdate.update.id } },
      EDITOR,
    );
    expect(reply.postUpdate).toMatchObject({ __typename: 'ValidationError', path: ['input', 'parentId'] });
    expect(await h.rows()).toEqual(before);
    expect(await t.server.services.db.auditEvent.count()).toBe(audit);
    const row = await t.server.services.db.item.findUniqueOrThrow({ where: { id: dbId(item.id) } });
    expect(row.position).toBe(item.position);
  });

  it('moveItem places between neighbours or first; replies and updates get increasing ids', async () => {
    const list = await h.list(workspaceId, OWNER, 'SHAREABLE', 'Order');
    await h.share(OWNER, { listId: list, role: 'EDITOR', userId: await h.userId(EDITOR) });
    const [a, b, c] = [await newItem('A', {}, list), await newItem('B', {}, list), await newItem('C', {}, list)];
    const between = await t.ok(MoveItem, { input: { id: c.id, afterId: a.id } }, EDITOR);
    expect(between.moveItem).toMatchObject({ item: { position: (a.position + b.position) / 2 } });
    const last = await t.ok(MoveItem, { input: { id: a.id, afterId: b.id } }, EDITOR);
    expect(last.moveItem).toMatchObject({ item: { position: b.position + 1 } });
    const first = await t.ok(MoveItem, { input: { id: b.id, afterId: null } }, EDITOR);
    expect(first.moveItem).toMatchObject({ item: { position: (a.position + b.position) / 2 - 1 } });

    const ids: string[] = [];
    let parentId: string | null = null;
    for (let i = 0; i < 5; i++) {
      const res: IwPostUpdateMutation = await t.ok(
        PostUpdate,
        { input: { itemId: a.id, body: `Post ${i}`, parentId } },
        EDITOR,
      );
      if (res.postUpdate.__typename !== 'PostUpdatePayload') throw new Error(JSON.stringify(res));
      expect(res.postUpdate.update).toMatchObject({
        kind: i ? 'REPLY' : 'UPDATE',
        parent: parentId ? { id: parentId } : null,
      });
      ids.push(dbId(res.postUpdate.update.id));
      parentId = res.postUpdate.update.id;
    }
    expect([...ids].sort()).toEqual(ids);
  });

  // Changes of one list that queue on an instance while its last statement is in flight go
  // together in the next one (src/modules/item/service.ts): one sequence lock and one commit.
  async function concurrentOnNewList(
    count: number,
    act: (list: string, i: number) => Promise<unknown>,
    applied = count,
  ) {
    const list = await h.list(workspaceId, OWNER, 'SHAREABLE', `Busy ${count}`);
    await h.share(OWNER, { listId: list, role: 'EDITOR', userId: await h.userId(EDITOR) });
    const published: number[] = [];
    const stop = t.server.services.realtime.listen('list:events', dbId(list), (e) => published.push(e.seq));
    await t.server.services.realtime.ready();
    try {
      const results = await Promise.all(Array.from({ length: count }, (_, i) => act(list, i)));
      await expect.poll(() => published.length).toBeGreaterThanOrEqual(applied);
      const events = await t.server.services.db.listEvent.findMany({
        where: { listId: dbId(list) },
        orderBy: { seq: 'asc' },
      });
      return { list, results, published, events };
    } finally {
      stop();
    }
  }

  /** The transaction that wrote each event of the list, by its number. */
  async function writersOf(list: string): Promise<Map<number, string>> {
    const rows = await t.server.services.db.$queryRaw<{ seq: number; xid: string }[]>`
      SELECT "seq", xmin::text AS "xid" FROM "ListEvent" WHERE "listId" = ${dbId(list)}`;
    return new Map(rows.map((r) => [r.seq, r.xid]));
  }

  it('concurrent creates on one list share statements: each audited once, its own event, numbered without gaps and published in order, positions apart', async () => {
    const { list, results, published, events } = await concurrentOnNewList(24, (list, i) =>
      t.ok(CreateItem, { input: { listId: list, title: `C${i}` } }, i % 2 ? EDITOR : OWNER),
    );
    const items = results.map((r) => {
      const c = (r as { createItem: { __typename: string; item?: { id: string; position: number } } }).createItem;
      if (!c.item) throw new Error(JSON.stringify(c));
      return c.item;
    });
    const created = events.filter((e) => e.kind === 'ITEM_CREATED');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(created).toHaveLength(items.length);
    expect(published.slice(-items.length)).toEqual(created.map((e) => e.seq));
    // Each event says what it says alone, and nothing else.
    expect(new Set(created.map((e) => JSON.stringify(e.data)))).toEqual(
      new Set(items.map((i) => JSON.stringify({ itemId: dbId(i.id), version: 1 }))),
    );
    // Some of them were written by one statement.
    const writers = await writersOf(list);
    expect(new Set(created.map((e) => writers.get(e.seq))).size).toBeLessThan(created.length);
    expect(new Set(items.map((i) => i.position)).size).toBe(items.length);
    // Positions follow the events' order: the list reads in the order the items were added.
    const byId = new Map(items.map((i) => [dbId(i.id), i.position]));
    const positions = created.map((e) => byId.get((e.data as { itemId: string }).itemId) as number);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    const audit = await t.server.services.db.auditEvent.findMany({
      where: { action: 'item.create', resourceId: dbId(list) },
    });
    expect(audit.map((a) => (a.data as { title: string }).title).sort()).toEqual(items.map((_, i) => `C${i}`).sort());
  });

  it('concurrent edits of many items of one list share statements; edits of one item never share one', async () => {
    const list = await h.list(workspaceId, OWNER, 'SHAREABLE', 'Edited together');
    await h.share(OWNER, { listId: list, role: 'EDITOR', userId: await h.userId(EDITOR) });
    const items = [];
    for (let i = 0; i < 8; i++) items.push(await newItem(`E${i}`, {}, list));
    const before = await t.server.services.db.listEvent.count({ where: { listId: dbId(list) } });
    // Three edits of each item, of different fields, all from version 1: every one applies.
    const edits = items.flatMap((item) => [0, 1, 2].map((k) => ({ item, k })));
    const results = await Promise.all(
      edits.map(({ item, k }) =>
        t.ok(UpdateItem, { input: { id: item.id, expectedVersion: 1, patch: { fields: { [`f${k}`]: k } } } }, EDITOR),
      ),
    );
    for (const r of results) expect(r.updateItem.__typename).toBe('UpdateItemPayload');
    const events = await t.server.services.db.listEvent.findMany({
      where: { listId: dbId(list), seq: { gt: before } },
      orderBy: { seq: 'asc' },
    });
    expect(events.map((e) => e.seq)).toEqual(edits.map((_, i) => before + i + 1));
    // Some were written by one statement, never two of one item.
    const writers = await writersOf(list);
    const together = new Map<string, string[]>();
    for (const e of events) {
      const xid = writers.get(e.seq) as string;
      together.set(xid, [...(together.get(xid) ?? []), (e.data as { itemId: string }).itemId]);
    }
    expect(together.size).toBeLessThan(events.length);
    for (const itemIds of together.values()) expect(new Set(itemIds).size).toBe(itemIds.length);
    for (const item of items) {
      const row = await t.server.services.db.item.findUniqueOrThrow({ where: { id: dbId(item.id) } });
      expect(row).toMatchObject({ version: 4, fields: { f0: 0, f1: 1, f2: 2 } });
      // Each event carries the version its own edit made.
      const versions = events
        .filter((e) => (e.data as { itemId: string }).itemId === dbId(item.id))
        .map((e) => (e.data as { version: number }).version);
      expect(versions).toEqual([2, 3, 4]);
      for (const e of events.filter((e) => (e.data as { itemId: string }).itemId === dbId(item.id)))
        expect(e.data).toEqual({
          itemId: dbId(item.id),
          changedFields: [expect.stringMatching(/^f[012]$/)],
          version: (e.data as { version: number }).version,
        });
    }
    expect(
      await t.server.services.db.auditEvent.count({
        where: { action: 'item.update', resourceId: { in: items.map((i) => dbId(i.id)) } },
      }),
    ).toBe(24);
  });

  it('a change that fails its statement fails alone: the changes sent with it are written one by one', async () => {
    // A trigger stands for what no input check foresees: the database refuses one change of a
    // statement (sent with others: concurrent changes of a list queue behind its first).
    const db = t.server.services.db;
    await db.$executeRawUnsafe(`CREATE FUNCTION "test_refuse"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW."title" LIKE 'refused%' THEN RAISE EXCEPTION 'refused by the test'; END IF;
        RETURN NEW;
      END $$`);
    await db.$executeRawUnsafe(
      `CREATE TRIGGER "test_refuse" BEFORE INSERT ON "Item" FOR EACH ROW EXECUTE FUNCTION "test_refuse"()`,
    );
    try {
      const { list, results, events } = await concurrentOnNewList(
        24,
        (list, i) =>
          t.gql(CreateItem, { input: { listId: list, title: i % 4 === 3 ? `refused ${i}` : `ok ${i}` } }, EDITOR),
        18,
      );
      results.forEach((r, i) => {
        const res = r as { data?: { createItem: { __typename: string } } | null; errors?: unknown[] };
        if (i % 4 === 3) expect(res, JSON.stringify(res)).toMatchObject({ errors: [{}] });
        else expect(res.data?.createItem.__typename).toBe('CreateItemPayload');
      });
      const created = events.filter((e) => e.kind === 'ITEM_CREATED');
      expect(created).toHaveLength(18);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(await db.auditEvent.count({ where: { action: 'item.create', resourceId: dbId(list) } })).toBe(18);
    } finally {
      await db.$executeRawUnsafe(`DROP TRIGGER "test_refuse" ON "Item"`);
      await db.$executeRawUnsafe(`DROP FUNCTION "test_refuse"()`);
    }
  });
});
