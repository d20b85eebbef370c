import type { ListFacts } from '../../access/facts.ts';
import type { ListQuestion } from '../../access/rules.ts';
import type { Context, Viewer } from '../../context.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import type { Item, ItemUpdate, Prisma, UpdateKind } from '../../generated/prisma/client.ts';
import { listChange, publishListEvent, requireList } from '../list/service.ts';

type Ctx = Context & { viewer: Viewer };

/** A JSON object of item fields. */
export type ItemFields = Record<string, Prisma.InputJsonValue | null>;

/** `fieldVersions` keys: `title`, and `fields.<key>` for each custom field (no clash with a field named "title"). */
export function versionKey(field: string): string {
  return `fields.${field}`;
}

export function asFields(value: unknown, path: string[]): ItemFields {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new ValidationError('fields must be a JSON object', path);
  return value as ItemFields;
}

async function loadItem(ctx: Ctx, itemId: string, question: ListQuestion): Promise<{ item: Item; facts: ListFacts }> {
  const item = await ctx.db.item.findUnique({ where: { id: itemId } });
  // An item of a list the viewer cannot read looks the same as no item.
  if (!item || !(await ctx.access.listRole(item.listId))) throw new NotFoundError('The item');
  return { item, facts: await requireList(ctx, item.listId, question) };
}

/** Adds an item at the end of a list (editors and above). */
export async function createItem(
  ctx: Ctx,
  input: { listId: string; title: string; fields: ItemFields },
): Promise<Item> {
  const facts = await requireList(ctx, input.listId, 'list:edit');
  const item = await listChange(ctx, facts, 'item.create', { title: input.title }, async (tx) => {
    const last = await tx.item.findFirst({ where: { listId: facts.listId }, orderBy: { position: 'desc' } });
    const versions: Record<string, number> = { title: 1 };
    for (const key of Object.keys(input.fields)) versions[versionKey(key)] = 1;
    return tx.item.create({
      data: {
        listId: facts.listId,
        title: input.title,
        fields: input.fields,
        fieldVersions: versions,
        position: (last?.position ?? 0) + 1,
        createdById: ctx.viewer.id,
        updatedById: ctx.viewer.id,
      },
    });
  });
  publishListEvent(ctx, { kind: 'ITEM_CREATED', listId: facts.listId, itemId: item.id, version: item.version });
  return item;
}

interface LockedItem {
  id: string;
  version: number;
  title: string;
  fields: Prisma.JsonValue;
  fieldVersions: Prisma.JsonValue;
}

/**
 * Applies a patch when none of the fields it touches changed since `expectedVersion`; fields merge
 * key by key (null removes a key). The row is locked (SELECT … FOR UPDATE) for the check and the
 * write, so of two concurrent edits to one field exactly one wins; the other gets CONFLICT with
 * the current item.
 */
export async function updateItem(
  ctx: Ctx,
  input: { id: string; expectedVersion: number; patch: { title?: string | null; fields?: ItemFields | null } },
): Promise<{ item: Item; changedFields: string[] }> {
  const { item, facts } = await loadItem(ctx, input.id, 'list:edit');
  const patchFields = input.patch.fields ?? {};
  const touched = [
    ...(input.patch.title != null ? ['title'] : []),
    ...Object.keys(patchFields).map((k) => versionKey(k)),
  ];
  if (!touched.length) throw new ValidationError('The patch changes nothing', ['input', 'patch']);
  if (input.expectedVersion < 1 || input.expectedVersion > item.version)
    throw new ValidationError('expectedVersion is not a version of this item', ['input', 'expectedVersion']);
  const changedFields = [...(input.patch.title != null ? ['title'] : []), ...Object.keys(patchFields)];
  const updated = await listChange(
    ctx,
    facts,
    'item.update',
    { changedFields, expectedVersion: input.expectedVersion },
    async (tx) => {
      const [row] = await tx.$queryRaw<LockedItem[]>`
        SELECT "id", "version", "title", "fields", "fieldVersions" FROM "Item" WHERE "id" = ${item.id} FOR UPDATE`;
      if (!row) throw new NotFoundError('The item');
      const versions = { ...(row.fieldVersions as Record<string, number>) };
      const stale = touched.filter((key) => (versions[key] ?? 0) > input.expectedVersion);
      if (stale.length)
        throw new ConflictError(
          `Changed by someone else since version ${input.expectedVersion}: ${stale.join(', ')}`,
          row.id,
        );
      const version = row.version + 1;
      const fields = { ...(row.fields as Record<string, Prisma.InputJsonValue>) };
      for (const [key, value] of Object.entries(patchFields)) {
        if (value === null) delete fields[key];
        else fields[key] = value;
      }
      for (const key of touched) versions[key] = version;
      return tx.item.update({
        where: { id: row.id },
        data: {
          version,
          fields,
          fieldVersions: versions,
          updatedById: ctx.viewer.id,
          ...(input.patch.title != null ? { title: input.patch.title } : {}),
        },
      });
    },
    { type: 'Item', id: item.id },
  );
  publishListEvent(ctx, {
    kind: 'ITEM_UPDATED',
    listId: updated.listId,
    itemId: updated.id,
    changedFields,
    version: updated.version,
  });
  return { item: updated, changedFields };
}

/** Deletes an item (editors and above). */
export async function deleteItem(ctx: Ctx, input: { id: string }): Promise<string> {
  const { item, facts } = await loadItem(ctx, input.id, 'list:edit');
  await listChange(
    ctx,
    facts,
    'item.delete',
    { title: item.title },
    (tx) => tx.item.delete({ where: { id: item.id } }),
    {
      type: 'Item',
      id: item.id,
    },
  );
  publishListEvent(ctx, { kind: 'ITEM_DELETED', listId: item.listId, itemId: item.id });
  return item.id;
}

/** Moves an item right after `afterId` (another item of the same list), or to the top when null. */
export async function moveItem(ctx: Ctx, input: { id: string; afterId?: string | null }): Promise<Item> {
  const { item, facts } = await loadItem(ctx, input.id, 'list:edit');
  if (input.afterId === item.id) throw new ValidationError('An item cannot move after itself', ['input', 'afterId']);
  const moved = await listChange(
    ctx,
    facts,
    'item.move',
    { afterId: input.afterId ?? null },
    async (tx) => {
      let position: number;
      if (input.afterId) {
        const after = await tx.item.findUnique({ where: { id: input.afterId } });
        if (!after || after.listId !== item.listId)
          throw new ValidationError('afterId is not an item of this list', ['input', 'afterId']);
        const next = await tx.item.findFirst({
          where: { listId: item.listId, position: { gt: after.position }, id: { not: item.id } },
          orderBy: { position: 'asc' },
        });
        position = next ? (after.position + next.position) / 2 : after.position + 1;
      } else {
        const first = await tx.item.findFirst({
          where: { listId: item.listId, id: { not: item.id } },
          orderBy: { position: 'asc' },
        });
        position = (first?.position ?? 1) - 1;
      }
      return tx.item.update({ where: { id: item.id }, data: { position, updatedById: ctx.viewer.id } });
    },
    { type: 'Item', id: item.id },
  );
  publishListEvent(ctx, { kind: 'ITEM_MOVED', listId: moved.listId, itemId: moved.id, version: moved.version });
  return moved;
}

const TALK_QUESTION: Record<UpdateKind, ListQuestion> = {
  UPDATE: 'list:post-update',
  REPLY: 'list:reply',
  COMMENT: 'list:comment',
};

/**
 * Posts an update, a reply (to `parentId`) or a comment on an item: editors and above, where the
 * workspace (and the account cap) lets the viewer POST_UPDATE, REPLY or COMMENT.
 */
export async function postUpdate(
  ctx: Ctx,
  input: { itemId: string; body: string; kind: UpdateKind; parentId?: string | null },
): Promise<ItemUpdate> {
  const kind: UpdateKind = input.parentId ? 'REPLY' : input.kind;
  if (kind === 'REPLY' && !input.parentId)
    throw new ValidationError('A reply names the update it answers', ['input', 'parentId']);
  const { item, facts } = await loadItem(ctx, input.itemId, TALK_QUESTION[kind]);
  if (input.parentId) {
    const parent = await ctx.db.itemUpdate.findUnique({ where: { id: input.parentId } });
    if (!parent || parent.itemId !== item.id)
      throw new ValidationError('parentId is not an update of this item', ['input', 'parentId']);
  }
  const update = await listChange(
    ctx,
    facts,
    'item.post-update',
    { itemId: item.id, kind },
    (tx) =>
      tx.itemUpdate.create({
        data: { itemId: item.id, authorId: ctx.viewer.id, kind, parentId: input.parentId ?? null, body: input.body },
      }),
    { type: 'ItemUpdate', id: item.id },
  );
  publishListEvent(ctx, { kind: 'UPDATE_POSTED', listId: item.listId, itemId: item.id, updateId: update.id });
  return update;
}
