import { isDeepStrictEqual } from 'node:util';
import type { Rows } from '../../db/client.ts';
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
  /** The columns read of each item. */
  columns: readonly string[];
  /** The columns read of who created each item, or null when not loaded. */
  createdBy: readonly string[] | null;
  updatedBy: readonly string[] | null;
  /** Negative `take`: the last updates (`last`), still returned oldest first. */
  updates: { take: number; columns: readonly string[]; author: readonly string[] | null } | null;
}

/**
 * The GraphQL fields selected on each object of the page, when known: the statement then reads
 * only the columns they need. Absent (or null) for an object: every column of it.
 */
export interface ItemsPageSelection {
  item?: ReadonlySet<string> | null;
  createdBy?: ReadonlySet<string> | null;
  updatedBy?: ReadonlySet<string> | null;
  update?: ReadonlySet<string> | null;
  author?: ReadonlySet<string> | null;
}

/** How a list's items are ordered (its `items` connection), and an item's updates (`updates`). */
export const ITEM_ORDER: Prisma.ItemOrderByWithRelationInput[] = [{ position: 'asc' }, { id: 'asc' }];
export const UPDATE_ORDER: Prisma.ItemUpdateOrderByWithRelationInput = { id: 'asc' };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isInt = (value: unknown): value is number => Number.isSafeInteger(value);
const onlyKeys = (value: Record<string, unknown>, allowed: readonly string[]) =>
  Object.keys(value).every((key) => allowed.includes(key));

/**
 * The plan for a Prisma `items` include (plugin-prisma's query for the `items` connection), or
 * null when it asks for more than `itemsPageStatement` serves: the caller then reads through Prisma.
 */
export function itemsPagePlan(include: unknown, selected: ItemsPageSelection = {}): ItemsPagePlan | null {
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
  const updatesPlan = updates === undefined ? null : updatesPagePlan(updates, selected);
  if (updates !== undefined && !updatesPlan) return null;
  return {
    take,
    skip,
    cursor: cursor ? (cursor.id as string) : null,
    columns: columnsFor(ITEM_COLUMNS, selected.item, ITEM_RELATIONS),
    createdBy: createdBy === true ? columnsFor(USER_COLUMNS, selected.createdBy) : null,
    updatedBy: updatedBy === true ? columnsFor(USER_COLUMNS, selected.updatedBy) : null,
    updates: updatesPlan,
  };
}

function updatesPagePlan(include: unknown, selected: ItemsPageSelection): ItemsPagePlan['updates'] {
  if (!isObject(include) || !onlyKeys(include, ['orderBy', 'take', 'skip', 'include'])) return null;
  const { take, skip = 0, include: nested = {} } = include;
  if (!isDeepStrictEqual(include.orderBy, UPDATE_ORDER) || !isInt(take) || take === 0 || skip !== 0) return null;
  if (!isObject(nested) || !onlyKeys(nested, ['author'])) return null;
  if (nested.author !== undefined && nested.author !== true) return null;
  return {
    take,
    columns: columnsFor(UPDATE_COLUMNS, selected.update, UPDATE_RELATIONS),
    author: nested.author === true ? columnsFor(USER_COLUMNS, selected.author) : null,
  };
}

// Every scalar column, as Prisma's `include` reads them.
const ITEM_COLUMNS: readonly string[] = Object.values(Prisma.ItemScalarFieldEnum);
const USER_COLUMNS: readonly string[] = Object.values(Prisma.UserScalarFieldEnum);
const UPDATE_COLUMNS: readonly string[] = Object.values(Prisma.ItemUpdateScalarFieldEnum);
/** The column each relation of the statement's objects is read through. */
const ITEM_RELATIONS: Readonly<Record<string, string>> = {
  createdBy: 'createdById',
  updatedBy: 'updatedById',
  updates: 'id',
};
const UPDATE_RELATIONS: Readonly<Record<string, string>> = { author: 'authorId' };

/**
 * The columns the selected fields read: a field named as a column reads it, a relation its key,
 * and any other field (one this module does not know) every column. `id` always, for cursors.
 */
function columnsFor(
  all: readonly string[],
  selected: ReadonlySet<string> | null | undefined,
  relations: Readonly<Record<string, string>> = {},
): readonly string[] {
  if (!selected) return all;
  const wanted = new Set(['id']);
  for (const field of selected) {
    if (field === '__typename') continue;
    const column = all.includes(field) ? field : relations[field];
    if (!column) return all;
    wanted.add(column);
  }
  return all.filter((column) => wanted.has(column));
}

/** `alias."column" AS "prefix_column"` for each column (enums read as text). */
function columns(alias: string, prefix: string, names: readonly string[]): string {
  return names.map((name) => `${alias}."${name}"${name === 'kind' ? '::text' : ''} AS "${prefix}${name}"`).join(', ');
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
 * fields) and a page of its items as `plan` says, as rows of plain columns, not JSON: the head's
 * columns on the first row, then the items in order with their people, an item on as many rows as
 * its page of updates holds (a LATERAL per item, on the (itemId, id) index), at least one. Rows
 * rather than arrays of updates: an array per column and item cost PostgreSQL an aggregate each,
 * and the server parsing them. A list without items still gives the head's row.
 */
export function itemsPageStatement(head: Prisma.Sql, listId: string, plan: ItemsPagePlan): Prisma.Sql {
  const cursor = plan.cursor
    ? Prisma.sql`AND (i.position, i.id) >= (SELECT c.position, c.id FROM "Item" c WHERE c.id = ${plan.cursor})`
    : Prisma.empty;
  const select = [`h.*`, columns('p', 'i_', plan.columns)];
  const joins: Prisma.Sql[] = [];
  const join = (alias: string, subquery: string) =>
    joins.push(Prisma.raw(`LEFT JOIN LATERAL (${subquery}) ${alias} ON true`));
  for (const [wanted, alias, key] of [
    [plan.createdBy, 'cb', 'createdById'],
    [plan.updatedBy, 'ub', 'updatedById'],
  ] as const) {
    if (!wanted) continue;
    select.push(columns(alias, `${alias}_`, wanted));
    join(alias, person(`p."${key}"`));
  }
  let order = '';
  if (plan.updates) {
    const { take, author } = plan.updates;
    const direction = take < 0 ? 'DESC' : 'ASC';
    select.push(columns('u', 'u_', plan.updates.columns));
    // The page size is a parameter: one statement text (and prepared statement) per shape. The
    // last row of the |take| read is there only to say whether there is more (the connection drops
    // it): past the first, it is counted (u_found, on the (itemId, id) index) rather than sent and
    // its author looked up.
    const size = Math.abs(take);
    const dir = Prisma.raw(direction);
    joins.push(
      size === 1
        ? Prisma.sql`LEFT JOIN LATERAL (
  SELECT x.*, NULL::int AS "u_found" FROM "ItemUpdate" x WHERE x."itemId" = p.id ORDER BY x.id ${dir} LIMIT ${size}
) u ON true`
        : Prisma.sql`LEFT JOIN LATERAL (
  SELECT x.*, (SELECT count(*)::int FROM (
    SELECT 1 FROM "ItemUpdate" c WHERE c."itemId" = p.id ORDER BY c.id ${dir} LIMIT ${size}
  ) c) AS "u_found"
  FROM "ItemUpdate" x WHERE x."itemId" = p.id ORDER BY x.id ${dir} LIMIT ${size - 1}
) u ON true`,
    );
    select.push('u."u_found"');
    if (author) {
      select.push(columns('ua', 'ua_', author));
      join('ua', person('u."authorId"'));
    }
    order = `, u.id ${direction}`;
  }
  // Subqueries rather than a WITH, so that the statement starts with SELECT: the response cache
  // takes any other statement for a write (src/cache/generations.ts). OFFSET 0 keeps the head a
  // subquery of its own, which the FULL JOIN's hash condition needs.
  return Prisma.sql`SELECT ${Prisma.raw(select.join(', '))}
FROM (
  SELECT i.*, row_number() OVER (ORDER BY i.position, i.id) AS "ord" FROM (
    SELECT i.* FROM "Item" i WHERE i."listId" = ${listId} ${cursor}
    ORDER BY i.position, i.id LIMIT ${plan.take} OFFSET ${plan.skip}
  ) i
) p
FULL JOIN (SELECT 1 AS "h_first", head.* FROM (${head}) head OFFSET 0) h ON h."h_first" = p.ord
${joins.length ? Prisma.join(joins, '\n', '', '') : Prisma.empty}
ORDER BY p.ord NULLS FIRST${Prisma.raw(order)}`;
}

/** The Prisma-shaped items (with the relations `plan` loads) of `itemsPageStatement`'s rows. */
export function itemsFromRows({ columns, rows }: Rows, plan: ItemsPagePlan): Record<string, unknown>[] {
  const at = new Map(columns.map((name, i) => [name, i]));
  const reader = (prefix: string, names: readonly string[] | null) => {
    if (!names) return null;
    const id = at.get(`${prefix}id`) ?? -1;
    const indexes = names.map((name) => at.get(prefix + name) ?? -1);
    return (row: readonly unknown[]): Record<string, unknown> | null => {
      if (row[id] === null || row[id] === undefined) return null;
      const out: Record<string, unknown> = {};
      for (let k = 0; k < names.length; k++) out[names[k] as string] = row[indexes[k] as number];
      return out;
    };
  };
  const item = reader('i_', plan.columns) as NonNullable<ReturnType<typeof reader>>;
  const createdBy = reader('cb_', plan.createdBy);
  const updatedBy = reader('ub_', plan.updatedBy);
  const update = reader('u_', plan.updates?.columns ?? null);
  const author = reader('ua_', plan.updates?.author ?? null);
  const itemId = at.get('i_id') ?? -1;
  const foundAt = at.get('u_found') ?? -1;
  const size = Math.abs(plan.updates?.take ?? 0);
  const items: Record<string, unknown>[] = [];
  // An item's rows come together, one per update of its page.
  let lastId: unknown = null;
  let updates: Record<string, unknown>[] = [];
  const close = () => {
    // The row that only says there is more (see itemsPageStatement), as the connection will drop it.
    if (updates.length === size - 1 && updates.length > 0 && updatesFound === size) updates.push(BEYOND_THE_PAGE);
  };
  let updatesFound: unknown = null;
  for (const row of rows) {
    const id = row[itemId];
    if (id === null || id === undefined) continue;
    if (id !== lastId) {
      close();
      const read = item(row) as Record<string, unknown>;
      if (createdBy) read.createdBy = createdBy(row);
      if (updatedBy) read.updatedBy = updatedBy(row);
      lastId = id;
      updates = [];
      updatesFound = row[foundAt];
      if (update) read.updates = updates;
      items.push(read);
    }
    const found = update?.(row);
    if (found) {
      if (author) found.author = author(row);
      updates.push(found);
    }
  }
  close();
  // A `last` page comes newest first: Prisma gives it oldest first.
  if (plan.updates && plan.updates.take < 0) for (const read of items) (read.updates as unknown[]).reverse();
  return items;
}

/**
 * Stands for the update read only to learn that a page of updates has more (the connection
 * drops that row unread, whichever way it pages): its fields were not sent.
 */
const BEYOND_THE_PAGE: Record<string, unknown> = Object.freeze({});
