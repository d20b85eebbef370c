import { isDeepStrictEqual } from 'node:util';
import { Prisma } from '../../generated/prisma/client.ts';

/**
 * A page of a list's items as Pothos asks for it (`items(first, after) { … }`), with the
 * relations one statement of this module loads beside it: who created and last changed each
 * item, and a page of its updates (`updates(first | last)`) with their authors.
 */
export interface ItemsPagePlan {
  take: number;
  skip: number;
  /** The item the page starts at (`after`), or null. */
  cursor: string | null;
  createdBy: boolean;
  updatedBy: boolean;
  /** Negative `take`: the last updates (`last`), still returned oldest first. */
  updates: { take: number; author: boolean } | null;
}

const ITEM_ORDER = [{ position: 'asc' }, { id: 'asc' }];
const UPDATE_ORDER = { id: 'asc' };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isInt = (value: unknown): value is number => Number.isSafeInteger(value);
const onlyKeys = (value: Record<string, unknown>, allowed: readonly string[]) =>
  Object.keys(value).every((key) => allowed.includes(key));

/**
 * The plan for a Prisma `items` include (plugin-prisma's query for the `items` connection), or
 * null when it asks for more than `itemsPageStatement` serves: the caller then reads through Prisma.
 */
export function itemsPagePlan(include: unknown): ItemsPagePlan | null {
  if (!isObject(include) || !onlyKeys(include, ['orderBy', 'take', 'skip', 'cursor', 'include'])) return null;
  const { take, skip = 0, cursor, include: nested = {} } = include;
  if (!isDeepStrictEqual(include.orderBy, ITEM_ORDER) || !isInt(take) || take <= 0 || !isInt(skip) || skip < 0) {
    return null;
  }
  if (cursor !== undefined && !(isObject(cursor) && onlyKeys(cursor, ['id']) && typeof cursor.id === 'string')) {
    return null;
  }
  if (!isObject(nested) || !onlyKeys(nested, ['createdBy', 'updatedBy', 'updates'])) return null;
  const { createdBy, updatedBy, updates } = nested;
  if ((createdBy !== undefined && createdBy !== true) || (updatedBy !== undefined && updatedBy !== true)) return null;
  const updatesPlan = updates === undefined ? null : updatesPagePlan(updates);
  if (updates !== undefined && !updatesPlan) return null;
  return {
    take,
    skip,
    cursor: cursor ? (cursor.id as string) : null,
    createdBy: createdBy === true,
    updatedBy: updatedBy === true,
    updates: updatesPlan,
  };
}

function updatesPagePlan(include: unknown): ItemsPagePlan['updates'] {
  if (!isObject(include) || !onlyKeys(include, ['orderBy', 'take', 'skip', 'include'])) return null;
  const { take, skip = 0, include: nested = {} } = include;
  if (!isDeepStrictEqual(include.orderBy, UPDATE_ORDER) || !isInt(take) || take === 0 || skip !== 0) return null;
  if (!isObject(nested) || !onlyKeys(nested, ['author'])) return null;
  if (nested.author !== undefined && nested.author !== true) return null;
  return { take, author: nested.author === true };
}

// Every scalar column, as Prisma's `include` reads them: the rows answer for any field of the types.
const ITEM_COLUMNS = Object.values(Prisma.ItemScalarFieldEnum);
const USER_COLUMNS = Object.values(Prisma.UserScalarFieldEnum);
const UPDATE_COLUMNS = Object.values(Prisma.ItemUpdateScalarFieldEnum);

/**
 * `alias."column" AS "prefix_column"` for each column (enums read as text), or `array_agg(…)` of
 * it when `aggregated`: every array of one aggregate holds its rows in the same order, the order
 * they come in (an `ORDER BY` per array would sort once per array and item).
 */
function columns(alias: string, prefix: string, names: readonly string[], aggregated = false): string {
  return names
    .map((name) => {
      const column = `${alias}."${name}"${name === 'kind' ? '::text' : ''}`;
      return `${aggregated ? `array_agg(${column})` : column} AS "${prefix}${name}"`;
    })
    .join(', ');
}

/**
 * The person of an id, as a LATERAL subquery: an index look-up per row whatever the planner
 * guesses of the page (a plain join was planned as a hash join over every user, once per item,
 * on tables not yet analysed).
 */
function person(id: string): string {
  return `SELECT * FROM "User" WHERE id = ${id} LIMIT 1`;
}

/**
 * One statement for a list's `head` (a one-row query about the list, e.g. its access facts and
 * fields) and a page of its items as `plan` says, as rows, not JSON: the head's columns on the
 * first row, then one row per item with its people, and its page of updates as arrays (a
 * LATERAL per item, on the (itemId, id) index). A list without items still gives the head's row.
 */
export function itemsPageStatement(head: Prisma.Sql, listId: string, plan: ItemsPagePlan): Prisma.Sql {
  const cursor = plan.cursor
    ? Prisma.sql`AND (i.position, i.id) >= (SELECT c.position, c.id FROM "Item" c WHERE c.id = ${plan.cursor})`
    : Prisma.empty;
  const select = [`h.*`, columns('p', 'i_', ITEM_COLUMNS)];
  const joins: Prisma.Sql[] = [];
  for (const [wanted, alias, key] of [
    [plan.createdBy, 'cb', 'createdById'],
    [plan.updatedBy, 'ub', 'updatedById'],
  ] as const) {
    if (!wanted) continue;
    select.push(columns(alias, `${alias}_`, USER_COLUMNS));
    joins.push(Prisma.raw(`LEFT JOIN LATERAL (${person(`p."${key}"`)}) ${alias} ON true`));
  }
  if (plan.updates) {
    const { take, author } = plan.updates;
    const direction = Prisma.raw(take < 0 ? 'DESC' : 'ASC');
    const authors = author ? `, ${columns('ua', 'ua_', USER_COLUMNS, true)}` : '';
    select.push(`up.*`);
    // The page size is a parameter: one statement text (and prepared statement) per shape.
    joins.push(Prisma.sql`LEFT JOIN LATERAL (
  SELECT ${Prisma.raw(columns('u', 'u_', UPDATE_COLUMNS, true) + authors)}
  FROM (SELECT * FROM "ItemUpdate" x WHERE x."itemId" = p.id ORDER BY x.id ${direction} LIMIT ${Math.abs(take)}) u
  ${Prisma.raw(author ? `LEFT JOIN LATERAL (${person('u."authorId"')}) ua ON true` : '')}
) up ON true`);
  }
  return Prisma.sql`WITH h AS MATERIALIZED (SELECT 1 AS "h_first", head.* FROM (${head}) head),
p AS MATERIALIZED (
  SELECT i.*, row_number() OVER (ORDER BY i.position, i.id) AS "ord" FROM (
    SELECT i.* FROM "Item" i WHERE i."listId" = ${listId} ${cursor}
    ORDER BY i.position, i.id LIMIT ${plan.take} OFFSET ${plan.skip}
  ) i
)
SELECT ${Prisma.raw(select.join(', '))}
FROM p FULL JOIN h ON h."h_first" = p.ord
${joins.length ? Prisma.join(joins, '\n', '', '') : Prisma.empty}
ORDER BY p.ord NULLS FIRST`;
}

/** The Prisma-shaped items (with the relations `plan` loads) of `itemsPageStatement`'s rows. */
export function itemsFromRows(
  rows: readonly Record<string, unknown>[],
  plan: ItemsPagePlan,
): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [];
  for (const row of rows) {
    if (row.i_id === null || row.i_id === undefined) continue;
    const item = pick(row, 'i_', ITEM_COLUMNS);
    if (plan.createdBy) item.createdBy = row.cb_id === null ? null : pick(row, 'cb_', USER_COLUMNS);
    if (plan.updatedBy) item.updatedBy = row.ub_id === null ? null : pick(row, 'ub_', USER_COLUMNS);
    if (plan.updates) item.updates = updatesOf(row, plan.updates);
    items.push(item);
  }
  return items;
}

function pick(row: Record<string, unknown>, prefix: string, names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of names) out[name] = row[prefix + name];
  return out;
}

/** An item's updates, oldest first as Prisma gives them (a `last` page comes newest first). */
function updatesOf(row: Record<string, unknown>, { take, author }: { take: number; author: boolean }) {
  const ids = row.u_id as unknown[] | null;
  if (!ids) return [];
  const updates = ids.map((_, i) => {
    const update: Record<string, unknown> = {};
    for (const name of UPDATE_COLUMNS) update[name] = (row[`u_${name}`] as unknown[])[i];
    if (author) {
      const authorId = (row.ua_id as unknown[])[i];
      if (authorId === null) update.author = null;
      else {
        const user: Record<string, unknown> = {};
        for (const name of USER_COLUMNS) user[name] = (row[`ua_${name}`] as unknown[])[i];
        update.author = user;
      }
    }
    return update;
  });
  return take < 0 ? updates.reverse() : updates;
}
