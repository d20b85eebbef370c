import { randomFillSync } from 'node:crypto';
import type { DbTx } from '../../db/client.ts';
import { Prisma } from '../../generated/prisma/client.ts';

/** One audited change; written in the same transaction as the change itself. */
export interface AuditEntry {
  accountId: string | null;
  actorId: string | null;
  /** `resource.verb`, e.g. `workspace.create`, `member.remove`. */
  action: string;
  resourceType: string;
  resourceId: string;
  data?: Record<string, unknown>;
}

/** Records an audit event inside the caller's transaction. */
export async function audit(tx: DbTx, entry: AuditEntry): Promise<void> {
  await tx.auditEvent.create({
    data: {
      accountId: entry.accountId,
      actorId: entry.actorId,
      action: entry.action,
      resourceType: entry.resourceType,
      resourceId: entry.resourceId,
      data: (entry.data ?? {}) as Prisma.InputJsonValue,
    },
  });
}

/** The current time as the `TIMESTAMP(3)` columns hold it (UTC, like the Prisma client writes it). */
export const SQL_NOW = Prisma.sql`(now() AT TIME ZONE 'UTC')`;

/**
 * The audit row as an `INSERT … SELECT … FROM source`, one row per row of `source` (a CTE
 * holding what the change returned): written inside a change's own statement, it commits with
 * the change, or not at all, without an interactive transaction. `rowData`, a jsonb expression
 * over the source row, adds what only the change knows (a deleted row's title).
 */
export function auditInsertSql(entry: AuditEntry, source: Prisma.Sql, rowData?: Prisma.Sql): Prisma.Sql {
  const data = Prisma.sql`${JSON.stringify(entry.data ?? {})}::jsonb`;
  return Prisma.sql`
    INSERT INTO "AuditEvent" ("id", "accountId", "actorId", "action", "resourceType", "resourceId", "data", "createdAt")
    SELECT ${newRowId()}, ${entry.accountId}, ${entry.actorId}, ${entry.action}, ${entry.resourceType},
      ${entry.resourceId}, ${rowData ? Prisma.sql`${data} || ${rowData}` : data}, ${SQL_NOW}
    FROM ${source}`;
}

const idBytes = Buffer.alloc(16);
let idMillis = 0;
let idCounter = 0;

/**
 * A UUIDv7, as `@default(uuid(7))` makes them, for rows inserted by raw SQL (Prisma makes those
 * ids in the client, not in the database). Ids of one process increase (a 12-bit counter within
 * a millisecond, RFC 9562 method 1), so `orderBy: { id }` stays oldest-first.
 */
export function newRowId(): string {
  const now = Date.now();
  if (now > idMillis) {
    idMillis = now;
    idCounter = 0;
  } else if (++idCounter > 0xfff) {
    idMillis++;
    idCounter = 0;
  }
  randomFillSync(idBytes, 8, 8);
  idBytes.writeUIntBE(idMillis, 0, 6);
  idBytes[6] = 0x70 | (idCounter >> 8);
  idBytes[7] = idCounter & 0xff;
  idBytes[8] = 0x80 | ((idBytes[8] ?? 0) & 0x3f);
  const hex = idBytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
