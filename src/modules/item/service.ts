import { enforce } from '../../access/enforce.ts';
import type { ListFacts } from '../../access/facts.ts';
import { decideUpdate, type ListQuestion, type UpdateQuestion } from '../../access/rules.ts';
import { writeListContent } from '../../cache/generations.ts';
import type { Context, Viewer } from '../../context.ts';
import { type Db, PREPARED } from '../../db/client.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import { type Item, type ItemUpdate, Prisma, type UpdateKind } from '../../generated/prisma/client.ts';
import type { ListEventPayload } from '../../realtime/pubsub.ts';
import { type AuditEntry, auditInsertSql, newRowId, SQL_NOW } from '../audit/service.ts';
import { LIST_EVENTS_COLUMN, type ListEventRecord, listEventCtes, recordedEvents } from '../list/event-log.ts';
import { listAuditEntry, publishListEvents, requireList } from '../list/service.ts';

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

/**
 * Which list each item is in, as this instance has seen it (per database). An item never changes
 * lists (moveItem stays within one, a copy is a new item), so what is remembered never goes
 * stale: a mutation on a known item asks access about its list without reading the item first.
 * Its write then matches no row when the item is gone, which answers NOT_FOUND as a read would.
 */
const knownLists = new WeakMap<object, Map<string, string>>();
const KNOWN_LISTS_MAX = 50_000;

function rememberList(ctx: Ctx, itemId: string, listId: string): void {
  let known = knownLists.get(ctx.db);
  if (!known) {
    known = new Map();
    knownLists.set(ctx.db, known);
  }
  if (known.size >= KNOWN_LISTS_MAX) known.delete(known.keys().next().value as string);
  known.set(itemId, listId);
}

function itemExists(ctx: Ctx, itemId: string): Promise<boolean> {
  return ctx.db.item.findUnique({ where: { id: itemId }, select: { id: true } }).then(Boolean);
}

/** The list of an item the viewer may act on as `question` asks, with its facts; NOT_FOUND when there is no such item. */
async function loadItem(ctx: Ctx, itemId: string, question: ListQuestion): Promise<ListFacts> {
  const known = knownLists.get(ctx.db)?.get(itemId);
  const listId = known ?? (await ctx.db.item.findUnique({ where: { id: itemId }, select: { listId: true } }))?.listId;
  // An item of a list the viewer cannot read looks the same as no item.
  if (!listId || !(await ctx.access.listRole(listId))) throw new NotFoundError('The item');
  if (!known) rememberList(ctx, itemId, listId);
  try {
    return await requireList(ctx, listId, question);
  } catch (err) {
    // Refused on a list they read: a gone item still answers NOT_FOUND, as it does when read first.
    if (known && err instanceof ForbiddenError && !(await itemExists(ctx, itemId))) throw new NotFoundError('The item');
    throw err;
  }
}

/**
 * The columns of a row a change returns: those of this version's model, never `*`. A change alone
 * is a prepared statement, and PostgreSQL refuses to run one whose result gained a column ("cached
 * plan must not change result type"), which a newer version's migration adds while this one still
 * runs (a rolling deploy).
 */
function columnsOf(fields: Record<string, string>, table?: string): Prisma.Sql {
  const prefix = table ? `"${table}".` : '';
  return Prisma.raw(
    Object.values(fields)
      .map((column) => `${prefix}"${column}"`)
      .join(', '),
  );
}
const ITEM_ROW = columnsOf(Prisma.ItemScalarFieldEnum);
const UPDATE_ROW = columnsOf(Prisma.ItemUpdateScalarFieldEnum);

/** The list event of an item change; `rowData` (jsonb over the changed row) adds what only the change knows. */
type ItemEvent = ListEventRecord & { rowData?: Prisma.Sql };

/** What an event carries from the item row it changed: its new version. */
const VERSION = Prisma.sql`jsonb_build_object('version', "version")`;

/** One audited change of a list's content, as `auditedChange` is asked for it. */
interface ListChange {
  ctx: Ctx;
  entry: AuditEntry;
  /**
   * The data-modifying statement, which returns rows; `place` is its place in the statement that
   * carries it (0 when alone), so that items appended together get positions of their own.
   */
  change: (place: number) => Prisma.Sql;
  event: ItemEvent;
  /** Adds to the audit row's data, over the changed row. */
  rowData?: Prisma.Sql | undefined;
  /**
   * The item row it changes, when it may share a statement with other changes of its list (its
   * change returns the item's row, like every other change that may): never two of one item.
   */
  batch?: { itemId: string };
}

type ChangeRows = Record<string, unknown>[];

/**
 * One statement for `changes` of the list `listId`, each with its audit row and its list event:
 * atomic without an interactive transaction (no BEGIN, no COMMIT), one round trip. Each row of the
 * result carries every event recorded (`listEvents`) and, when there are several changes, the
 * index of its change (`__change`).
 */
function listChangeSql(listId: string, changes: readonly ListChange[]): Prisma.Sql {
  const name = (i: number) => Prisma.raw(`"change_${i}"`);
  const ctes = changes.map(
    (c, i) =>
      Prisma.sql`${name(i)} AS (${c.change(i)}), ${Prisma.raw(`"audit_${i}"`)} AS (${auditInsertSql(c.entry, name(i), c.rowData)})`,
  );
  const events = listEventCtes(
    listId,
    changes.map(({ event: { rowData, ...event } }, i) => ({ change: name(i), event, rowData })),
  );
  const rows =
    changes.length === 1
      ? Prisma.sql`SELECT *, ${LIST_EVENTS_COLUMN} FROM ${name(0)}`
      : Prisma.sql`SELECT "c".*, ${LIST_EVENTS_COLUMN} FROM (${Prisma.join(
          changes.map((_, i) => Prisma.sql`SELECT ${i}::int AS "__change", * FROM ${name(i)}`),
          ' UNION ALL ',
        )}) AS "c"`;
  return Prisma.sql`WITH ${Prisma.join(ctes)}, ${events} ${rows}`;
}

/**
 * Runs `changes` of one list in one statement (`listChangeSql`). It changes only the content of
 * the account's lists, so it ends only the kept answers that could read them (`writeListContent`).
 * A change alone (the usual case when edits are spread over lists) is a statement of one shape per
 * kind of change: PostgreSQL keeps it parsed and planned (PREPARED), which halves its CPU per
 * change; a statement of several changes is of too many shapes for that.
 */
function writeChanges(db: Db, facts: ListFacts, changes: readonly ListChange[]) {
  const statement = listChangeSql(facts.listId, changes);
  return writeListContent<Record<string, unknown> & { __change?: number; listEvents?: unknown }>(
    db,
    facts.workspace.account.accountId,
    changes.length === 1 ? Prisma.sql`${statement}\n${Prisma.raw(PREPARED)}` : statement,
  );
}

/**
 * Splits the committed statement's `rows` among `changes` (none: that change wrote nothing, no
 * audit row, no event) and publishes the events, in their order.
 */
function delivered(changes: readonly ListChange[], rows: Awaited<ReturnType<typeof writeChanges>>): ChangeRows[] {
  const byChange: ChangeRows[] = changes.map(() => []);
  for (const { __change = 0, listEvents: _, ...row } of rows) byChange[__change]?.push(row);
  const [first] = rows;
  if (first) {
    const events = recordedEvents(first);
    const changed = changes.filter((_, i) => byChange[i]?.length);
    if (events.length !== changed.length) throw new Error('a change returned rows but recorded no event');
    for (const [i, change] of changed.entries()) publishListEvents(change.ctx, [events[i] as ListEventPayload]);
  }
  return byChange;
}

/**
 * Changes of a list waiting on this instance for the statement before them to commit (per
 * database, then per list). A list's events are numbered under its sequence row's lock, held
 * until commit, so the changes of one list commit one statement at a time whatever carries them;
 * those that queued meanwhile go together in the next statement: one lock, one commit flush and
 * one round trip for them all, instead of one each, while a change that finds its list idle is
 * sent at once.
 */
const queues = new WeakMap<object, Map<string, Queued[]>>();
const BATCH_MAX = 32;

interface Queued {
  change: ListChange;
  done: (rows: ChangeRows) => void;
  failed: (err: unknown) => void;
}

function writeQueued(db: Db, facts: ListFacts, change: ListChange): Promise<ChangeRows> {
  let lists = queues.get(db);
  if (!lists) {
    lists = new Map();
    queues.set(db, lists);
  }
  const waiting = lists.get(facts.listId);
  return new Promise((done, failed) => {
    const queued = { change, done, failed };
    if (waiting) waiting.push(queued);
    else {
      lists.set(facts.listId, []);
      void drain(db, facts, lists, [queued]);
    }
  });
}

/** Writes `batch`, then what queued for the list meanwhile, until nothing is waiting. */
async function drain(db: Db, facts: ListFacts, lists: Map<string, Queued[]>, batch: Queued[]): Promise<void> {
  try {
    for (let next = batch; next.length; next = takeBatch(lists.get(facts.listId) ?? [])) {
      const changes = next.map((q) => q.change);
      const written = await writeChanges(db, facts, changes).then(
        (rows) => ({ rows }),
        (err: unknown) => ({ err }),
      );
      if ('rows' in written) settle(next, () => delivered(changes, written.rows));
      else if (next.length === 1) (next[0] as Queued).failed(written.err);
      // The statement failed as a whole: each change is tried alone, so that one the database
      // refuses fails alone. (Were it a connection lost after the commit, a change tried again
      // finds its own write: an edit conflicts, an addition's id is taken; nothing is written twice.)
      else
        for (const q of next)
          await writeChanges(db, facts, [q.change]).then(
            (rows) => settle([q], () => delivered([q.change], rows)),
            q.failed,
          );
    }
  } finally {
    lists.delete(facts.listId);
  }
}

/** Answers each of `queued` with its rows from `deliver`, or all with its error. */
function settle(queued: readonly Queued[], deliver: () => ChangeRows[]): void {
  try {
    const rows = deliver();
    for (const [i, q] of queued.entries()) q.done(rows[i] ?? []);
  } catch (err) {
    for (const q of queued) q.failed(err);
  }
}

/** Takes from `waiting` the changes for one statement: in order, at most one per item. */
function takeBatch(waiting: Queued[]): Queued[] {
  const items = new Set<string>();
  const batch: Queued[] = [];
  for (let i = 0; i < waiting.length && batch.length < BATCH_MAX; ) {
    const q = waiting[i] as Queued;
    const itemId = q.change.batch?.itemId ?? '';
    if (items.has(itemId)) i++;
    else {
      items.add(itemId);
      batch.push(q);
      waiting.splice(i, 1);
    }
  }
  return batch;
}

/**
 * Runs one data-modifying statement (`change`, which returns rows) with its audit row and its
 * list event written by the same statement, and publishes the event after it committed; returns
 * what `change` returned (no row: no audit row and no event). Changes that may share a statement
 * (`batch`) and find another change of their list in flight on this instance wait for it, then go
 * together (`writeQueued`).
 */
async function auditedChange<T>(
  ctx: Ctx,
  facts: ListFacts,
  action: string,
  resource: { type: string; id: string },
  data: Record<string, unknown>,
  change: ListChange['change'],
  event: ItemEvent,
  options: { rowData?: Prisma.Sql; batch?: { itemId: string } } = {},
): Promise<T[]> {
  const queued: ListChange = {
    ctx,
    entry: listAuditEntry(ctx, facts, action, resource, data),
    change,
    event,
    rowData: options.rowData,
    ...(options.batch ? { batch: options.batch } : {}),
  };
  const rows = queued.batch
    ? await writeQueued(ctx.db, facts, queued)
    : delivered([queued], await writeChanges(ctx.db, facts, [queued]))[0];
  return (rows ?? []) as T[];
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
    (place) => Prisma.sql`
      INSERT INTO "Item" ("id", "listId", "title", "fields", "fieldVersions", "position", "createdById", "updatedById", "createdAt", "updatedAt")
      SELECT ${id}, ${facts.listId}, ${input.title}, ${JSON.stringify(input.fields)}::jsonb, ${JSON.stringify(versions)}::jsonb,
        COALESCE(MAX("position"), 0) + 1 + ${place}, ${ctx.viewer.id}, ${ctx.viewer.id}, ${SQL_NOW}, ${SQL_NOW}
      FROM "Item" WHERE "listId" = ${facts.listId}
      RETURNING ${ITEM_ROW}`,
    { kind: 'ITEM_CREATED', itemId: id, rowData: VERSION },
    { batch: { itemId: id } },
  );
  if (!item) throw new Error('INSERT … SELECT MAX(…) returned no row');
  rememberList(ctx, item.id, item.listId);
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
  const facts = await loadItem(ctx, input.id, 'list:edit');
  const patchFields = input.patch.fields ?? {};
  const title = input.patch.title ?? null;
  const touched = [...(title !== null ? ['title'] : []), ...Object.keys(patchFields).map((k) => versionKey(k))];
  if (!touched.length) throw new ValidationError('The patch changes nothing', ['input', 'patch']);
  const badVersion = () =>
    new ValidationError('expectedVersion is not a version of this item', ['input', 'expectedVersion']);
  if (input.expectedVersion < 1) throw badVersion();
  const changedFields = [...(title !== null ? ['title'] : []), ...Object.keys(patchFields)];
  const entries = Object.entries(patchFields);
  const set = Object.fromEntries(entries.filter(([, value]) => value !== null));
  const removed = entries.filter(([, value]) => value === null).map(([key]) => key);
  const touchedKeys = Prisma.sql`jsonb_array_elements_text(${JSON.stringify(touched)}::jsonb) AS k`;
  const [updated] = await auditedChange<Item>(
    ctx,
    facts,
    'item.update',
    { type: 'Item', id: input.id },
    { changedFields, expectedVersion: input.expectedVersion },
    () => Prisma.sql`
      UPDATE "Item" SET
        "version" = "version" + 1,
        "title" = COALESCE(${title}::text, "title"),
        "fields" = ("fields" - ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(removed)}::jsonb)))
          || ${JSON.stringify(set)}::jsonb,
        "fieldVersions" = "fieldVersions" || (SELECT jsonb_object_agg(k, "version" + 1) FROM ${touchedKeys}),
        "updatedById" = ${ctx.viewer.id},
        "updatedAt" = ${SQL_NOW}
      WHERE "id" = ${input.id} AND "listId" = ${facts.listId} AND "version" >= ${input.expectedVersion}
        AND (SELECT COALESCE(MAX(("fieldVersions" ->> k)::int), 0) FROM ${touchedKeys}) <= ${input.expectedVersion}
      RETURNING ${ITEM_ROW}`,
    { kind: 'ITEM_UPDATED', itemId: input.id, changedFields, rowData: VERSION },
    { batch: { itemId: input.id } },
  );
  if (!updated) {
    // Why nothing matched, from the row as it is now (versions only grow, so this is why it failed).
    const current = await ctx.db.item.findUnique({
      where: { id: input.id },
      select: { version: true, fieldVersions: true },
    });
    if (!current) throw new NotFoundError('The item');
    if (input.expectedVersion > current.version) throw badVersion();
    const versions = current.fieldVersions as Record<string, number>;
    const stale = touched.filter((key) => (versions[key] ?? 0) > input.expectedVersion);
    throw new ConflictError(
      `Changed by someone else since version ${input.expectedVersion}: ${stale.join(', ')}`,
      input.id,
    );
  }
  return { item: updated, changedFields };
}

/** Deletes an item (editors and above). */
export async function deleteItem(ctx: Ctx, input: { id: string }): Promise<string> {
  const facts = await loadItem(ctx, input.id, 'list:edit');
  const [deleted] = await auditedChange<{ id: string }>(
    ctx,
    facts,
    'item.delete',
    { type: 'Item', id: input.id },
    {},
    () =>
      Prisma.sql`DELETE FROM "Item" WHERE "id" = ${input.id} AND "listId" = ${facts.listId} RETURNING "id", "title"`,
    { kind: 'ITEM_DELETED', itemId: input.id },
    { rowData: Prisma.sql`jsonb_build_object('title', "title")` },
  );
  if (!deleted) throw new NotFoundError('The item');
  knownLists.get(ctx.db)?.delete(deleted.id);
  return deleted.id;
}

/** Moves an item right after `afterId` (another item of the same list), or to the top when null. */
export async function moveItem(ctx: Ctx, input: { id: string; afterId?: string | null }): Promise<Item> {
  const facts = await loadItem(ctx, input.id, 'list:edit');
  if (input.afterId === input.id) throw new ValidationError('An item cannot move after itself', ['input', 'afterId']);
  const touch = Prisma.sql`"updatedById" = ${ctx.viewer.id}, "updatedAt" = ${SQL_NOW}`;
  // Halfway between the item it goes after and the next one, or one past the last.
  const move = input.afterId
    ? Prisma.sql`
        UPDATE "Item" AS "i" SET ${touch}, "position" = COALESCE(
          ("a"."position" + (SELECT MIN("position") FROM "Item"
            WHERE "listId" = "a"."listId" AND "position" > "a"."position" AND "id" <> "i"."id")) / 2,
          "a"."position" + 1)
        FROM "Item" AS "a"
        WHERE "i"."id" = ${input.id} AND "i"."listId" = ${facts.listId}
          AND "a"."id" = ${input.afterId} AND "a"."listId" = "i"."listId"
        RETURNING ${columnsOf(Prisma.ItemScalarFieldEnum, 'i')}`
    : Prisma.sql`
        UPDATE "Item" SET ${touch}, "position" = COALESCE(
          (SELECT MIN("position") FROM "Item" WHERE "listId" = ${facts.listId} AND "id" <> ${input.id}), 1) - 1
        WHERE "id" = ${input.id} AND "listId" = ${facts.listId}
        RETURNING ${ITEM_ROW}`;
  const [moved] = await auditedChange<Item>(
    ctx,
    facts,
    'item.move',
    { type: 'Item', id: input.id },
    { afterId: input.afterId ?? null },
    () => move,
    { kind: 'ITEM_MOVED', itemId: input.id, rowData: VERSION },
  );
  if (!moved) {
    if (!input.afterId || !(await itemExists(ctx, input.id))) throw new NotFoundError('The item');
    throw new ValidationError('afterId is not an item of this list', ['input', 'afterId']);
  }
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
  const facts = await loadItem(ctx, input.itemId, TALK_QUESTION[kind]);
  const parentId = input.parentId ?? null;
  const updateId = newRowId();
  const [update] = await auditedChange<ItemUpdate>(
    ctx,
    facts,
    'item.post-update',
    { type: 'ItemUpdate', id: input.itemId },
    { itemId: input.itemId, kind },
    () => Prisma.sql`
      INSERT INTO "ItemUpdate" ("id", "itemId", "authorId", "kind", "parentId", "body", "createdAt")
      SELECT ${updateId}, "id", ${ctx.viewer.id}, ${kind}::"UpdateKind", ${parentId}, ${input.body}, ${SQL_NOW}
      FROM "Item" WHERE "id" = ${input.itemId} AND "listId" = ${facts.listId}
        AND (${parentId}::text IS NULL
          OR EXISTS (SELECT 1 FROM "ItemUpdate" WHERE "id" = ${parentId} AND "itemId" = ${input.itemId}))
      RETURNING ${UPDATE_ROW}`,
    { kind: 'UPDATE_POSTED', itemId: input.itemId, updateId },
  );
  if (!update) {
    if (!parentId || !(await itemExists(ctx, input.itemId))) throw new NotFoundError('The item');
    throw new ValidationError('parentId is not an update of this item', ['input', 'parentId']);
  }
  return update;
}

/**
 * An update the viewer may act on as `question` asks, with its list's facts: NOT_FOUND when it
 * does not exist or its list is unreadable to them (the same answer), FORBIDDEN when they read it
 * but may not do this.
 */
async function loadUpdate(
  ctx: Ctx,
  updateId: string,
  question: UpdateQuestion,
): Promise<{ update: ItemUpdate; facts: ListFacts }> {
  const update = await ctx.db.itemUpdate.findUnique({
    where: { id: updateId },
    include: { item: { select: { listId: true } } },
  });
  const facts = update && (await ctx.access.list(update.item.listId));
  if (!update || !facts) throw new NotFoundError('The update');
  enforce(decideUpdate(facts, update.authorId === ctx.viewer.id, question), 'The update');
  return { update, facts };
}

/** Changes the text of an update, reply or comment: its author only. */
export async function updateUpdate(ctx: Ctx, input: { id: string; body: string }): Promise<ItemUpdate> {
  const { update, facts } = await loadUpdate(ctx, input.id, 'update:edit');
  if (update.body === input.body) return update;
  const [edited] = await auditedChange<ItemUpdate>(
    ctx,
    facts,
    'item.edit-update',
    { type: 'ItemUpdate', id: update.id },
    { itemId: update.itemId },
    () => Prisma.sql`UPDATE "ItemUpdate" SET "body" = ${input.body} WHERE "id" = ${update.id} RETURNING ${UPDATE_ROW}`,
    { kind: 'UPDATE_EDITED', itemId: update.itemId, updateId: update.id },
  );
  if (!edited) throw new NotFoundError('The update');
  return edited;
}

/** Deletes an update, reply or comment with its replies: its author, or a co-owner of the list. */
export async function deleteUpdate(ctx: Ctx, input: { id: string }): Promise<string> {
  const { update, facts } = await loadUpdate(ctx, input.id, 'update:delete');
  const [deleted] = await auditedChange<{ id: string }>(
    ctx,
    facts,
    'item.delete-update',
    { type: 'ItemUpdate', id: update.id },
    { itemId: update.itemId, authorId: update.authorId, kind: update.kind },
    () => Prisma.sql`DELETE FROM "ItemUpdate" WHERE "id" = ${update.id} RETURNING "id"`,
    { kind: 'UPDATE_DELETED', itemId: update.itemId, updateId: update.id },
  );
  if (!deleted) throw new NotFoundError('The update');
  return update.id;
}
