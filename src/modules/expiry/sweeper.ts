import type { Logger } from 'pino';
import { expiryNotes, onNextExpiry, setNextExpiry } from '../../cache/expiries.ts';
import { BACKGROUND, type Db, type DbTx } from '../../db/client.ts';
import type { Prisma } from '../../generated/prisma/client.ts';
import type { ListEventPayload, Realtime } from '../../realtime/pubsub.ts';
import { type AuditEntry, SQL_NOW } from '../audit/service.ts';
import { recordListEvents } from '../list/event-log.ts';

/** How often the sweeper asks the database for the next expiry (other instances' writes). */
export const SWEEP_INTERVAL_MS = 1_000;
/** Rows claimed per statement; a larger backlog is taken in turns. */
const BATCH = 500;

export interface ExpirySweeper {
  /** Claims whatever has expired now, then looks up the next expiry (also run on the timers). */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

interface Expired {
  audits: AuditEntry[];
  /** list id → users whose access changed (empty: re-decide for everyone). */
  changed: Map<string, Set<string> | 'all'>;
}

/**
 * Ends grants at their expiry, on whichever instance gets there first: every instance runs one,
 * on a timer to the next known expiry and every SWEEP_INTERVAL_MS. Expired rows are claimed with
 * `FOR UPDATE SKIP LOCKED` in one transaction that deletes them (shares, memberships) or closes
 * the link (lists) and writes their audit rows (`share.expire`, `member.expire`,
 * `list.link-expire`), so each expiry is recorded once however many instances sweep; after the
 * commit, ACCESS_CHANGED goes to the lists' streams (they re-decide: a revoked one gets
 * AccessRevoked, presence leaves). Reads stop at the instant itself, before the sweep: the loader
 * (src/access/load.ts) ignores grants whose expiry has passed, and caches keep nothing past the
 * next known expiry (src/cache/expiries.ts); the sweep's writes end kept answers on every instance.
 */
export function startExpirySweeper(options: { db: Db; realtime: Realtime; log: Logger }): ExpirySweeper {
  const { db, realtime, log } = options;
  let closed = false;
  let running: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  const schedule = (at: number) => {
    clearTimeout(timer);
    if (closed || !Number.isFinite(at)) return;
    // Timers may not exceed 2^31-1 ms; the interval looks again long before a far expiry anyway.
    const delay = Math.min(Math.max(0, at - Date.now() + 1), SWEEP_INTERVAL_MS * 60);
    timer = setTimeout(() => void sweep(), delay);
    timer.unref();
  };
  const unlisten = onNextExpiry(db, schedule);

  const once = async () => {
    for (;;) {
      const [expired, events] = await db.$transaction(async (tx) => {
        const claimed = await claimExpired(tx);
        return [claimed, await recordChanges(tx, claimed)] as const;
      });
      for (const event of events) realtime.pubsub.publish('list:events', event.listId, event);
      if (expired.audits.length) log.info({ expired: expired.audits.length }, 'access expired');
      if (expired.audits.length < BATCH) break;
    }
    const notes = expiryNotes(db);
    const next = await earliestExpiry(db);
    // Still due (claimed by another instance that has not committed yet): look again shortly.
    setNextExpiry(db, next, notes);
    if (next <= Date.now()) schedule(Date.now() + 50);
  };
  const sweep = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = once()
      .catch((err: Error) => log.warn({ err: err.message }, 'expiry sweep failed'))
      .finally(() => {
        running = null;
        if (again && !closed) {
          again = false;
          void sweep();
        }
      });
    return running;
  };
  // Due grants are looked up (a SELECT, which ends no cached answer) before any claim is tried.
  const tick = async () => {
    try {
      const notes = expiryNotes(db);
      const next = await earliestExpiry(db);
      if (next <= Date.now()) return sweep();
      setNextExpiry(db, next, notes);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'expiry look-up failed');
    }
  };
  const interval = setInterval(() => void tick(), SWEEP_INTERVAL_MS);
  interval.unref();
  void tick();
  return {
    sweep,
    async close() {
      closed = true;
      clearInterval(interval);
      clearTimeout(timer);
      unlisten();
      await running;
    },
  };
}

/** The earliest expiry of any share, link or membership (epoch ms), past ones included; Infinity when none. */
async function earliestExpiry(db: Db): Promise<number> {
  // One statement, background work (not counted as any operation's), each an index probe.
  const [row] = await db.$queryRawUnsafe<{ next: number | null }[]>(`${BACKGROUND}
    SELECT (extract(epoch FROM LEAST(
      (SELECT min("expiresAt") FROM "Share"),
      (SELECT min("linkExpiresAt") FROM "List"),
      (SELECT min("expiresAt") FROM "WorkspaceMember")
    )) * 1000)::float8 AS "next"`);
  return row?.next ?? Number.POSITIVE_INFINITY;
}

/** Claims, ends and audits what has expired, in the caller's transaction. */
async function claimExpired(tx: DbTx): Promise<Expired> {
  const expired: Expired = { audits: [], changed: new Map() };
  const touch = (listId: string, userId: string | null) => {
    const users = expired.changed.get(listId);
    if (users === 'all') return;
    if (!userId) return void expired.changed.set(listId, 'all');
    expired.changed.set(listId, (users ?? new Set<string>()).add(userId));
  };

  const shareIds = await tx.$queryRaw<{ id: string }[]>`
    SELECT "id" FROM "Share" WHERE "expiresAt" <= ${SQL_NOW}
    ORDER BY "expiresAt" LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`;
  if (shareIds.length) {
    const shares = await tx.share.findMany({
      where: { id: { in: shareIds.map((s) => s.id) } },
      include: { list: { select: { workspace: { select: { accountId: true } } } } },
    });
    await tx.share.deleteMany({ where: { id: { in: shares.map((s) => s.id) } } });
    for (const share of shares) {
      if (share.email)
        await tx.invitation.updateMany({
          where: { listId: share.listId, email: share.email, status: 'PENDING' },
          data: { status: 'REVOKED', decidedAt: new Date() },
        });
      const principal = share.userId
        ? { userId: share.userId }
        : share.groupId
          ? { groupId: share.groupId }
          : share.rightId
            ? { rightId: share.rightId }
            : { email: share.email };
      expired.audits.push({
        accountId: share.list.workspace.accountId,
        actorId: null,
        action: 'share.expire',
        // On the list's trail (auditLog(list)), as share.create is.
        resourceType: 'List',
        resourceId: share.listId,
        data: {
          listId: share.listId,
          shareId: share.id,
          role: share.role,
          expiresAt: share.expiresAt?.toISOString(),
          ...principal,
        },
      });
      // An email share reaches nobody until accepted: no stream to tell.
      if (!share.email) touch(share.listId, share.userId);
    }
  }

  const links = await tx.$queryRaw<{ id: string }[]>`
    SELECT "id" FROM "List" WHERE "linkExpiresAt" <= ${SQL_NOW}
    ORDER BY "linkExpiresAt" LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`;
  if (links.length) {
    const lists = await tx.list.findMany({
      where: { id: { in: links.map((l) => l.id) } },
      select: { id: true, generalAccess: true, linkExpiresAt: true, workspace: { select: { accountId: true } } },
    });
    // The link stops opening the list: general access falls back to RESTRICTED.
    await tx.list.updateMany({
      where: { id: { in: lists.map((l) => l.id) }, generalAccess: 'ANYONE_WITH_LINK' },
      data: { generalAccess: 'RESTRICTED', generalRole: 'VIEWER' },
    });
    await tx.list.updateMany({ where: { id: { in: lists.map((l) => l.id) } }, data: { linkExpiresAt: null } });
    for (const list of lists) {
      expired.audits.push({
        accountId: list.workspace.accountId,
        actorId: null,
        action: 'list.link-expire',
        resourceType: 'List',
        resourceId: list.id,
        data: { listId: list.id, expiresAt: list.linkExpiresAt?.toISOString(), from: list.generalAccess },
      });
      touch(list.id, null);
    }
  }

  const members = await tx.$queryRaw<{ workspaceId: string; userId: string }[]>`
    SELECT "workspaceId", "userId" FROM "WorkspaceMember" WHERE "expiresAt" <= ${SQL_NOW}
    ORDER BY "expiresAt" LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`;
  if (members.length) {
    const rows = await tx.workspaceMember.findMany({
      where: { OR: members.map((m) => ({ workspaceId: m.workspaceId, userId: m.userId })) },
      include: { workspace: { select: { accountId: true, lists: { select: { id: true } } } } },
    });
    await tx.workspaceMember.deleteMany({
      where: { OR: rows.map((m) => ({ workspaceId: m.workspaceId, userId: m.userId })) },
    });
    for (const member of rows) {
      expired.audits.push({
        accountId: member.workspace.accountId,
        actorId: null,
        action: 'member.expire',
        resourceType: 'Workspace',
        resourceId: member.workspaceId,
        data: { userId: member.userId, role: member.role, expiresAt: member.expiresAt?.toISOString() },
      });
      for (const list of member.workspace.lists) touch(list.id, member.userId);
    }
  }

  if (expired.audits.length)
    await tx.auditEvent.createMany({
      data: expired.audits.map((a) => ({
        accountId: a.accountId,
        actorId: a.actorId,
        action: a.action,
        resourceType: a.resourceType,
        resourceId: a.resourceId,
        data: (a.data ?? {}) as Prisma.InputJsonValue,
      })),
    });
  return expired;
}

/**
 * Records ACCESS_CHANGED on each list whose access ended for someone, in the sweep's transaction
 * (the list's event sequence, src/modules/list/event-log.ts); the sweep publishes them after commit.
 */
async function recordChanges(tx: DbTx, expired: Expired): Promise<ListEventPayload[]> {
  const events: ListEventPayload[] = [];
  for (const [listId, users] of [...expired.changed].sort(([a], [b]) => a.localeCompare(b))) {
    const userIds = users === 'all' ? [] : [...users];
    events.push(...(await recordListEvents(tx, [listId], { kind: 'ACCESS_CHANGED', userIds })));
  }
  return events;
}
