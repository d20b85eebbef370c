import DataLoader from 'dataloader';
import type { RememberedFacts } from '../cache/facts.ts';
import type { Db, DbTx } from '../db/client.ts';
import { Prisma } from '../generated/prisma/client.ts';
import type { AccountFacts, AccountPolicyFacts, ListFacts, ListRole, ShareGrant, WorkspaceFacts } from './facts.ts';
import {
  type AccountQuestion,
  type AnonymizeFacts,
  type Decision,
  decideAccount,
  decideList,
  decideWorkspace,
  inForce,
  type ListQuestion,
  listRole,
  type WorkspaceQuestion,
  type WorkspaceViewerRole,
  workspaceStanding,
} from './rules.ts';

/** Who is asking: a signed-in user, or anonymous (null). */
export interface ViewerRef {
  id: string;
  email: string;
}

/**
 * Grants (shares, workspace memberships) still in force, as a Prisma filter: one whose `expiresAt`
 * has passed grants nothing from that instant, before the expiry sweeper (src/modules/expiry)
 * deletes it. Every SQL mirror of the rules reads through it.
 */
export function inForceWhere(now: Date = new Date()): { OR: [{ expiresAt: null }, { expiresAt: { gt: Date } }] } {
  return { OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] };
}

/** The shares that reach a user: theirs, their groups' (direct members), their rights', still in force. */
export function sharesReachingWhere(viewerId: string): Prisma.ShareWhereInput {
  return {
    AND: [
      inForceWhere(),
      {
        OR: [
          { userId: viewerId },
          { group: { members: { some: { userId: viewerId } } } },
          { right: { holders: { some: { userId: viewerId } } } },
        ],
      },
    ],
  };
}

/** The user's workspace memberships still in force. */
export function membershipWhere(userId: string, role?: 'OWNER'): Prisma.WorkspaceMemberWhereInput {
  return { userId, ...(role ? { role } : {}), ...inForceWhere() };
}

/**
 * Lists the viewer can read, as a Prisma filter: the SQL mirror of `listRole` (without the link
 * token, which only opens a list by id). Connections use it so pages are always full.
 */
export function readableListsWhere(viewerId: string): Prisma.ListWhereInput {
  const inAccountAs = (roles: ('ADMIN' | 'MEMBER')[]) => ({
    workspace: { account: { members: { some: { userId: viewerId, role: { in: roles } } } } },
  });
  return {
    OR: [
      { creatorId: viewerId },
      // Admins reach every list of the workspaces whose content they read (`adminReachesContent`).
      {
        workspace: {
          account: { members: { some: { userId: viewerId, role: 'ADMIN' } } },
          OR: [{ type: 'OPEN' }, { members: { some: membershipWhere(viewerId) } }],
        },
      },
      { shares: { some: sharesReachingWhere(viewerId) } },
      {
        generalAccess: 'WORKSPACE',
        OR: [
          { workspace: { members: { some: membershipWhere(viewerId) } } },
          { workspace: { type: 'OPEN', ...inAccountAs(['ADMIN', 'MEMBER']).workspace } },
        ],
      },
      { generalAccess: 'GLOBAL', ...inAccountAs(['ADMIN', 'MEMBER']) },
    ],
  };
}

/**
 * Accounts whose lists' content (items, their updates, the audit of those) the viewer may read in
 * some way, as a Prisma filter: a superset, so that a write on any other account's lists cannot
 * change an answer of theirs (the response cache keeps those answers). Member of the account in
 * any role, member of one of its workspaces, or reaching one of its lists without a link token (a
 * link opens one list, whose account the request notes: `Access.accountsSeen`).
 */
export function reachableAccountsWhere(viewerId: string): Prisma.AccountWhereInput {
  return {
    OR: [
      { members: { some: { userId: viewerId } } },
      {
        workspaces: {
          some: {
            OR: [{ members: { some: membershipWhere(viewerId) } }, { lists: { some: readableListsWhere(viewerId) } }],
          },
        },
      },
    ],
  };
}

/**
 * Workspaces listed to the viewer (`workspaces`, `workspace(id)`), as a Prisma filter: the SQL
 * mirror of `decideWorkspace(…, 'workspace:list')` (member; account admin or member of an open
 * or closed one; or reaching one of its lists).
 */
export function visibleWorkspacesWhere(viewerId: string): Prisma.WorkspaceWhereInput {
  return {
    OR: [
      { members: { some: membershipWhere(viewerId) } },
      {
        type: { in: ['OPEN', 'CLOSED'] },
        account: { members: { some: { userId: viewerId, role: { in: ['ADMIN', 'MEMBER'] } } } },
      },
      { lists: { some: readableListsWhere(viewerId) } },
    ],
  };
}

/**
 * Workspaces whose content the viewer may read, as a Prisma filter: the SQL mirror of
 * `decideWorkspace(…, 'workspace:read')` (member; account admin or member of an open one).
 */
export function readableWorkspacesWhere(viewerId: string): Prisma.WorkspaceWhereInput {
  return {
    OR: [
      { members: { some: membershipWhere(viewerId) } },
      { type: 'OPEN', account: { members: { some: { userId: viewerId, role: { in: ['ADMIN', 'MEMBER'] } } } } },
    ],
  };
}

/**
 * Contacts the viewer may read, as a Prisma filter: the SQL mirror of `decideContact(…,
 * 'contact:read')` (the workspace's readers, or an item of a list they can read links to it).
 */
export function visibleContactsWhere(viewerId: string): Prisma.ContactWhereInput {
  return {
    OR: [{ workspace: readableWorkspacesWhere(viewerId) }, { items: { some: { list: readableListsWhere(viewerId) } } }],
  };
}

/** Emails whose metadata the viewer may read: those of workspaces whose content they read. */
export function visibleEmailsWhere(viewerId: string): Prisma.EmailWhereInput {
  return { workspace: readableWorkspacesWhere(viewerId) };
}

/** Whether an item of a list the viewer can read links to the contact (how guests reach contacts). */
export async function contactReachedThroughList(db: DbTx, viewerId: string, contactId: string): Promise<boolean> {
  const item = await db.item.findFirst({
    where: { contactId, list: readableListsWhere(viewerId) },
    select: { id: true },
  });
  return item !== null;
}

/**
 * The facts `decideAnonymize` needs: every account the target is in, holds a share, list or owned
 * workspace in, or was anonymised in (audit), with the viewer's role in each.
 */
export async function loadAnonymizeFacts(db: DbTx, viewerId: string, targetId: string): Promise<AnonymizeFacts> {
  const viaWorkspace = { workspace: { select: { accountId: true } } } as const;
  const [members, workspaces, lists, shares, anonymised] = await Promise.all([
    db.accountMember.findMany({ where: { userId: targetId }, select: { accountId: true } }),
    db.workspaceMember.findMany({ where: { userId: targetId }, select: viaWorkspace }),
    db.list.findMany({ where: { creatorId: targetId }, select: viaWorkspace }),
    db.share.findMany({ where: { userId: targetId }, select: { list: { select: viaWorkspace } } }),
    db.auditEvent.findMany({
      where: { resourceType: 'User', resourceId: targetId, action: 'user.anonymize' },
      select: { accountId: true },
    }),
  ]);
  const accountIds = new Set<string>([
    ...members.map((m) => m.accountId),
    ...workspaces.map((w) => w.workspace.accountId),
    ...lists.map((l) => l.workspace.accountId),
    ...shares.map((s) => s.list.workspace.accountId),
    ...anonymised.flatMap((a) => (a.accountId ? [a.accountId] : [])),
  ]);
  const roles = await db.accountMember.findMany({
    where: { userId: viewerId, accountId: { in: [...accountIds] } },
    select: { accountId: true, role: true },
  });
  const roleOf = new Map(roles.map((r) => [r.accountId, r.role]));
  return {
    viewerId,
    targetId,
    accounts: [...accountIds].sort().map((accountId) => ({ accountId, viewerRole: roleOf.get(accountId) ?? null })),
  };
}

const policySelect = {
  id: true,
  workspaceCreators: true,
  externalSharing: true,
  memberInviters: true,
  memberDomains: true,
  caps: { select: { action: true, role: true, allowed: true } },
} as const;

/** What `AccountFacts` is made of, for `viewer`. */
function accountSelect(viewer: ViewerRef | null) {
  return {
    ...policySelect,
    members: viewer ? { where: { userId: viewer.id }, select: { role: true } } : false,
  } as const;
}

/**
 * What `WorkspaceFacts` is made of, for `viewer`, its account's facts included. Without `reach`,
 * whether the viewer reaches a list of it is left out: that subquery costs more than the rest
 * together, and a list's own facts often settle it (see `Access.list`).
 */
function workspaceSelect(viewer: ViewerRef | null, reach = true) {
  const viewerId = viewer?.id ?? '';
  return {
    id: true,
    accountId: true,
    type: true,
    permissions: { select: { audience: true, action: true, allowed: true } },
    members: { where: membershipWhere(viewerId), select: { role: true, expiresAt: true } },
    lists: viewer && reach ? { where: readableListsWhere(viewerId), select: { id: true }, take: 1 } : false,
    account: { select: accountSelect(viewer) },
  } as const;
}

/** What a list's facts are made of, for `viewer`, with its workspace's (all but `reachesAList`). */
function listSelect(viewer: ViewerRef | null) {
  return {
    id: true,
    workspaceId: true,
    kind: true,
    generalAccess: true,
    generalRole: true,
    linkToken: true,
    linkExpiresAt: true,
    creatorId: true,
    shares: viewer
      ? {
          where: sharesReachingWhere(viewer.id),
          select: { id: true, role: true, userId: true, groupId: true, rightId: true, expiresAt: true },
          // Reasons come in the order the shares were made, today and in `accessAt` alike.
          orderBy: { id: Prisma.SortOrder.asc },
        }
      : false,
    workspace: { select: workspaceSelect(viewer, false) },
  } as const;
}

/** A list's facts as `listSelect` fetches them, or as `listFactsSql` does. */
export type ListSelectRow = Prisma.ListGetPayload<{ select: ReturnType<typeof listSelect> }>;

/**
 * The SQL mirror of `listSelect`: one row of plain columns and arrays (no JSON; the arrays of one
 * aggregate in the same order, that of its rows, sorted once before they are aggregated rather
 * than once per array; shares by id, as `listSelect` orders them, since reasons list them in that
 * order) for the list
 * `listId`, none when it does not exist. A statement that reads a list's content puts it in a
 * CTE and reads it back with `listFactsFromSql`, so opening a list costs one round trip for its
 * facts and its content together. test/api/list-read.test.ts holds it to `listSelect`'s answer.
 */
export function listFactsSql(viewer: ViewerRef | null, listId: string, now: Date = new Date()): Prisma.Sql {
  // An anonymous viewer matches no share and no membership: no id equals ''.
  const viewerId = viewer?.id ?? '';
  return Prisma.sql`SELECT l.id AS "f_id", l."workspaceId" AS "f_workspaceId", l.kind::text AS "f_kind",
  l."generalAccess"::text AS "f_generalAccess", l."generalRole"::text AS "f_generalRole", l."linkToken" AS "f_linkToken",
  l."linkExpiresAt" AS "f_linkExpiresAt", l."creatorId" AS "f_creatorId", w."accountId" AS "f_accountId",
  w.type::text AS "f_type", a."workspaceCreators"::text AS "f_workspaceCreators", a."externalSharing" AS "f_externalSharing",
  a."memberInviters"::text AS "f_memberInviters", a."memberDomains" AS "f_memberDomains",
  wm.role::text AS "f_memberRole", wm."expiresAt" AS "f_memberExpiresAt", am.role::text AS "f_accountRole",
  sh."f_shareIds", sh."f_shareRoles", sh."f_shareUsers", sh."f_shareGroups", sh."f_shareRights", sh."f_shareExpires",
  pm."f_ruleAudiences", pm."f_ruleActions", pm."f_ruleAllowed", cp."f_capActions", cp."f_capRoles", cp."f_capAllowed"
FROM "List" l
JOIN "Workspace" w ON w.id = l."workspaceId"
JOIN "Account" a ON a.id = w."accountId"
LEFT JOIN "WorkspaceMember" wm ON wm."workspaceId" = w.id AND wm."userId" = ${viewerId}
  AND (wm."expiresAt" IS NULL OR wm."expiresAt" > ${now})
LEFT JOIN "AccountMember" am ON am."accountId" = a.id AND am."userId" = ${viewerId}
LEFT JOIN LATERAL (
  SELECT array_agg(s.id) AS "f_shareIds", array_agg(s.role::text) AS "f_shareRoles",
    array_agg(s."userId") AS "f_shareUsers", array_agg(s."groupId") AS "f_shareGroups",
    array_agg(s."rightId") AS "f_shareRights", array_agg(s."expiresAt") AS "f_shareExpires"
  FROM (SELECT s.* FROM "Share" s
    WHERE s."listId" = l.id AND (s."expiresAt" IS NULL OR s."expiresAt" > ${now})
      AND (s."userId" = ${viewerId}
        OR EXISTS (SELECT 1 FROM "GroupMember" gm WHERE gm."groupId" = s."groupId" AND gm."userId" = ${viewerId})
        OR EXISTS (SELECT 1 FROM "RightGrant" rg WHERE rg."rightId" = s."rightId" AND rg."userId" = ${viewerId}))
    ORDER BY s.id) s
) sh ON true
LEFT JOIN LATERAL (
  SELECT array_agg(p.audience::text) AS "f_ruleAudiences",
    array_agg(p.action::text) AS "f_ruleActions",
    array_agg(p.allowed) AS "f_ruleAllowed"
  FROM "WorkspacePermission" p WHERE p."workspaceId" = w.id
) pm ON true
LEFT JOIN LATERAL (
  SELECT array_agg(c.action::text) AS "f_capActions",
    array_agg(c.role::text) AS "f_capRoles",
    array_agg(c.allowed) AS "f_capAllowed"
  FROM "AccountActionCap" c WHERE c."accountId" = a.id
) cp ON true
WHERE l.id = ${listId}`;
}

/** The columns `listFactsSql` returns, as `$queryRaw` reads them. */
export interface ListFactsColumns {
  f_id: string;
  f_workspaceId: string;
  f_kind: ListSelectRow['kind'];
  f_generalAccess: ListSelectRow['generalAccess'];
  f_generalRole: ListSelectRow['generalRole'];
  f_linkToken: string | null;
  f_linkExpiresAt: Date | null;
  f_creatorId: string | null;
  f_accountId: string;
  f_type: WorkspaceFacts['type'];
  f_workspaceCreators: AccountPolicyFacts['workspaceCreators'];
  f_externalSharing: boolean;
  f_memberInviters: AccountPolicyFacts['memberInviters'];
  f_memberDomains: string[];
  f_memberRole: NonNullable<WorkspaceFacts['memberRole']> | null;
  f_memberExpiresAt: Date | null;
  f_accountRole: NonNullable<AccountFacts['role']> | null;
  f_shareIds: string[] | null;
  f_shareRoles: ListRole[] | null;
  f_shareUsers: (string | null)[] | null;
  f_shareGroups: (string | null)[] | null;
  f_shareRights: (string | null)[] | null;
  f_shareExpires: (Date | null)[] | null;
  f_ruleAudiences: WorkspaceFacts['rules'][number]['audience'][] | null;
  f_ruleActions: WorkspaceFacts['rules'][number]['action'][] | null;
  f_ruleAllowed: boolean[] | null;
  f_capActions: AccountPolicyFacts['caps'][number]['action'][] | null;
  f_capRoles: AccountPolicyFacts['caps'][number]['role'][] | null;
  f_capAllowed: boolean[] | null;
}

/** A `listFactsSql` row as `listSelect` would have fetched it, for `Access.primeList`. */
export function listFactsFromSql(viewer: ViewerRef | null, row: ListFactsColumns): ListSelectRow {
  const at = <T>(values: readonly T[] | null, i: number) => (values as T[])[i] as T;
  const shareIds = row.f_shareIds ?? [];
  const rules = row.f_ruleAudiences ?? [];
  const caps = row.f_capActions ?? [];
  return {
    id: row.f_id,
    workspaceId: row.f_workspaceId,
    kind: row.f_kind,
    generalAccess: row.f_generalAccess,
    generalRole: row.f_generalRole,
    linkToken: row.f_linkToken,
    linkExpiresAt: row.f_linkExpiresAt,
    creatorId: row.f_creatorId,
    shares: viewer
      ? shareIds.map((id, i) => ({
          id,
          role: at(row.f_shareRoles, i),
          userId: at(row.f_shareUsers, i),
          groupId: at(row.f_shareGroups, i),
          rightId: at(row.f_shareRights, i),
          expiresAt: at(row.f_shareExpires, i),
        }))
      : undefined,
    workspace: {
      id: row.f_workspaceId,
      accountId: row.f_accountId,
      type: row.f_type,
      permissions: rules.map((audience, i) => ({
        audience,
        action: at(row.f_ruleActions, i),
        allowed: at(row.f_ruleAllowed, i),
      })),
      members: row.f_memberRole ? [{ role: row.f_memberRole, expiresAt: row.f_memberExpiresAt }] : [],
      account: {
        id: row.f_accountId,
        workspaceCreators: row.f_workspaceCreators,
        externalSharing: row.f_externalSharing,
        memberInviters: row.f_memberInviters,
        memberDomains: row.f_memberDomains,
        caps: caps.map((action, i) => ({ action, role: at(row.f_capRoles, i), allowed: at(row.f_capAllowed, i) })),
        members: viewer && row.f_accountRole ? [{ role: row.f_accountRole }] : viewer ? [] : undefined,
      },
    },
  } as ListSelectRow;
}

type AccountRow = Prisma.AccountGetPayload<{ select: ReturnType<typeof accountSelect> }>;
type WorkspaceRow = Prisma.WorkspaceGetPayload<{ select: ReturnType<typeof workspaceSelect> }>;

function toAccountFacts(row: AccountRow): AccountFacts {
  const { members, ...policy } = row;
  return { accountId: row.id, role: members?.[0]?.role ?? null, policy: toPolicy(policy) };
}

function toWorkspaceFacts(row: WorkspaceRow): WorkspaceFacts {
  return {
    workspaceId: row.id,
    type: row.type,
    account: toAccountFacts(row.account),
    memberRole: row.members[0]?.role ?? null,
    memberExpiresAt: row.members[0]?.expiresAt ?? null,
    reachesAList: (row.lists?.length ?? 0) > 0,
    rules: row.permissions,
  };
}

/** Whether `workspaceStanding` can be decided without knowing if the viewer reaches a list of it. */
function standingIgnoresReach(ws: WorkspaceFacts): boolean {
  const role = ws.account.role;
  return ws.memberRole !== null || ((role === 'ADMIN' || role === 'MEMBER') && ws.type === 'OPEN');
}

/**
 * Fetches the facts the rules decide on, once per request (request-scoped DataLoaders, so a
 * page of fifty workspaces costs one query per kind of fact, not fifty), and asks the rules.
 * A list's facts come with its workspace's and account's in one statement (nested selects,
 * joined in SQL), which then prime the workspace and account loaders: opening a list costs
 * one round trip for its access decision, not three in a row. Whether the viewer reaches some
 * list of the workspace is not fetched with them: reaching this list answers it, and only a
 * viewer it leaves undecided (no grant here, no standing in the workspace) costs a second look-up.
 */
export class Access {
  private readonly accounts: DataLoader<string, AccountFacts | null>;
  private readonly workspaces: DataLoader<string, WorkspaceFacts | null>;
  private readonly lists: DataLoader<string, ListRow | null>;
  /** Link tokens presented in this request, by list id (`list(id, linkToken)` opens the list for its fields). */
  private readonly linkTokens = new Map<string, string>();
  /** The accounts of the lists whose facts this request loaded (the response cache's scope of an answer). */
  readonly accountsSeen = new Set<string>();

  constructor(
    db: Db,
    readonly viewer: ViewerRef | null,
    /** Lists' facts kept across requests while no access fact is written (`rememberFacts`). */
    remembered?: RememberedFacts,
  ) {
    this.accounts = new DataLoader(async (ids) => {
      const rows = await db.account.findMany({ where: { id: { in: [...ids] } }, select: accountSelect(viewer) });
      const byId = new Map(rows.map((r) => [r.id, toAccountFacts(r)]));
      return ids.map((id) => byId.get(id) ?? null);
    });
    this.workspaces = new DataLoader(async (ids) => {
      const rows = await db.workspace.findMany({ where: { id: { in: [...ids] } }, select: workspaceSelect(viewer) });
      const byId = new Map(rows.map((r) => [r.id, this.primeWorkspace(r)]));
      return ids.map((id) => byId.get(id) ?? null);
    });
    const rememberedKey = (id: string) => `list\n${viewer?.id ?? ''}\n${id}`;
    this.lists = new DataLoader(async (ids) => {
      const hits = new Map<string, ListRow>();
      for (const id of ids) {
        const hit = remembered?.get<ListRow>(rememberedKey(id));
        if (hit) hits.set(id, this.primeFrom(hit));
      }
      const missing = ids.filter((id) => !hits.has(id));
      if (!missing.length) return ids.map((id) => hits.get(id) ?? null);
      const generation = remembered?.generation() ?? null;
      const rows = await db.list.findMany({ where: { id: { in: missing } }, select: listSelect(viewer) });
      for (const row of rows) {
        const loaded = this.settle(row);
        hits.set(row.id, loaded);
        remembered?.set(rememberedKey(row.id), loaded, generation, earliestEnd(loaded));
      }
      return ids.map((id) => hits.get(id) ?? null);
    });
  }

  /** A fetched list row with its workspace's facts settled where the list settles them. */
  private settle(row: ListSelectRow): ListRow {
    const { shares, workspace, ...rest } = row;
    const list = { ...rest, grants: (shares ?? []).flatMap(toGrant) };
    return { ...list, workspace: this.settleReach(list, workspace) };
  }

  /**
   * Takes the facts of a list that a statement reading its content fetched as well
   * (`listFactsSql`, one round trip for both), or learns that it does not exist (null).
   */
  primeList(listId: string, row: ListSelectRow | null): void {
    this.lists.prime(listId, row && this.settle(row));
  }

  /** A remembered list row: its settled workspace facts serve the rest of this request too. */
  private primeFrom(row: ListRow): ListRow {
    if (row.workspace) {
      this.workspaces.prime(row.workspace.workspaceId, row.workspace);
      this.accounts.prime(row.workspace.account.accountId, row.workspace.account);
    }
    return row;
  }

  /**
   * A list's workspace facts, fetched without `reachesAList`: settled by the list itself when the
   * viewer reaches it (shares, general access; a link token does not count) or when the standing
   * does not depend on it, and then primed for the rest of the request; otherwise null, and the
   * workspace loader fetches the whole facts.
   */
  private settleReach(list: Omit<ListRow, 'workspace'>, row: WorkspaceRow): WorkspaceFacts | null {
    const partial = toWorkspaceFacts(row);
    const reaches = listRole(this.listFacts(list, partial)).allowed;
    if (!reaches && !standingIgnoresReach(partial)) return null;
    const facts = { ...partial, reachesAList: reaches };
    this.workspaces.prime(facts.workspaceId, facts);
    this.accounts.prime(facts.account.accountId, facts.account);
    return facts;
  }

  private listFacts(row: Omit<ListRow, 'workspace'>, workspace: WorkspaceFacts, presented?: string): ListFacts {
    return {
      listId: row.id,
      kind: row.kind,
      generalAccess: row.generalAccess,
      generalRole: row.generalRole,
      isCreator: this.viewer !== null && row.creatorId === this.viewer.id,
      hasValidLinkToken:
        !!presented && row.linkToken !== null && presented === row.linkToken && inForce(row.linkExpiresAt),
      linkExpiresAt: row.linkExpiresAt,
      grants: row.grants,
      workspace,
    };
  }

  /** Workspace facts from a fetched row; its account's facts go to the account loader as well. */
  private primeWorkspace(row: WorkspaceRow): WorkspaceFacts {
    const facts = toWorkspaceFacts(row);
    this.accounts.prime(facts.account.accountId, facts.account);
    return facts;
  }

  /** The viewer's standing on a list, or null when it does not exist. A presented link token is remembered. */
  async list(listId: string, linkToken?: string | null): Promise<ListFacts | null> {
    if (linkToken) this.linkTokens.set(listId, linkToken);
    const row = await this.lists.load(listId);
    if (!row) return null;
    const workspace = row.workspace ?? (await this.workspaces.load(row.workspaceId));
    if (!workspace) return null;
    this.accountsSeen.add(workspace.account.accountId);
    return this.listFacts(row, workspace, this.linkTokens.get(listId));
  }

  async decideList(
    listId: string,
    question: ListQuestion,
    linkToken?: string | null,
  ): Promise<Decision<ListRole> | null> {
    const facts = await this.list(listId, linkToken);
    return facts && decideList(facts, question);
  }

  /** The viewer's effective role on a list, or null when they cannot read it (or it does not exist). */
  async listRole(listId: string, linkToken?: string | null): Promise<ListRole | null> {
    const facts = await this.list(listId, linkToken);
    return facts ? listRole(facts).role : null;
  }

  /** The viewer's standing in an account, or null when the account does not exist. */
  account(accountId: string): Promise<AccountFacts | null> {
    return this.accounts.load(accountId);
  }

  /** The viewer's standing in a workspace, or null when it does not exist. */
  workspace(workspaceId: string): Promise<WorkspaceFacts | null> {
    return this.workspaces.load(workspaceId);
  }

  /** Forget cached facts after a change within this request (a mutation then reads its result). */
  clear(): void {
    this.accounts.clearAll();
    this.workspaces.clearAll();
    this.lists.clearAll();
  }

  async decideAccount(accountId: string, question: AccountQuestion): Promise<Decision | null> {
    const facts = await this.account(accountId);
    return facts && decideAccount(facts, question);
  }

  async decideWorkspace(
    workspaceId: string,
    question: WorkspaceQuestion,
  ): Promise<Decision<WorkspaceViewerRole> | null> {
    const facts = await this.workspace(workspaceId);
    return facts && decideWorkspace(facts, question);
  }

  /** The viewer's role in the workspace (OWNER, MEMBER, NON_MEMBER), or null when invisible. */
  async workspaceRole(workspaceId: string): Promise<WorkspaceViewerRole | null> {
    const facts = await this.workspace(workspaceId);
    return facts ? workspaceStanding(facts).role : null;
  }
}

/** A list row with the shares that reach the viewer (cached per request; facts add the link token). */
interface ListRow {
  id: string;
  workspaceId: string;
  kind: ListFacts['kind'];
  generalAccess: ListFacts['generalAccess'];
  generalRole: ListRole;
  linkToken: string | null;
  linkExpiresAt: Date | null;
  creatorId: string | null;
  grants: ShareGrant[];
  /** Its workspace's facts when the list settled them (`Access.settleReach`). */
  workspace: WorkspaceFacts | null;
}

/**
 * The first instant at which a remembered list row stops being true: the earliest end of a
 * share, the link, or the viewer's membership in it (src/cache/facts.ts keeps it no longer).
 */
function earliestEnd(row: ListRow): Date | null {
  const ends = [row.linkExpiresAt, row.workspace?.memberExpiresAt, ...row.grants.map((g) => g.expiresAt)];
  let first: Date | null = null;
  for (const end of ends) if (end && (!first || end < first)) first = end;
  return first;
}

function toGrant(share: {
  id: string;
  role: ListRole;
  userId: string | null;
  groupId: string | null;
  rightId: string | null;
  expiresAt: Date | null;
}): ShareGrant[] {
  const { id: shareId, role, expiresAt } = share;
  if (share.userId) return [{ shareId, role, via: 'USER', principalId: share.userId, expiresAt }];
  if (share.groupId) return [{ shareId, role, via: 'GROUP', principalId: share.groupId, expiresAt }];
  if (share.rightId) return [{ shareId, role, via: 'RIGHT', principalId: share.rightId, expiresAt }];
  return [];
}

function toPolicy(row: AccountPolicyFacts): AccountPolicyFacts {
  return {
    workspaceCreators: row.workspaceCreators,
    externalSharing: row.externalSharing,
    memberInviters: row.memberInviters,
    memberDomains: row.memberDomains,
    caps: row.caps,
  };
}

/** People the viewer may see: themselves, and anyone sharing an account or a workspace with them. */
export function visibleUsersWhere(viewerId: string): Prisma.UserWhereInput {
  return {
    OR: [
      { id: viewerId },
      {
        accounts: { some: { account: { members: { some: { userId: viewerId, role: { in: ['ADMIN', 'MEMBER'] } } } } } },
      },
      { workspaces: { some: { ...inForceWhere(), workspace: { members: { some: membershipWhere(viewerId) } } } } },
    ],
  };
}

/** Whether the viewer sees the person (`visibleUsersWhere`). */
export async function seesUser(db: DbTx, viewerId: string, userId: string): Promise<boolean> {
  const user = await db.user.findFirst({
    where: { id: userId, AND: [visibleUsersWhere(viewerId)] },
    select: { id: true },
  });
  return user !== null;
}

/** Invitations the viewer may see: sent by them, sent to them, or in what they manage. */
export function visibleInvitationsWhere(viewer: ViewerRef | null): Prisma.InvitationWhereInput {
  const id = viewer?.id ?? '';
  return {
    OR: [
      { invitedById: id },
      { email: viewer?.email ?? '' },
      { workspace: { members: { some: membershipWhere(id, 'OWNER') } } },
      { account: { members: { some: { userId: id, role: 'ADMIN' } } } },
    ],
  };
}

/** Join requests the viewer may see: their own, and those to workspaces they manage. */
export function visibleJoinRequestsWhere(viewerId: string): Prisma.JoinRequestWhereInput {
  return {
    OR: [
      { userId: viewerId },
      { workspace: { members: { some: membershipWhere(viewerId, 'OWNER') } } },
      { workspace: { account: { members: { some: { userId: viewerId, role: 'ADMIN' } } } } },
    ],
  };
}

/** Accounts the viewer may read: those they are an admin or member of (guests see only their shares). */
export function readableAccountsWhere(viewerId: string): Prisma.AccountWhereInput {
  return { members: { some: { userId: viewerId, role: { in: ['ADMIN', 'MEMBER'] } } } };
}
