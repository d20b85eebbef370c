import type { DbTx } from '../../db/client.ts';
import { Prisma } from '../../generated/prisma/client.ts';

/** Where a row of the access report comes from: the grant that `listRole` / `workspaceStanding` counts. */
export type GrantSource =
  | 'CREATOR'
  | 'ACCOUNT_ADMIN'
  | 'WORKSPACE_MEMBER'
  | 'WORKSPACE_OPEN'
  | 'SHARE_USER'
  | 'SHARE_GROUP'
  | 'SHARE_RIGHT'
  | 'GENERAL_WORKSPACE'
  | 'GENERAL_GLOBAL'
  | 'LINK';

export const GRANT_SOURCES: readonly GrantSource[] = [
  'CREATOR',
  'ACCOUNT_ADMIN',
  'WORKSPACE_MEMBER',
  'WORKSPACE_OPEN',
  'SHARE_USER',
  'SHARE_GROUP',
  'SHARE_RIGHT',
  'GENERAL_WORKSPACE',
  'GENERAL_GLOBAL',
  'LINK',
];

/** One grant of access: a person (null: anyone with the link) reaches a list or workspace through it. */
export interface AccessReportRow {
  resourceType: 'List' | 'Workspace';
  resourceId: string;
  resourceName: string;
  userId: string | null;
  userEmail: string | null;
  userName: string | null;
  /** The role this grant gives (a list role, or OWNER / MEMBER / NON_MEMBER in a workspace). */
  role: string;
  source: GrantSource;
  /** The share, group or right it comes through. */
  viaType: 'Share' | 'Group' | 'Right' | null;
  viaId: string | null;
  viaName: string | null;
  grantedById: string | null;
  grantedByEmail: string | null;
  grantedAt: Date | null;
  expiresAt: Date | null;
}

/** The position after a row, in the report's order (resource, person, source, via). */
export type ReportKey = [resourceId: string, userKey: string, source: string, viaKey: string];

export function keyOf(row: AccessReportRow): ReportKey {
  return [row.resourceId, row.userId ?? '', row.source, row.viaId ?? ''];
}

interface RawRow {
  rt: 'List' | 'Workspace';
  rid: string;
  rname: string;
  uid: string | null;
  src: GrantSource;
  vtype: 'Share' | 'Group' | 'Right' | null;
  vid: string;
  vname: string | null;
  role: string;
  by_id: string | null;
  at: Date | null;
  exp: Date | null;
  email: string | null;
  name: string | null;
  by_email: string | null;
}

/**
 * Every grant of access to the account's lists and workspaces, as SQL: the mirror of `listRole`
 * (creator, admins of the workspaces whose content they reach, shares to a user, a group they are
 * a direct member of or a right they hold, WORKSPACE and GLOBAL general access, the link) and of
 * `workspaceStanding`'s full reach (members; admins and members of an open workspace). A test
 * compares it with those rules for every person and resource. Grants past their expiry are left
 * out. Who granted it and when come from the row (shares, the list's creation), else from the
 * audit trail (memberships, roles, general access).
 */
function grantsSql(accountId: string): Prisma.Sql {
  return Prisma.sql`
    WITH l AS (
      SELECT l.id, l.name, l."workspaceId", l."creatorId", l."createdAt", l."generalAccess", l."generalRole",
             l."linkToken", l."linkExpiresAt", w.type AS ws_type
      FROM "List" l JOIN "Workspace" w ON w.id = l."workspaceId"
      WHERE w."accountId" = ${accountId}
    ),
    people AS (
      SELECT "userId", role, "createdAt" FROM "AccountMember"
      WHERE "accountId" = ${accountId} AND role IN ('ADMIN', 'MEMBER')
    )
    SELECT 'List' AS rt, l.id AS rid, l.name AS rname, l."creatorId" AS uid, 'CREATOR' AS src, NULL AS vtype,
           '' AS vid, NULL AS vname, 'CREATOR' AS role, l."creatorId" AS by_id, l."createdAt" AS at,
           NULL::timestamp AS exp, NULL AS audit_on, NULL AS audit_action
    FROM l WHERE l."creatorId" IS NOT NULL
    UNION ALL
    SELECT 'List', l.id, l.name, p."userId", 'ACCOUNT_ADMIN', NULL, '', NULL, 'CO_OWNER', NULL, p."createdAt", NULL,
           ${accountId}, 'account.member.'
    FROM l JOIN people p ON p.role = 'ADMIN'
    WHERE l.ws_type = 'OPEN'
       OR EXISTS (SELECT 1 FROM "WorkspaceMember" m WHERE m."workspaceId" = l."workspaceId" AND m."userId" = p."userId")
    UNION ALL
    SELECT 'List', l.id, l.name, s."userId", 'SHARE_USER', 'Share', s.id, NULL, s.role::text, s."createdById",
           s."createdAt", s."expiresAt", NULL, NULL
    FROM l JOIN "Share" s ON s."listId" = l.id WHERE s."userId" IS NOT NULL
    UNION ALL
    SELECT 'List', l.id, l.name, gm."userId", 'SHARE_GROUP', 'Group', g.id, g.name, s.role::text, s."createdById",
           s."createdAt", s."expiresAt", NULL, NULL
    FROM l JOIN "Share" s ON s."listId" = l.id JOIN "Group" g ON g.id = s."groupId"
      JOIN "GroupMember" gm ON gm."groupId" = g.id
    UNION ALL
    SELECT 'List', l.id, l.name, rg."userId", 'SHARE_RIGHT', 'Right', r.id, r.name, s.role::text, s."createdById",
           s."createdAt", s."expiresAt", NULL, NULL
    FROM l JOIN "Share" s ON s."listId" = l.id JOIN "Right" r ON r.id = s."rightId"
      JOIN "RightGrant" rg ON rg."rightId" = r.id
    UNION ALL
    SELECT 'List', l.id, l.name, a."userId", 'GENERAL_WORKSPACE', NULL, '', NULL, l."generalRole"::text, NULL, NULL,
           NULL, l.id, 'list.general-access'
    FROM l JOIN LATERAL (
      SELECT m."userId" FROM "WorkspaceMember" m WHERE m."workspaceId" = l."workspaceId"
      UNION
      SELECT p."userId" FROM people p WHERE l.ws_type = 'OPEN'
    ) a ON true
    WHERE l."generalAccess" = 'WORKSPACE'
    UNION ALL
    SELECT 'List', l.id, l.name, p."userId", 'GENERAL_GLOBAL', NULL, '', NULL, 'VIEWER', NULL, NULL, NULL,
           l.id, 'list.general-access'
    FROM l JOIN people p ON true WHERE l."generalAccess" = 'GLOBAL'
    UNION ALL
    SELECT 'List', l.id, l.name, NULL, 'LINK', NULL, '', NULL, 'VIEWER', NULL, NULL, l."linkExpiresAt",
           l.id, 'list.general-access'
    FROM l WHERE l."generalAccess" = 'ANYONE_WITH_LINK' AND l."linkToken" IS NOT NULL
    UNION ALL
    SELECT 'Workspace', w.id, w.name, m."userId", 'WORKSPACE_MEMBER', NULL, '', NULL, m.role::text, NULL,
           m."createdAt", m."expiresAt", w.id, 'member.'
    FROM "Workspace" w JOIN "WorkspaceMember" m ON m."workspaceId" = w.id WHERE w."accountId" = ${accountId}
    UNION ALL
    SELECT 'Workspace', w.id, w.name, p."userId", CASE p.role WHEN 'ADMIN' THEN 'ACCOUNT_ADMIN' ELSE 'WORKSPACE_OPEN' END,
           NULL, '', NULL, 'NON_MEMBER', NULL, p."createdAt", NULL, NULL, NULL
    FROM "Workspace" w JOIN people p ON true WHERE w."accountId" = ${accountId} AND w.type = 'OPEN'`;
}

/**
 * One page of the account's access report between `after` and `before`, in the report's order
 * (`descending`: from the end, for `last`).
 */
export async function accessReportPage(
  db: DbTx,
  accountId: string,
  page: { after?: ReportKey | null; before?: ReportKey | null; limit: number; descending?: boolean },
): Promise<AccessReportRow[]> {
  const key = Prisma.sql`(g.rid COLLATE "C", COALESCE(g.uid, '') COLLATE "C", g.src COLLATE "C", g.vid COLLATE "C")`;
  const bound = (k: ReportKey) =>
    Prisma.sql`(${k[0]} COLLATE "C", ${k[1]} COLLATE "C", ${k[2]} COLLATE "C", ${k[3]} COLLATE "C")`;
  const conditions = [Prisma.sql`(g.exp IS NULL OR g.exp > (now() AT TIME ZONE 'UTC'))`];
  if (page.after) conditions.push(Prisma.sql`${key} > ${bound(page.after)}`);
  if (page.before) conditions.push(Prisma.sql`${key} < ${bound(page.before)}`);
  const direction = page.descending ? Prisma.sql`DESC` : Prisma.sql`ASC`;
  const order = Prisma.sql`g.rid COLLATE "C" ${direction}, COALESCE(g.uid, '') COLLATE "C" ${direction},
    g.src COLLATE "C" ${direction}, g.vid COLLATE "C" ${direction}`;
  const rows = await db.$queryRaw<RawRow[]>`
    SELECT g.rt, g.rid, g.rname, g.uid, g.src, g.vtype, g.vid, g.vname, g.role,
           COALESCE(g.by_id, a."actorId") AS by_id, COALESCE(a."createdAt", g.at) AS at, g.exp,
           u.email, u.name, b.email AS by_email
    FROM (
      SELECT * FROM (${grantsSql(accountId)}) g
      WHERE ${Prisma.join(conditions, ' AND ')}
      ORDER BY ${order}
      LIMIT ${page.limit}
    ) g
    LEFT JOIN LATERAL (
      SELECT e."actorId", e."createdAt" FROM "AuditEvent" e
      WHERE g.audit_on IS NOT NULL AND e."resourceId" = g.audit_on AND starts_with(e.action, g.audit_action)
        AND (g.uid IS NULL OR g.audit_on = g.rid AND g.rt = 'List' OR e.data->>'userId' = g.uid)
      ORDER BY e."createdAt" DESC, e.id DESC LIMIT 1
    ) a ON true
    LEFT JOIN "User" u ON u.id = g.uid
    LEFT JOIN "User" b ON b.id = COALESCE(g.by_id, a."actorId")
    ORDER BY ${order}`;
  return rows.map(
    (r): AccessReportRow => ({
      resourceType: r.rt,
      resourceId: r.rid,
      resourceName: r.rname,
      userId: r.uid,
      userEmail: r.email,
      userName: r.name,
      role: r.role,
      source: r.src,
      viaType: r.vtype,
      viaId: r.vid || null,
      viaName: r.vname,
      grantedById: r.by_id,
      grantedByEmail: r.by_email,
      grantedAt: r.at,
      expiresAt: r.exp,
    }),
  );
}

/** Every row of the report, page by page (a keyset cursor: one page in memory at a time). */
export async function* accessReportRows(db: DbTx, accountId: string, pageSize = 1000): AsyncGenerator<AccessReportRow> {
  let after: ReportKey | null = null;
  for (;;) {
    const rows = await accessReportPage(db, accountId, { after, limit: pageSize });
    yield* rows;
    const last = rows.at(-1);
    if (!last || rows.length < pageSize) return;
    after = keyOf(last);
  }
}
