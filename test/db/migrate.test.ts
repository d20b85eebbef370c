import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type MigrationConnection,
  migrate,
  pgliteMigrationConnection,
  pgMigrationConnection,
} from '../../src/db/migrate.ts';
import { Prisma, PrismaClient } from '../../src/generated/prisma/client.ts';
import { freshPostgresDatabase } from '../helpers/db.ts';

const migrationsDir = fileURLToPath(new URL('../../prisma/migrations/', import.meta.url));
const folders = readdirSync(migrationsDir, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();
/** Prisma's checksum, computed independently of the runner: SHA-256 of the file's bytes. */
const fileChecksum = (folder: string) =>
  createHash('sha256')
    .update(readFileSync(join(migrationsDir, folder, 'migration.sql')))
    .digest('hex');

// PostgreSQL: DATABASE_URL when set; otherwise the local server if it answers. Skipped only
// outside CI: in CI an unreachable server must fail the run, not silently drop the case.
const LOCAL_PG = 'postgres://postgres@127.0.0.1:5432/postgres';
async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}
const pgBaseUrl = process.env.DATABASE_URL || LOCAL_PG;
const runPostgres = Boolean(process.env.DATABASE_URL || process.env.CI) || (await reachable(LOCAL_PG));

interface Session {
  conn: MigrationConnection;
  close(): Promise<void>;
}

interface Backend extends Session {
  prisma: PrismaClient;
  /** Another session on the same database, where the backend has more than one. */
  openSession: (() => Promise<Session>) | null;
}

async function openPglite(): Promise<Backend> {
  const db = await PGlite.create();
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(db) });
  return {
    conn: pgliteMigrationConnection(db),
    prisma,
    openSession: null,
    async close() {
      await prisma.$disconnect();
      await db.close();
    },
  };
}

async function openPgSession(url: string): Promise<Session> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return { conn: pgMigrationConnection(client), close: () => client.end() };
}

async function openPostgres(): Promise<Backend> {
  const fresh = await freshPostgresDatabase(pgBaseUrl);
  if (!fresh) throw new Error('no PostgreSQL URL');
  const session = await openPgSession(fresh.url);
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: fresh.url, max: 2 }) });
  return {
    ...session,
    prisma,
    openSession: () => openPgSession(fresh.url),
    async close() {
      await prisma.$disconnect();
      await session.close();
      await fresh.drop();
    },
  };
}

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

function defineSuite(open: () => Promise<Backend>): void {
  let db: Backend;
  beforeAll(async () => {
    db = await open();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('migrates a fresh database once, recording rows as Prisma does', async () => {
    if (db.openSession) {
      // Two instances starting together: the advisory lock lets exactly one of them apply each
      // migration (it is taken per migration's transaction, so they may share the work).
      const other = await db.openSession();
      try {
        const results = await Promise.all([migrate(db.conn), migrate(other.conn)]);
        expect(results.flatMap((r) => r.applied).sort()).toEqual(folders);
      } finally {
        await other.close();
      }
    } else {
      expect(await migrate(db.conn)).toEqual({ applied: folders });
    }

    const { rows } = await db.conn.query<MigrationRow>('SELECT * FROM _prisma_migrations ORDER BY migration_name');
    expect(rows.map((r) => r.migration_name)).toEqual(folders);
    for (const row of rows) {
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(row.checksum).toBe(fileChecksum(row.migration_name));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.logs).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }

    const columns = await db.conn.query(
      `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
         FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = '_prisma_migrations'
        ORDER BY ordinal_position`,
    );
    const col = (name: string, type: string, len: number | null, nullable: boolean, dflt: string | null) => ({
      column_name: name,
      data_type: type,
      character_maximum_length: len,
      is_nullable: nullable ? 'YES' : 'NO',
      column_default: dflt,
    });
    expect(columns.rows).toEqual([
      col('id', 'character varying', 36, false, null),
      col('checksum', 'character varying', 64, false, null),
      col('finished_at', 'timestamp with time zone', null, true, null),
      col('migration_name', 'character varying', 255, false, null),
      col('logs', 'text', null, true, null),
      col('rolled_back_at', 'timestamp with time zone', null, true, null),
      col('started_at', 'timestamp with time zone', null, false, 'now()'),
      col('applied_steps_count', 'integer', null, false, '0'),
    ]);
  });

  it('sets the database to price random page reads as cached ones (random_page_cost 1.1)', async () => {
    const { rows: settings } = await db.conn.query<{ setconfig: string[] }>(
      `SELECT setconfig FROM pg_db_role_setting
        WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) AND setrole = 0`,
    );
    expect(settings[0]?.setconfig).toContain('random_page_cost=1.1');
    // It applies to the sessions opened after it (PGlite's one session began before).
    if (!db.openSession) return;
    const session = await db.openSession();
    try {
      const { rows } = await session.conn.query<{ random_page_cost: string }>('SHOW random_page_cost');
      expect(rows[0]?.random_page_cost).toBe('1.1');
    } finally {
      await session.close();
    }
  });

  it('applies nothing the second time', async () => {
    expect(await migrate(db.conn)).toEqual({ applied: [] });
  });

  it('refuses an applied migration whose file changed', async () => {
    const name = folders[0];
    await db.conn.query('UPDATE _prisma_migrations SET checksum = $1 WHERE migration_name = $2', [
      '0'.repeat(64),
      name,
    ]);
    try {
      await expect(migrate(db.conn)).rejects.toThrow(`Migration ${name} was modified after it was applied`);
    } finally {
      await db.conn.query('UPDATE _prisma_migrations SET checksum = $1 WHERE migration_name = $2', [
        fileChecksum(name ?? ''),
        name,
      ]);
    }
    expect(await migrate(db.conn)).toEqual({ applied: [] });
  });

  it('refuses a recorded migration missing on disk, and a failed previous attempt', async () => {
    const insert = (id: string, name: string, finished: boolean) =>
      db.conn.query(
        `INSERT INTO _prisma_migrations (id, checksum, migration_name, finished_at, applied_steps_count)
         VALUES ($1, $2, $3, ${finished ? 'now()' : 'NULL'}, 0)`,
        [id, '0'.repeat(64), name],
      );
    const remove = (id: string) => db.conn.query('DELETE FROM _prisma_migrations WHERE id = $1', [id]);

    await insert('00000000-0000-4000-8000-000000000001', '20000101000000_gone', true);
    await expect(migrate(db.conn)).rejects.toThrow(
      'Migration 20000101000000_gone is applied to this database but missing',
    );
    await remove('00000000-0000-4000-8000-000000000001');

    await insert('00000000-0000-4000-8000-000000000002', '29990101000000_half_done', false);
    await expect(migrate(db.conn)).rejects.toThrow('Migration 29990101000000_half_done failed in a previous attempt');
    await remove('00000000-0000-4000-8000-000000000002');

    expect(await migrate(db.conn)).toEqual({ applied: [] });
  });

  it('rolls a failing migration back entirely', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sharegraph-migrations-'));
    try {
      cpSync(migrationsDir, dir, { recursive: true });
      const broken = '29991231235959_broken';
      cpSync(join(migrationsDir, folders[0] ?? ''), join(dir, broken), { recursive: true });
      writeFileSync(join(dir, broken, 'migration.sql'), 'CREATE TABLE "ShouldNotExist" (id int);\nSELEC 1;\n');
      await expect(migrate(db.conn, { migrationsDir: dir })).rejects.toThrow(`Migration ${broken} failed`);
      const leftovers = await db.conn.query(
        `SELECT (SELECT count(*) FROM _prisma_migrations WHERE migration_name = $1)::int AS rows,
                to_regclass('"ShouldNotExist"') IS NOT NULL AS "tableExists"`,
        [broken],
      );
      expect(leftovers.rows).toEqual([{ rows: 0, tableExists: false }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('round-trips every model through the Prisma client', async () => {
    const covered = await roundTripEveryModel(db.prisma);
    expect([...covered].sort()).toEqual(Object.values(Prisma.ModelName).sort());
  });
}

/** Creates a row of every model (relations, enums, Json, String[]), reads each back, compares. */
async function roundTripEveryModel(prisma: PrismaClient): Promise<Set<Prisma.ModelName>> {
  const covered = new Set<Prisma.ModelName>();
  const at = new Date('2026-01-02T03:04:05.678Z');

  async function check<T>(
    model: Prisma.ModelName,
    input: object,
    created: T,
    readBack: (created: T) => Promise<T>,
  ): Promise<T> {
    expect(created).toMatchObject(input);
    expect(await readBack(created)).toEqual(created);
    covered.add(model);
    return created;
  }

  const userInput = {
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    avatarUrl: 'https://example.com/ada.png',
    tokensValidAfter: at,
    anonymizedAt: null,
  };
  const ada = await check('User', userInput, await prisma.user.create({ data: userInput }), (c) =>
    prisma.user.findUniqueOrThrow({ where: { id: c.id } }),
  );
  expect(ada.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
  const bob = await prisma.user.create({ data: { email: 'bob@example.com' } });

  const accountInput = { name: 'Acme', workspaceCreators: 'ADMINS_ONLY', externalSharing: false } as const;
  const account = await check('Account', accountInput, await prisma.account.create({ data: accountInput }), (c) =>
    prisma.account.findUniqueOrThrow({ where: { id: c.id } }),
  );

  const memberInput = { accountId: account.id, userId: ada.id, role: 'GUEST' } as const;
  await check('AccountMember', memberInput, await prisma.accountMember.create({ data: memberInput }), () =>
    prisma.accountMember.findUniqueOrThrow({ where: { accountId_userId: { accountId: account.id, userId: ada.id } } }),
  );

  const capInput = { accountId: account.id, action: 'CREATE_DOC', role: 'MEMBER', allowed: false } as const;
  await check('AccountActionCap', capInput, await prisma.accountActionCap.create({ data: capInput }), () =>
    prisma.accountActionCap.findUniqueOrThrow({
      where: { accountId_action_role: { accountId: account.id, action: 'CREATE_DOC', role: 'MEMBER' } },
    }),
  );

  const parent = await prisma.group.create({ data: { accountId: account.id, name: 'Engineering' } });
  const groupInput = { accountId: account.id, name: 'Backend', parentId: parent.id };
  const group = await check('Group', groupInput, await prisma.group.create({ data: groupInput }), (c) =>
    prisma.group.findUniqueOrThrow({ where: { id: c.id } }),
  );
  expect(await prisma.group.findUniqueOrThrow({ where: { id: parent.id }, include: { subgroups: true } })).toEqual({
    ...parent,
    subgroups: [group],
  });

  const groupMemberInput = { groupId: group.id, userId: ada.id };
  await check('GroupMember', groupMemberInput, await prisma.groupMember.create({ data: groupMemberInput }), () =>
    prisma.groupMember.findUniqueOrThrow({ where: { groupId_userId: groupMemberInput } }),
  );

  const rightInput = { accountId: account.id, name: 'billing' };
  const right = await check('Right', rightInput, await prisma.right.create({ data: rightInput }), (c) =>
    prisma.right.findUniqueOrThrow({ where: { id: c.id } }),
  );

  const grantInput = { rightId: right.id, userId: ada.id };
  await check('RightGrant', grantInput, await prisma.rightGrant.create({ data: grantInput }), () =>
    prisma.rightGrant.findUniqueOrThrow({ where: { rightId_userId: grantInput } }),
  );

  const workspaceInput = { accountId: account.id, name: 'Sales', type: 'CLOSED', createdById: ada.id } as const;
  const workspace = await check(
    'Workspace',
    workspaceInput,
    await prisma.workspace.create({ data: workspaceInput }),
    (c) => prisma.workspace.findUniqueOrThrow({ where: { id: c.id } }),
  );

  const wsMemberInput = { workspaceId: workspace.id, userId: ada.id, role: 'OWNER' } as const;
  await check('WorkspaceMember', wsMemberInput, await prisma.workspaceMember.create({ data: wsMemberInput }), () =>
    prisma.workspaceMember.findUniqueOrThrow({
      where: { workspaceId_userId: { workspaceId: workspace.id, userId: ada.id } },
    }),
  );

  const permissionInput = {
    workspaceId: workspace.id,
    audience: 'NON_MEMBER',
    action: 'COMMENT',
    allowed: true,
  } as const;
  await check(
    'WorkspacePermission',
    permissionInput,
    await prisma.workspacePermission.create({ data: permissionInput }),
    () =>
      prisma.workspacePermission.findUniqueOrThrow({
        where: {
          workspaceId_audience_action: { workspaceId: workspace.id, audience: 'NON_MEMBER', action: 'COMMENT' },
        },
      }),
  );

  const joinInput = {
    workspaceId: workspace.id,
    userId: bob.id,
    status: 'DECLINED',
    message: 'Let me in',
    decidedById: ada.id,
    decidedAt: at,
  } as const;
  await check('JoinRequest', joinInput, await prisma.joinRequest.create({ data: joinInput }), (c) =>
    prisma.joinRequest.findUniqueOrThrow({ where: { id: c.id } }),
  );

  const listInput = {
    workspaceId: workspace.id,
    name: 'Pipeline',
    kind: 'SHAREABLE',
    generalAccess: 'ANYONE_WITH_LINK',
    generalRole: 'EDITOR',
    linkToken: 'link-token-1',
    creatorId: ada.id,
  } as const;
  const list = await check('List', listInput, await prisma.list.create({ data: listInput }), (c) =>
    prisma.list.findUniqueOrThrow({ where: { id: c.id } }),
  );

  const invitationInput = {
    kind: 'LIST_SHARE',
    accountId: account.id,
    workspaceId: workspace.id,
    listId: list.id,
    email: 'guest@elsewhere.test',
    workspaceRole: 'MEMBER',
    listRole: 'CO_OWNER',
    tokenHash: 'f'.repeat(64),
    status: 'ACCEPTED',
    expiresAt: at,
    invitedById: ada.id,
    acceptedById: bob.id,
    sentCount: 3,
    decidedAt: at,
  } as const;
  await check('Invitation', invitationInput, await prisma.invitation.create({ data: invitationInput }), (c) =>
    prisma.invitation.findUniqueOrThrow({ where: { id: c.id } }),
  );

  // One share per kind of principal: each has its own unique constraint.
  const shareInputs = [
    { listId: list.id, role: 'CREATOR', userId: ada.id, createdById: ada.id },
    { listId: list.id, role: 'VIEWER', groupId: group.id },
    { listId: list.id, role: 'EDITOR', rightId: right.id },
    { listId: list.id, role: 'CO_OWNER', email: 'guest@elsewhere.test' },
  ] as const;
  const shares = [];
  for (const input of shareInputs) {
    const share = await check('Share', input, await prisma.share.create({ data: input }), (c) =>
      prisma.share.findUniqueOrThrow({ where: { id: c.id } }),
    );
    shares.push(share);
  }
  const withShares = await prisma.list.findUniqueOrThrow({
    where: { id: list.id },
    include: { shares: { orderBy: { id: 'asc' } } },
  });
  expect(withShares.shares).toEqual(shares);

  const companyInput = {
    workspaceId: workspace.id,
    kind: 'COMPANY',
    name: 'Globex',
    enrichment: { domain: 'globex.test', employees: 1200, tags: ['b2b', 'héllo ✓'], nested: { ok: true, none: null } },
    connectionStrength: 7,
    lastContactAt: at,
    createdById: ada.id,
  } as const;
  const company = await check('Contact', companyInput, await prisma.contact.create({ data: companyInput }), (c) =>
    prisma.contact.findUniqueOrThrow({ where: { id: c.id } }),
  );
  const person = await prisma.contact.create({
    data: { workspaceId: workspace.id, kind: 'PERSON', name: 'Hank', email: 'hank@globex.test', companyId: company.id },
  });
  expect(person.enrichment).toEqual({});
  expect(await prisma.contact.findUniqueOrThrow({ where: { id: company.id }, include: { people: true } })).toEqual({
    ...company,
    people: [person],
  });

  const itemInput = {
    listId: list.id,
    title: 'Globex renewal',
    fields: { stage: 'won', amount: 12.5, flags: [true, false], owner: null },
    version: 2,
    fieldVersions: { title: 1, stage: 2 },
    position: 1.5,
    contactId: person.id,
    createdById: ada.id,
    updatedById: bob.id,
  };
  const item = await check('Item', itemInput, await prisma.item.create({ data: itemInput }), (c) =>
    prisma.item.findUniqueOrThrow({ where: { id: c.id } }),
  );

  const updateInput = { itemId: item.id, authorId: ada.id, kind: 'UPDATE', body: 'Signed!' } as const;
  const update = await check('ItemUpdate', updateInput, await prisma.itemUpdate.create({ data: updateInput }), (c) =>
    prisma.itemUpdate.findUniqueOrThrow({ where: { id: c.id } }),
  );
  const reply = await prisma.itemUpdate.create({
    data: { itemId: item.id, authorId: bob.id, kind: 'REPLY', parentId: update.id, body: 'Congrats' },
  });
  expect(await prisma.itemUpdate.findUniqueOrThrow({ where: { id: update.id }, include: { replies: true } })).toEqual({
    ...update,
    replies: [reply],
  });

  const emailInput = {
    workspaceId: workspace.id,
    ownerId: ada.id,
    contactId: person.id,
    threadId: 'thread-1',
    subject: 'Renewal',
    sender: 'hank@globex.test',
    participants: ['hank@globex.test', 'ada@example.com'],
    sentAt: at,
    body: 'Only Ada may read this.',
    properties: { label: 'important', score: 0.9 },
  };
  const email = await check('Email', emailInput, await prisma.email.create({ data: emailInput }), (c) =>
    prisma.email.findUniqueOrThrow({ where: { id: c.id } }),
  );

  const activityInput = {
    workspaceId: workspace.id,
    contactId: person.id,
    actorId: ada.id,
    emailId: email.id,
    kind: 'MEETING',
    occurredAt: at,
  } as const;
  await check('Activity', activityInput, await prisma.activity.create({ data: activityInput }), (c) =>
    prisma.activity.findUniqueOrThrow({ where: { id: c.id } }),
  );

  const auditInput = {
    accountId: account.id,
    actorId: ada.id,
    action: 'share.created',
    resourceType: 'List',
    resourceId: list.id,
    data: { role: 'EDITOR', principals: [{ kind: 'group', id: group.id }] },
  };
  await check('AuditEvent', auditInput, await prisma.auditEvent.create({ data: auditInput }), (c) =>
    prisma.auditEvent.findUniqueOrThrow({ where: { id: c.id } }),
  );

  const outboxInput = {
    kind: 'invitation.list',
    to: 'guest@elsewhere.test',
    link: 'https://app.example.test/invitations/t0k3n',
    nextAttemptAt: new Date('2026-12-06T10:00:00.000Z'),
    claimedUntil: new Date('2026-12-06T09:00:00.000Z'),
    subject: 'You are invited',
    text: 'Open the link.',
    status: 'FAILED',
    attempts: 2,
    lastError: 'SMTP down',
    sentAt: null,
  } as const;
  await check('MailOutbox', outboxInput, await prisma.mailOutbox.create({ data: outboxInput }), (c) =>
    prisma.mailOutbox.findUniqueOrThrow({ where: { id: c.id } }),
  );

  const eventInput = {
    listId: list.id,
    seq: 1,
    kind: 'ITEM_UPDATED',
    data: { changedFields: ['title'] },
    createdAt: at,
  };
  await check('ListEvent', eventInput, await prisma.listEvent.create({ data: eventInput }), (c) =>
    prisma.listEvent.findUniqueOrThrow({ where: { listId_seq: { listId: c.listId, seq: c.seq } } }),
  );
  const sequenceInput = { listId: list.id, lastSeq: 1 };
  await check('ListSequence', sequenceInput, await prisma.listSequence.create({ data: sequenceInput }), (c) =>
    prisma.listSequence.findUniqueOrThrow({ where: { listId: c.listId } }),
  );

  // The triggers recorded the history of what was made above; a row round-trips like any other.
  const factInput = {
    kind: 'GroupMember',
    key: `${group.id}:${ada.id}`,
    scope: group.id,
    userId: ada.id,
    state: {},
    createdAt: at,
  };
  await check('AuditFact', factInput, await prisma.auditFact.create({ data: factInput }), (c) =>
    prisma.auditFact.findUniqueOrThrow({ where: { seq: c.seq } }),
  );
  const recorded = await prisma.auditFact.findMany({ where: { kind: 'GroupMember', key: factInput.key } });
  expect(recorded.map((r) => r.state)).toEqual([{}, {}]);

  // The relations seen from the user's side, through the join tables.
  const adaWithRelations = await prisma.user.findUniqueOrThrow({
    where: { id: ada.id },
    include: { accounts: true, groups: true, rights: true, workspaces: true, emails: true, listsCreated: true },
  });
  expect(adaWithRelations.accounts.map((a) => a.accountId)).toEqual([account.id]);
  expect(adaWithRelations.groups.map((g) => g.groupId)).toEqual([group.id]);
  expect(adaWithRelations.rights.map((r) => r.rightId)).toEqual([right.id]);
  expect(adaWithRelations.workspaces.map((w) => w.workspaceId)).toEqual([workspace.id]);
  expect(adaWithRelations.emails).toEqual([email]);
  expect(adaWithRelations.listsCreated).toEqual([list]);

  return covered;
}

describe('migrate on PGlite (in memory)', () => defineSuite(openPglite));

describe.skipIf(!runPostgres)(`migrate on PostgreSQL (${new URL(pgBaseUrl).host})`, () => defineSuite(openPostgres));
