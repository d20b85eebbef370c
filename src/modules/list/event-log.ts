import type { Db, DbTx } from '../../db/client.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import type { ListEventPayload } from '../../realtime/pubsub.ts';
import { SQL_NOW } from '../audit/service.ts';

/**
 * The record of a list's events (the `ListEvent` table): each written with its change, numbered
 * per list in commit order. Redis carries them fast; this is what a stream resumes from and what
 * fills what Redis lost.
 */

/** What an event says beyond its kind, list, number and time. */
export type ListEventData = Pick<ListEventPayload, 'itemId' | 'changedFields' | 'version' | 'updateId' | 'userIds'>;

/** An event to record: its kind and what it says. */
export type ListEventRecord = { kind: ListEventPayload['kind'] } & ListEventData;

/** A row as the recording statements return it (`at` already an ISO string). */
interface RecordedRow {
  listId: string;
  seq: number;
  kind: string;
  data: unknown;
  at: string;
}

function payloadOf(row: RecordedRow): ListEventPayload {
  return {
    ...(row.data as ListEventData),
    kind: row.kind as ListEventPayload['kind'],
    listId: row.listId,
    seq: Number(row.seq),
    at: row.at,
  };
}

/** `createdAt` as the ISO string `Date.toISOString()` writes (the column holds UTC). */
const AT = Prisma.sql`to_char("createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * Takes the next numbers of each list in `source` (a query of `"listId"` and how many numbers),
 * under the sequence row's lock; returns the last number taken.
 */
function nextSeqSql(source: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO "ListSequence" ("listId", "lastSeq") ${source}
    ON CONFLICT ("listId") DO UPDATE SET "lastSeq" = "ListSequence"."lastSeq" + EXCLUDED."lastSeq"
    RETURNING "listId", "lastSeq"`;
}

/**
 * A change of a data-modifying statement (the CTE named by `change`) and the event it records
 * when it returns a row. `rowData`, a jsonb expression over the change's row, adds what only the
 * change knows (the item's new version).
 */
export interface ChangeEvent {
  change: Prisma.Sql;
  event: ListEventRecord;
  rowData?: Prisma.Sql | undefined;
}

/**
 * The CTEs `"list_event_part", "list_event_seq", "list_event"` that record, inside one
 * data-modifying statement, the event of each of `changes` (all on `listId`) that returned a row,
 * committed with them: numbered in the order of `changes`, taking the list's numbers with one
 * update of its sequence row, after every change of the statement has run. Select
 * `LIST_EVENTS_COLUMN` in the statement's final SELECT and read it with `recordedEvents`.
 */
export function listEventCtes(listId: string, changes: readonly ChangeEvent[]): Prisma.Sql {
  const dataOf = ({ change, event, rowData }: ChangeEvent) => {
    const { kind: _, ...data } = event;
    const json = Prisma.sql`${JSON.stringify(data)}::jsonb`;
    return rowData ? Prisma.sql`${json} || (SELECT ${rowData} FROM ${change} LIMIT 1)` : json;
  };
  const insert = (select: Prisma.Sql) => Prisma.sql`
    "list_event" AS (
      INSERT INTO "ListEvent" ("listId", "seq", "kind", "data", "createdAt") ${select}
      RETURNING "listId", "seq", "kind", "data", ${AT} AS "at")`;
  const [only] = changes;
  // One change (the usual case) in the plainer statement: it costs PostgreSQL less to plan.
  if (only && changes.length === 1)
    return Prisma.sql`
      "list_event_seq" AS (${nextSeqSql(Prisma.sql`SELECT ${listId}, 1 WHERE EXISTS (SELECT 1 FROM ${only.change})`)}),
      ${insert(Prisma.sql`SELECT "listId", "lastSeq", ${only.event.kind}, ${dataOf(only)}, ${SQL_NOW} FROM "list_event_seq"`)}`;
  const parts = changes.map(
    (c, i) => Prisma.sql`SELECT ${i}::int AS "part", ${c.event.kind}::text AS "kind", ${dataOf(c)} AS "data"
      WHERE EXISTS (SELECT 1 FROM ${c.change})`,
  );
  return Prisma.sql`
    "list_event_part" AS (${Prisma.join(parts, ' UNION ALL ')}),
    "list_event_seq" AS (${nextSeqSql(Prisma.sql`SELECT ${listId}, count(*)::int FROM "list_event_part" HAVING count(*) > 0`)}),
    ${insert(Prisma.sql`
      SELECT "s"."listId", "s"."lastSeq" - (SELECT count(*)::int FROM "list_event_part") + row_number() OVER (ORDER BY "p"."part"),
        "p"."kind", "p"."data", ${SQL_NOW}
      FROM "list_event_seq" AS "s", "list_event_part" AS "p"`)}`;
}

/** The events recorded by the statement (see `listEventCtes`), as one column of its result. */
export const LIST_EVENTS_COLUMN = Prisma.sql`(SELECT json_agg(row_to_json("e") ORDER BY "e"."seq") FROM "list_event" AS "e") AS "listEvents"`;

/**
 * The events a statement with `listEventCtes` recorded, in order, from a row of its result: one
 * per change that returned a row, in the order of the changes.
 */
export function recordedEvents(row: { listEvents?: unknown }): ListEventPayload[] {
  if (!Array.isArray(row.listEvents)) throw new Error('the change returned a row but recorded no event');
  return (row.listEvents as RecordedRow[]).map(payloadOf);
}

/**
 * Records `event` on every list of `listIds` inside the caller's transaction, after its change
 * (the sequence rows stay locked until commit: taken last, and in id order, they never wait in a
 * cycle with another change). Publish what it returns after the commit.
 */
export async function recordListEvents(
  tx: DbTx,
  listIds: readonly string[],
  event: ListEventRecord,
): Promise<ListEventPayload[]> {
  const ids = [...new Set(listIds)].sort();
  if (!ids.length) return [];
  const { kind, ...data } = event;
  const values = Prisma.join(ids.map((id) => Prisma.sql`(${id}, 1)`));
  const rows = await tx.$queryRaw<RecordedRow[]>`
    WITH "list_event_seq" AS (${nextSeqSql(Prisma.sql`SELECT * FROM (VALUES ${values}) AS "v"("listId", "lastSeq")`)})
    INSERT INTO "ListEvent" ("listId", "seq", "kind", "data", "createdAt")
    SELECT "listId", "lastSeq", ${kind}, ${JSON.stringify(data)}::jsonb, ${SQL_NOW} FROM "list_event_seq"
    RETURNING "listId", "seq", "kind", "data", ${AT} AS "at"`;
  return rows.map(payloadOf);
}

/** The number of the list's last event (0 when it has none). */
export async function lastSeqOf(db: Db, listId: string): Promise<number> {
  return (await db.listSequence.findUnique({ where: { listId } }))?.lastSeq ?? 0;
}

/** Events of the list numbered after `afterSeq` (and up to `toSeq`), oldest first, at most `limit`. */
export async function eventsAfter(
  db: Db,
  listId: string,
  afterSeq: number,
  options: { toSeq?: number; limit?: number; since?: Date } = {},
): Promise<ListEventPayload[]> {
  const rows = await db.listEvent.findMany({
    where: {
      listId,
      seq: { gt: afterSeq, ...(options.toSeq === undefined ? {} : { lte: options.toSeq }) },
      ...(options.since ? { createdAt: { gte: options.since } } : {}),
    },
    orderBy: { seq: 'asc' },
    take: options.limit ?? 500,
  });
  return rows.map((r) => payloadOf({ ...r, at: r.createdAt.toISOString() }));
}

/**
 * The events a stream resuming after `afterSeq` missed, up to `toSeq` (the last one its live feed
 * started after), in order; null when some of them are older than the retention (the client must
 * refetch: ResyncRequired).
 */
export async function* missedEvents(
  db: Db,
  listId: string,
  afterSeq: number,
  toSeq: number,
  retentionMs: number,
): AsyncGenerator<ListEventPayload | null> {
  if (afterSeq >= toSeq) return;
  const since = new Date(Date.now() - retentionMs);
  const first = await eventsAfter(db, listId, afterSeq, { toSeq, limit: 1, since });
  if (first[0]?.seq !== afterSeq + 1) {
    yield null;
    return;
  }
  let last = afterSeq;
  while (last < toSeq) {
    const page = await eventsAfter(db, listId, last, { toSeq });
    if (!page.length) return;
    for (const event of page) {
      yield event;
      last = event.seq;
    }
  }
}

/** Deletes the events older than the retention; returns how many. */
export async function pruneListEvents(db: Db, retentionMs: number): Promise<number> {
  const { count } = await db.listEvent.deleteMany({ where: { createdAt: { lt: new Date(Date.now() - retentionMs) } } });
  return count;
}

/** Prunes now and then every `min(retention / 4, 1 hour)`, until the returned function is called. */
export function prunePeriodically(db: Db, retentionMs: number, onError: (err: Error) => void): () => void {
  const run = () => void pruneListEvents(db, retentionMs).catch(onError);
  const timer = setInterval(run, Math.max(1_000, Math.min(retentionMs / 4, 3_600_000)));
  timer.unref();
  run();
  return () => clearInterval(timer);
}

/** A stream position a client hands back in `listEvents(after:)`: opaque, bound to its list. */
export function cursorOf(listId: string, seq: number): string {
  return Buffer.from(`${listId}:${seq}`).toString('base64url');
}

/** The event number in `cursor`, or null when it is not a cursor of this list. */
export function seqOfCursor(cursor: string, listId: string): number | null {
  const text = Buffer.from(cursor, 'base64url').toString();
  const at = text.lastIndexOf(':');
  if (at < 0 || text.slice(0, at) !== listId) return null;
  const seq = text.slice(at + 1);
  return /^(0|[1-9][0-9]{0,9})$/.test(seq) ? Number(seq) : null;
}
