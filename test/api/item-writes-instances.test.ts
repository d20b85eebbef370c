import { decodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTwoInstances, type TwoInstances } from '../helpers/server.ts';
import { servicesAvailable } from '../helpers/services.ts';

// Each instance sends the item changes of a list that queue behind its statement in flight
// together (src/modules/item/service.ts); two instances writing one list still take turns on its
// sequence row, and between them every change is numbered once, without gaps.

const CreateItem = graphql(`
  mutation IwiCreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id } } ... on Error { code message } }
  }
`);

const OWNER = 'owner@item-writes-instances.test';
const EDITOR = 'editor@item-writes-instances.test';
const available = await servicesAvailable();
const dbId = (globalId: string) => decodeGlobalID(globalId).id;

describe.skipIf(!available)('item writes on two instances', () => {
  let both: TwoInstances;
  let listId: string;
  beforeAll(async () => {
    both = await startTwoInstances();
    const h = listHelpers(both.a);
    const accountId = await h.account('admin@item-writes-instances.test', [OWNER, EDITOR]);
    const ws = await h.workspace(accountId, OWNER, 'CLOSED', [EDITOR]);
    listId = await h.list(ws.id, OWNER, 'SHAREABLE');
    await h.share(OWNER, { listId, role: 'EDITOR', userId: await h.userId(EDITOR) });
  });
  afterAll(async () => {
    await both?.close();
  });

  it('concurrent creates on one list from both: each once, numbered without gaps, heard by both', async () => {
    const heard = { a: new Set<number>(), b: new Set<number>() };
    const stops = (['a', 'b'] as const).map((k) =>
      both[k].server.services.realtime.listen('list:events', dbId(listId), (e) => heard[k].add(e.seq)),
    );
    await Promise.all([both.a.server.services.realtime.ready(), both.b.server.services.realtime.ready()]);
    try {
      const results = await Promise.all(
        Array.from({ length: 32 }, (_, i) =>
          (i % 2 ? both.b : both.a).ok(CreateItem, { input: { listId, title: `I${i}` } }, i % 3 ? EDITOR : OWNER),
        ),
      );
      const items = results.map((r) => {
        if (r.createItem.__typename !== 'CreateItemPayload') throw new Error(JSON.stringify(r));
        return r.createItem.item;
      });
      const db = both.a.server.services.db;
      const events = await db.listEvent.findMany({ where: { listId: dbId(listId) }, orderBy: { seq: 'asc' } });
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      const created = events.filter((e) => e.kind === 'ITEM_CREATED');
      expect(created.map((e) => (e.data as { itemId: string }).itemId).sort()).toEqual(
        items.map((i) => dbId(i.id)).sort(),
      );
      expect(await db.auditEvent.count({ where: { action: 'item.create', resourceId: dbId(listId) } })).toBe(32);
      for (const k of ['a', 'b'] as const)
        await expect.poll(() => created.every((e) => heard[k].has(e.seq)), { timeout: 5_000 }).toBe(true);
    } finally {
      for (const stop of stops) stop();
    }
  });
});
