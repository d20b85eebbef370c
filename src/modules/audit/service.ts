import type { DbTx } from '../../db/client.ts';
import type { Prisma } from '../../generated/prisma/client.ts';

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
