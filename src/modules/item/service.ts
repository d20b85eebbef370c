import type { ListFacts } from '../../access/facts.ts';
import type { ListQuestion } from '../../access/rules.ts';
import type { Context, Viewer } from '../../context.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import { type Item, type ItemUpdate, Prisma, type UpdateKind } from '../../generated/prisma/client.ts';
import { auditInsertSql, newRowId, SQL_NOW } from '../audit/service.ts';
import { publishListEvent, requireList } from '../list/service.ts';

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

/** What a mutation needs of the item it acts on before it writes. */
interface ItemHead {
  id: string;
  listId: string;
  title: string;
  version: number;
}

async function loadItem(
  ctx: Ctx,
  itemId: string,
  question: ListQuestion,
): Promise<{ item: ItemHead; facts: ListFacts }> {
  const item = await ctx.db.item.findUnique({
    where: { id: itemId },
    select: { id: true, listId: true, title: true, version: true },
  });
  // An item of a list the viewer cannot read looks the same as no item.
  if (!item || !(await ctx.access.listRole(item.listId))) throw new NotFoundError('The item');
  return { item, facts: await requireList(ctx, item.listId, question) };
}

/**
 * Runs one data-modifying statement (`change`, which returns rows) with its audit row written by
 * the same statement: atomic without an interactive transaction (no BEGIN, no COMMIT), one round
 * trip. Returns what `change` returned; no row, no audit row.
 */
function auditedChange<T>(
  ctx: Ctx,
  facts: ListFacts,
  action: string,
  resource: { type: string; id: string },
  data: Record<string, unknown>,
  change: Prisma.Sql,
): Promise<T[]> {
  const entry = {
    accountId: facts.workspace.account.accountId,
    actorId: ctx.viewer.id,
    action,
    resourceType: resource.type,
    resourceId: resource.id,
    data: { listId: facts.listId, ...data },
  };
  return ctx.db.$queryRaw<T[]>`
    WITH "change" AS (${change}), "audit" AS (${auditInsertSql(entry, Prisma.sql`"change"`)})
    SELECT * FROM "change"`;
}

/** Adds an item at the end of a list (editors and above). */
export async function createItem(
  ctx: Ctx,
  input: { listId: string; title: string; fields: ItemFields },
): Promise<Item> {
  const facts = await requireList(ctx, input.listId, 'list:edit');
  const id = newRowId();
  const versions: Record<string, number> = { title: 1 };
  for (const key of Object.keys(input.fields)) versions[versionKey(key)] = 1;
  const [item] = await auditedChange<Item>(
    ctx,
    facts,
    'item.create',
    { type: 'List', id: facts.listId },
    { title: input.title },
    Prisma.sql`
      INSERT INTO "Item" ("id", "listId", "title", "fields", "fieldVersions", "position", "createdById", "updatedById", "createdAt", "updatedAt")
      SELECT ${id}, ${facts.listId}, ${input.title}, ${JSON.stringify(input.fields)}::jsonb, ${JSON.stringify(versions)}::jsonb,
        COALESCE(MAX("position"), 0) + 1, ${ctx.viewer.id}, ${ctx.viewer.id}, ${SQL_NOW}, ${SQL_NOW}
      FROM "Item" WHERE "listId" = ${facts.listId}
      RETURNING *`,
  );
  if (!item) throw new Error('INSERT … SELECT MAX(…) returned no row');
  publishListEvent(ctx, { kind: 'ITEM_CREATED', listId: facts.listId, itemId: item.id, version: item.version });
  return item;
}

/**
 * Applies a patch when none of the fields it touches changed since `expectedVersion`; fields merge
 * key by key (null removes a key). Check, merge, version bump and audit row are one statement:
 * PostgreSQL re-evaluates an UPDATE's condition and new values on the latest row when a
 * concurrent edit committed first, so of two concurrent edits to one field exactly one wins (the
 * other gets CONFLICT with the current item) and edits to different fields both apply.
 */
export async function updateItem(
  ctx: Ctx,
  input: { id: string; expectedVersion: number; patch: { title?: string | null; fields?: ItemFields | null } },
): Promise<{ item: Item; changedFields: string[] }> {
  const { item, facts } = await loadItem(ctx, input.id, 'list:edit');
  const patchFields = input.patch.fields ?? {};
  const title = input.patch.title ?? null;
  const touched = [...(title !== null ? ['title'] : []), ...Object.keys(patchFields).map((k) => versionKey(k))];
  if (!touched.length) throw new ValidationError('The patch changes nothing', ['input', 'patch']);
  if (input.expectedVersion < 1 || input.expectedVersion > item.version)
    throw new ValidationError('expectedVersion is not a version of this item', ['input', 'expectedVersion']);
  const changedFields = [...(title !== null ? ['title'] : []), ...Object.keys(patchFields)];
  const entries = Object.entries(patchFields);
  const set = Object.fromEntries(entries.filter(([, value]) => value !== null));
  const removed = entries.filter(([, value]) => value === null).map(([key]) => key);
  const touchedKeys = Prisma.sql`jsonb_array_elements_text(${JSON.stringify(touched)}::jsonb) AS k`;
  const [updated] = await auditedChange<Item>(
    ctx,
    facts,
    'item.update',
    { type: 'Item', id: item.id },
    { changedFields, expectedVersion: input.expectedVersion },
    Prisma.sql`
      UPDATE "Item" SET
        "version" = "version" + 1,
        "title" = COALESCE(${title}::text, "title"),
        "fields" = ("fields" - ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(removed)}::jsonb)))
          || ${JSON.stringify(set)}::jsonb,
        "fieldVersions" = "fieldVersions" || (SELECT jsonb_object_agg(k, "version" + 1) FROM ${touchedKeys}),
        "updatedById" = ${ctx.viewer.id},
        "updatedAt" = ${SQL_NOW}
      WHERE "id" = ${item.id}
        AND (SELECT COALESCE(MAX(("fieldVersions" ->> k)::int), 0) FROM ${touchedKeys}) <= ${input.expectedVersion}
      RETURNING *`,
  );
  if (!updated) {
    const current = await ctx.db.item.findUnique({ where: { id: item.id }, select: { fieldVersions: true } });
    if (!current) throw new NotFoundError('The item');
    const versions = current.fieldVersions as Record<string, number>;
    const stale = touched.filter((key) => (versions[key] ?? 0) > input.expectedVersion);
    throw new ConflictError(
      `Changed by someone else since version ${input.expectedVersion}: ${stale.join(', ')}`,
      item.id,
    );
  }
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
  const [deleted] = await auditedChange<{ id: string }>(
    ctx,
    facts,
    'item.delete',
    { type: 'Item', id: item.id },
    { title: item.title },
    Prisma.sql`DELETE FROM "Item" WHERE "id" = ${item.id} RETURNING "id"`,
  );
  if (!deleted) throw new NotFoundError('The item');
  publishListEvent(ctx, { kind: 'ITEM_DELETED', listId: item.listId, itemId: item.id });
  return item.id;
}

/** Moves an item right after `afterId` (another item of the same list), or to the top when null. */
export async function moveItem(ctx: Ctx, input: { id: string; afterId?: string | null }): Promise<Item> {
  const { item, facts } = await loadItem(ctx, input.id, 'list:edit');
  if (input.afterId === item.id) throw new ValidationError('An item cannot move after itself', ['input', 'afterId']);
  const touch = Prisma.sql`"updatedById" = ${ctx.viewer.id}, "updatedAt" = ${SQL_NOW}`;
  // Halfway between the item it goes after and the next one, or one past the last.
  const move = input.afterId
    ? Prisma.sql`
        UPDATE "Item" AS "i" SET ${touch}, "position" = COALESCE(
          ("a"."position" + (SELECT MIN("position") FROM "Item"
            WHERE "listId" = "a"."listId" AND "position" > "a"."position" AND "id" <> "i"."id")) / 2,
          "a"."position" + 1)
        FROM "Item" AS "a"
        WHERE "i"."id" = ${item.id} AND "a"."id" = ${input.afterId} AND "a"."listId" = "i"."listId"
        RETURNING "i".*`
    : Prisma.sql`
        UPDATE "Item" SET ${touch}, "position" = COALESCE(
          (SELECT MIN("position") FROM "Item" WHERE "listId" = ${item.listId} AND "id" <> ${item.id}), 1) - 1
        WHERE "id" = ${item.id}
        RETURNING *`;
  const [moved] = await auditedChange<Item>(
    ctx,
    facts,
    'item.move',
    { type: 'Item', id: item.id },
    { afterId: input.afterId ?? null },
    move,
  );
  if (!moved) {
    if (!(await ctx.db.item.findUnique({ where: { id: item.id }, select: { id: true } })))
      throw new NotFoundError('The item');
    throw new ValidationError('afterId is not an item of this list', ['input', 'afterId']);
  }
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
  const parentId = input.parentId ?? null;
  const [update] = await auditedChange<ItemUpdate>(
    ctx,
    facts,
    'item.post-update',
    { type: 'ItemUpdate', id: item.id },
    { itemId: item.id, kind },
    Prisma.sql`
      INSERT INTO "ItemUpdate" ("id", "itemId", "authorId", "kind", "parentId", "body", "createdAt")
      SELECT ${newRowId()}, ${item.id}, ${ctx.viewer.id}, ${kind}::"UpdateKind", ${parentId}, ${input.body}, ${SQL_NOW}
      WHERE ${parentId}::text IS NULL
        OR EXISTS (SELECT 1 FROM "ItemUpdate" WHERE "id" = ${parentId} AND "itemId" = ${item.id})
      RETURNING *`,
  );
  if (!update) throw new ValidationError('parentId is not an update of this item', ['input', 'parentId']);
  publishListEvent(ctx, { kind: 'UPDATE_POSTED', listId: item.listId, itemId: item.id, updateId: update.id });
  return update;
}
