import type { DbTx } from '../db/client.ts';
import { Prisma } from '../generated/prisma/client.ts';
import type {
  AccountFacts,
  AccountRole,
  GeneralAccess,
  ListFacts,
  ListKind,
  ListRole,
  MemberInviters,
  ShareGrant,
  WorkspaceAction,
  WorkspaceAudience,
  WorkspaceCreators,
  WorkspaceFacts,
  WorkspaceRole,
  WorkspaceType,
} from './facts.ts';
import { inForce, listRole } from './rules.ts';

/**
 * The access history (`AuditFact`, written by triggers at each commit, prisma/migrations/*_access_history)
 * read back as the facts of a past instant: the same `ListFacts` / `WorkspaceFacts` / `AccountFacts`
 * the loader in load.ts builds from today's tables, so the same rules decide them.
 */

/** One access fact as the history last recorded it at or before the instant asked about. */
export interface FactVersion {
  /** The fact's table (`Share`, `WorkspaceMember`, …) or `History`. */
  kind: string;
  key: string;
  scope: string | null;
  /** Its access columns then; null: it did not exist then (deleted, or not made yet). */
  state: Record<string, unknown> | null;
}

/** What a question about the past is asked on; lists never change workspace, nor workspaces account. */
export interface PastResource {
  type: 'Account' | 'Workspace' | 'List';
  id: string;
  /** The workspace it is (or is in); null for an account. */
  workspaceId: string | null;
  /** The account that owns it (or owned it, when it is gone). */
  accountId: string;
}

const str = (state: Record<string, unknown>, key: string): string | null => {
  const v = state[key];
  return typeof v === 'string' ? v : null;
};

/** A recorded `TIMESTAMP(3)` (UTC, written without a zone by `to_jsonb`). */
const date = (state: Record<string, unknown>, key: string): Date | null => {
  const v = str(state, key);
  return v ? new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`) : null;
};

/**
 * The access facts as they stood at `at`: the last recorded state of every fact a question needs.
 * Ended grants are left out as the loader leaves them out (`inForceWhere`), at `at` rather than now.
 */
export class PastFacts {
  private readonly byKind = new Map<string, Map<string, FactVersion>>();

  constructor(
    readonly at: Date,
    versions: readonly FactVersion[],
  ) {
    for (const v of versions) {
      const kind = this.byKind.get(v.kind) ?? new Map<string, FactVersion>();
      this.byKind.set(v.kind, kind);
      kind.set(v.key, v);
    }
  }

  /** Whether the history had begun by `at` (the migration that made it recorded every fact then). */
  get covered(): boolean {
    return this.byKind.get('History')?.has('begin') ?? false;
  }

  private state(kind: string, key: string): Record<string, unknown> | null {
    return this.byKind.get(kind)?.get(key)?.state ?? null;
  }

  /** The states of every fact of `kind` that belonged to `scope` then, by key. */
  private inScope(kind: string, scope: string): [string, Record<string, unknown>][] {
    const out: [string, Record<string, unknown>][] = [];
    for (const v of this.byKind.get(kind)?.values() ?? []) if (v.scope === scope && v.state) out.push([v.key, v.state]);
    return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** `userId`'s standing in the account then, or null when the account did not exist. */
  account(accountId: string, userId: string): AccountFacts | null {
    const account = this.state('Account', accountId);
    if (!account) return null;
    const caps = this.inScope('AccountActionCap', accountId).map(([, cap]) => ({
      action: str(cap, 'action') as WorkspaceAction,
      role: str(cap, 'role') as AccountRole,
      allowed: cap.allowed === true,
    }));
    const member = this.state('AccountMember', `${accountId}:${userId}`);
    return {
      accountId,
      role: member ? (str(member, 'role') as AccountRole) : null,
      policy: {
        workspaceCreators: str(account, 'workspaceCreators') as WorkspaceCreators,
        externalSharing: account.externalSharing === true,
        memberInviters: str(account, 'memberInviters') as MemberInviters,
        memberDomains: Array.isArray(account.memberDomains) ? (account.memberDomains as string[]) : [],
        caps,
      },
    };
  }

  /**
   * `userId`'s standing in the workspace then, or null when it did not exist. Whether they reached
   * one of its lists is decided list by list, as `readableListsWhere` does today; `reach` overrides
   * it when the caller settled it already (a list's own explanation).
   */
  workspace(workspaceId: string, userId: string, reach?: boolean): WorkspaceFacts | null {
    const ws = this.state('Workspace', workspaceId);
    const accountId = ws && str(ws, 'accountId');
    const account = accountId && this.account(accountId, userId);
    if (!ws || !account) return null;
    const member = this.state('WorkspaceMember', `${workspaceId}:${userId}`);
    const memberExpiresAt = member ? date(member, 'expiresAt') : null;
    const inForceMember = member && inForce(memberExpiresAt, this.at.getTime());
    const facts: WorkspaceFacts = {
      workspaceId,
      type: str(ws, 'type') as WorkspaceType,
      account,
      memberRole: inForceMember ? (str(member, 'role') as WorkspaceRole) : null,
      memberExpiresAt: inForceMember ? memberExpiresAt : null,
      reachesAList: false,
      rules: this.inScope('WorkspacePermission', workspaceId).map(([, rule]) => ({
        audience: str(rule, 'audience') as WorkspaceAudience,
        action: str(rule, 'action') as WorkspaceAction,
        allowed: rule.allowed === true,
      })),
      asOf: this.at,
    };
    facts.reachesAList =
      reach ??
      this.inScope('List', workspaceId).some(([listId]) => {
        const list = this.listWith(listId, userId, facts);
        return list !== null && listRole(list).allowed;
      });
    return facts;
  }

  /** `userId`'s standing on the list then (no link token presented), or null when it did not exist. */
  list(listId: string, userId: string): ListFacts | null {
    const list = this.state('List', listId);
    const workspaceId = list && str(list, 'workspaceId');
    const ws = workspaceId && this.workspace(workspaceId, userId, false);
    if (!ws) return null;
    const facts = this.listWith(listId, userId, ws);
    if (!facts) return null;
    // As `Access.settleReach`: reaching this list settles the workspace's `reachesAList`. When it
    // does not, no list question gets as far as the workspace's rules (the list role comes first).
    return { ...facts, workspace: { ...ws, reachesAList: listRole(facts).allowed } };
  }

  private listWith(listId: string, userId: string, workspace: WorkspaceFacts): ListFacts | null {
    const list = this.state('List', listId);
    if (!list) return null;
    return {
      listId,
      kind: str(list, 'kind') as ListKind,
      generalAccess: str(list, 'generalAccess') as GeneralAccess,
      generalRole: str(list, 'generalRole') as ListRole,
      isCreator: str(list, 'creatorId') === userId,
      hasValidLinkToken: false,
      linkExpiresAt: date(list, 'linkExpiresAt'),
      grants: this.inScope('Share', listId).flatMap(([shareId, share]) => this.grant(shareId, share, userId)),
      workspace,
    };
  }

  /** A share as a grant to `userId` then: theirs, a group's they were a direct member of, a right's they held. */
  private grant(shareId: string, share: Record<string, unknown>, userId: string): ShareGrant[] {
    const expiresAt = date(share, 'expiresAt');
    if (!inForce(expiresAt, this.at.getTime())) return [];
    const role = str(share, 'role') as ListRole;
    const [user, group, right] = [str(share, 'userId'), str(share, 'groupId'), str(share, 'rightId')];
    if (user === userId) return [{ shareId, role, via: 'USER', principalId: user, expiresAt }];
    if (group && this.state('GroupMember', `${group}:${userId}`))
      return [{ shareId, role, via: 'GROUP', principalId: group, expiresAt }];
    if (right && this.state('RightGrant', `${right}:${userId}`))
      return [{ shareId, role, via: 'RIGHT', principalId: right, expiresAt }];
    return [];
  }
}

/**
 * What the resource is and which account owns it, from the history (any instant): null when the
 * history never knew it.
 */
export async function pastResource(db: DbTx, type: PastResource['type'], id: string): Promise<PastResource | null> {
  const workspace =
    type === 'List'
      ? Prisma.sql`(SELECT "state"->>'workspaceId' FROM "AuditFact" WHERE "kind" = 'List' AND "key" = ${id} AND "state" IS NOT NULL ORDER BY "seq" DESC LIMIT 1)`
      : Prisma.sql`CAST(${id} AS TEXT)`;
  const account =
    type === 'Account'
      ? Prisma.sql`(SELECT "key" FROM "AuditFact" WHERE "kind" = 'Account' AND "key" = ${id} LIMIT 1)`
      : Prisma.sql`(SELECT "state"->>'accountId' FROM "AuditFact" WHERE "kind" = 'Workspace' AND "key" = "workspace"."id" AND "state" IS NOT NULL ORDER BY "seq" DESC LIMIT 1)`;
  const rows = await db.$queryRaw<{ workspaceId: string | null; accountId: string | null }[]>`
    SELECT "workspace"."id" AS "workspaceId", ${account} AS "accountId" FROM (SELECT ${workspace} AS "id") AS "workspace"`;
  const row = rows[0];
  if (!row?.accountId) return null;
  return { type, id, workspaceId: type === 'Account' ? null : row.workspaceId, accountId: row.accountId };
}

/**
 * Every fact a question about `userId` on the resource needs, as the history had it at `at`: the
 * resource and what it belongs to, its shares (a workspace's: those of all its lists), the
 * person's memberships, groups and rights, and the `History` row once the history had begun. One
 * statement: the last version of each fact recorded at or before `at`.
 */
export async function loadPastFacts(db: DbTx, resource: PastResource, userId: string, at: Date): Promise<PastFacts> {
  const { type, id, accountId } = resource;
  const fact = (kind: string, key: string) => Prisma.sql`("kind" = ${kind} AND "key" = ${key})`;
  const scoped = (kind: string, scope: string) => Prisma.sql`("kind" = ${kind} AND "scope" = ${scope})`;
  const conditions = [
    fact('History', 'begin'),
    fact('Account', accountId),
    scoped('AccountActionCap', accountId),
    fact('AccountMember', `${accountId}:${userId}`),
  ];
  if (resource.workspaceId) {
    const { workspaceId } = resource;
    conditions.push(
      fact('Workspace', workspaceId),
      scoped('WorkspacePermission', workspaceId),
      fact('WorkspaceMember', `${workspaceId}:${userId}`),
      Prisma.sql`("kind" IN ('GroupMember', 'RightGrant') AND "userId" = ${userId})`,
      type === 'List'
        ? Prisma.sql`${fact('List', id)} OR ${scoped('Share', id)}`
        : Prisma.sql`${scoped('List', id)} OR ("kind" = 'Share' AND "scope" IN (SELECT "key" FROM "AuditFact" WHERE "kind" = 'List' AND "scope" = ${id}))`,
    );
  }
  const versions = await db.$queryRaw<FactVersion[]>`
    SELECT DISTINCT ON ("kind", "key") "kind", "key", "scope", "state"
    FROM "AuditFact"
    WHERE "createdAt" <= CAST(${at.toISOString()} AS TIMESTAMP(3)) AND (${Prisma.join(conditions, ' OR ')})
    ORDER BY "kind", "key", "seq" DESC`;
  return new PastFacts(at, versions);
}

const beginnings = new WeakMap<object, Promise<Date | null>>();

/**
 * When the history began (the migration that made it recorded every fact then); null: never (a
 * database without it). It never moves, so each database client asks once.
 */
export function historyBegins(db: DbTx): Promise<Date | null> {
  let begins = beginnings.get(db);
  if (!begins) {
    begins = db.auditFact
      .findFirst({ where: { kind: 'History', key: 'begin' }, orderBy: { seq: 'asc' }, select: { createdAt: true } })
      .then((row) => row?.createdAt ?? null);
    begins.catch(() => beginnings.delete(db));
    beginnings.set(db, begins);
  }
  return begins;
}
