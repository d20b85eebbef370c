import { decodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Access } from '../../src/access/load.ts';
import { listRole, workspaceStanding } from '../../src/access/rules.ts';
import { graphql } from '../generated/gql.ts';
import type { ArReportQuery } from '../generated/graphql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { buildWorld, missingId, type World } from '../helpers/world.ts';

const Report = graphql(`
  query ArReport($accountId: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    accessReport(accountId: $accountId, first: $first, after: $after, last: $last, before: $before) {
      pageInfo { hasNextPage hasPreviousPage endCursor startCursor }
      edges {
        cursor
        node {
          resourceType resourceId resourceName role source via viaName grantedAt expiresAt
          user { id email }
          grantedBy { id email }
        }
      }
    }
  }
`);

type Row = NonNullable<Awaited<ReturnType<typeof reportAll>>>[number];

let t: TestServer;
let world: World;
let accountId: string;

async function reportAll(as: string, first = 7) {
  const rows = [];
  let after: string | null = null;
  for (;;) {
    const res: ArReportQuery = await t.ok(Report, { accountId, first, after }, as);
    if (!res.accessReport) return null;
    rows.push(...res.accessReport.edges.map((e) => e.node));
    if (!res.accessReport.pageInfo.hasNextPage) return rows;
    after = res.accessReport.pageInfo.endCursor;
  }
}

/** A minimal RFC 4180 reader (quoted fields, doubled quotes, CRLF), for checking the server's writer. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field || row.length) throw new Error('CSV does not end with CRLF');
  return rows;
}

const csvUrl = (id: string) => `${t.server.url}/accounts/${encodeURIComponent(id)}/access-report.csv`;
const getCsv = async (id: string, as?: string, headers: Record<string, string> = {}) =>
  fetch(csvUrl(id), { headers: as ? { authorization: `Bearer ${await t.token(as)}`, ...headers } : headers });

const RULE_OF: Record<string, string> = {
  CREATOR: 'list.creator',
  ACCOUNT_ADMIN: 'account.admin',
  SHARE_USER: 'list.share.user',
  SHARE_GROUP: 'list.share.group',
  SHARE_RIGHT: 'list.share.right',
  GENERAL_WORKSPACE: 'list.general.workspace',
  GENERAL_GLOBAL: 'list.general.global',
};

beforeAll(async () => {
  t = await startTestServer();
  world = await buildWorld(t);
  accountId = world.a.accountId;
  const h = listHelpers(t);
  const p = world.a.people;
  // Every kind of general access, so that each source of the report is checked against the rules.
  await h.generalAccess(p.owner, world.a.lists.openMain, 'WORKSPACE', 'EDITOR');
  await h.generalAccess(p.owner, world.a.lists.closedMain, 'WORKSPACE');
  await h.generalAccess(p.admin, world.a.lists.openShareable, 'GLOBAL');
  await h.generalAccess(p.owner, world.a.lists.closedShareable, 'ANYONE_WITH_LINK');
  await h.share(p.admin, { listId: world.a.lists.openPrivate, role: 'VIEWER', rightId: world.a.right });
  // A name that needs CSV quoting.
  await h.list(world.a.workspaces.open, p.owner, 'MAIN', 'Q3, "big" deals\nand more');
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('accessReport', () => {
  it('is null for everyone but the account admins', async () => {
    for (const who of [world.a.people.owner, world.a.people.member, world.a.people.guest, world.b.people.admin]) {
      expect((await t.ok(Report, { accountId, first: 5 }, who)).accessReport, who).toBeNull();
    }
    expect((await t.ok(Report, { accountId: missingId('Account'), first: 5 }, world.a.people.admin)).accessReport).toBe(
      null,
    );
    expect((await t.gql(Report, { accountId, first: 5 }, null)).data?.accessReport ?? null).toBeNull();
  });

  it('lists every grant the access rules count, for every person, list and workspace of the account', async () => {
    const rows = (await reportAll(world.a.people.admin)) ?? [];
    expect(rows.length).toBeGreaterThan(20);
    const db = t.server.services.db;
    const users = await db.user.findMany({ select: { id: true, email: true } });
    const lists = await db.list.findMany({
      where: { workspace: { accountId: decodeGlobalID(accountId).id } },
      select: { id: true, generalAccess: true, linkToken: true },
    });
    const workspaces = await db.workspace.findMany({
      where: { accountId: decodeGlobalID(accountId).id },
      select: { id: true },
    });
    const grantKey = (resource: string, user: string, rule: string, role: string) =>
      `${resource} ${user} ${rule} ${role}`;
    const fromRules: string[] = [];
    for (const user of users) {
      const access = new Access(db, user);
      for (const list of lists) {
        const facts = await access.list(list.id);
        if (!facts) throw new Error('list vanished');
        for (const reason of listRole(facts).reasons) {
          if (reason.effect !== 'GRANT') continue;
          fromRules.push(grantKey(list.id, user.id, reason.rule, reason.detail.split(': ').at(-1) ?? ''));
        }
      }
      for (const ws of workspaces) {
        const facts = await access.workspace(ws.id);
        if (!facts) throw new Error('workspace vanished');
        const standing = workspaceStanding(facts);
        if (standing.full) fromRules.push(grantKey(ws.id, user.id, 'workspace', standing.role ?? ''));
      }
    }
    const fromReport: string[] = [];
    const bestInWorkspace = new Map<string, string>();
    for (const row of rows) {
      const resource = decodeGlobalID(row.resourceId as string).id;
      if (row.source === 'LINK') {
        expect(row.user).toBeNull();
        continue;
      }
      const user = decodeGlobalID(row.user?.id ?? '').id;
      if (row.resourceType === 'List') {
        fromReport.push(grantKey(resource, user, RULE_OF[row.source] ?? row.source, row.role));
      } else {
        // The standing counts the membership first; an account member of an open workspace otherwise.
        const key = `${resource} ${user}`;
        if (row.source === 'WORKSPACE_MEMBER' || !bestInWorkspace.has(key)) bestInWorkspace.set(key, row.role);
      }
    }
    for (const [key, role] of bestInWorkspace) {
      const [resource, user] = key.split(' ');
      fromReport.push(grantKey(resource ?? '', user ?? '', 'workspace', role));
    }
    expect(fromReport.sort()).toEqual(fromRules.sort());
    // The link: one row per list anyone with the link opens.
    const linkRows = rows.filter((r) => r.source === 'LINK').map((r) => decodeGlobalID(r.resourceId as string).id);
    expect(linkRows.sort()).toEqual(
      lists.filter((l) => l.generalAccess === 'ANYONE_WITH_LINK' && l.linkToken).map((l) => l.id),
    );
    expect(linkRows.length).toBe(1);
  });

  it('says who granted a share and when, and which group or right it comes through', async () => {
    const rows = (await reportAll(world.a.people.admin, 100)) ?? [];
    const groupRow = rows.find((r) => r.source === 'SHARE_GROUP');
    expect(groupRow?.via).toBe(world.a.group);
    expect(groupRow?.user?.email).toBe(world.a.people.grouped);
    expect(groupRow?.grantedBy?.email).toBe(world.a.people.owner);
    expect(groupRow?.grantedAt).toEqual(expect.any(String));
    const rightRow = rows.find((r) => r.source === 'SHARE_RIGHT');
    expect(rightRow?.via).toBe(world.a.right);
    const userShare = rows.find((r) => r.source === 'SHARE_USER' && r.via === world.a.shares.user);
    expect(userShare?.grantedBy?.email).toBe(world.a.people.owner);
    // General access: from the audit trail.
    const global = rows.find((r) => r.source === 'GENERAL_GLOBAL');
    expect(global?.grantedBy?.email).toBe(world.a.people.admin);
    expect(global?.grantedAt).toEqual(expect.any(String));
    const creator = rows.find((r) => r.source === 'CREATOR' && r.resourceId === world.a.lists.openMain);
    expect(creator?.user?.email).toBe(world.a.people.owner);
    // Nothing of the other account.
    const names = rows.map((r) => r.resourceName).join(' ');
    expect(names).not.toContain('zzB_');
  });

  it('pages backwards as forwards', async () => {
    const forward = (await reportAll(world.a.people.admin, 100)) ?? [];
    const backward: Row[] = [];
    let before: string | null = null;
    for (;;) {
      const res: ArReportQuery = await t.ok(Report, { accountId, last: 9, before }, world.a.people.admin);
      const conn = res.accessReport;
      if (!conn) throw new Error('null report');
      backward.unshift(...conn.edges.map((e) => e.node));
      if (!conn.pageInfo.hasPreviousPage) break;
      before = conn.pageInfo.startCursor;
    }
    expect(backward).toEqual(forward);
  });
});

describe('GET /accounts/<id>/access-report.csv', () => {
  it('answers 401 without a valid token, 404 to non-admins as to a missing account', async () => {
    const anon = await getCsv(accountId);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toBe('Bearer');
    const bad = await fetch(csvUrl(accountId), { headers: { authorization: 'Bearer nope' } });
    expect(bad.status).toBe(401);
    const missing = await getCsv(missingId('Account'), world.a.people.admin);
    expect(missing.status).toBe(404);
    const missingBody = await missing.text();
    for (const who of [world.a.people.owner, world.a.people.member, world.b.people.admin]) {
      const res = await getCsv(accountId, who);
      expect(res.status, who).toBe(404);
      expect(await res.text()).toBe(missingBody);
    }
    expect((await getCsv('not-an-id', world.a.people.admin)).status).toBe(404);
    expect((await getCsv(world.a.workspaces.open, world.a.people.admin)).status).toBe(404);
  });

  it('streams the same rows as the GraphQL report, with a header and RFC 4180 quoting', async () => {
    const res = await getCsv(accountId, world.a.people.admin);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const [header, ...lines] = parseCsv(await res.text());
    expect(header).toEqual([
      'resource_type',
      'resource_id',
      'resource_name',
      'user_id',
      'user_email',
      'user_name',
      'role',
      'source',
      'via_id',
      'via_name',
      'granted_by_id',
      'granted_by_email',
      'granted_at',
      'expires_at',
    ]);
    const rows = (await reportAll(world.a.people.admin, 100)) ?? [];
    expect(lines.map((l) => [l[0], l[1], l[2], l[3] || null, l[4] || null, l[6], l[7], l[8] || null])).toEqual(
      rows.map((r) => [
        r.resourceType,
        r.resourceId,
        r.resourceName,
        r.user?.id ?? null,
        r.user?.email ?? null,
        r.role,
        r.source,
        r.via ?? null,
      ]),
    );
    expect(lines.some((l) => l[2] === 'Q3, "big" deals\nand more')).toBe(true);
    expect(lines.every((l) => l.length === 14)).toBe(true);
  });
});
