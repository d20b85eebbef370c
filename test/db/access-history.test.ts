import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPastFacts, pastResource } from '../../src/access/history.ts';
import { listRole } from '../../src/access/rules.ts';
import { migrate, pgliteMigrationConnection } from '../../src/db/migrate.ts';
import { PrismaClient } from '../../src/generated/prisma/client.ts';

// The migration that starts the access history on a database that already holds access facts:
// every fact is recorded as it stood, at the instant of the `History` row, so `accessAt` answers
// from then on; and the triggers it adds record what changes after.

const migrationsDir = fileURLToPath(new URL('../../prisma/migrations/', import.meta.url));
const HISTORY = readdirSync(migrationsDir).find((name) => name.endsWith('_access_history')) ?? '';

describe('the access history begins with every fact as it stood', () => {
  let pglite: PGlite;
  let prisma: PrismaClient;
  let before: string;
  beforeAll(async () => {
    pglite = await PGlite.create();
    prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
    before = mkdtempSync(join(tmpdir(), 'sharegraph-before-history-'));
    cpSync(migrationsDir, before, { recursive: true });
    for (const name of readdirSync(before)) if (name >= HISTORY) rmSync(join(before, name), { recursive: true });
    await migrate(pgliteMigrationConnection(pglite), { migrationsDir: before });
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await pglite?.close();
    rmSync(before, { recursive: true, force: true });
  });

  it('records the facts made before it, then the changes after it', async () => {
    expect(HISTORY).not.toBe('');
    const ada = await prisma.user.create({ data: { email: 'ada@before.test', name: 'Ada Before' } });
    const bob = await prisma.user.create({ data: { email: 'bob@before.test' } });
    const account = await prisma.account.create({
      data: {
        name: 'Before',
        members: {
          create: [
            { userId: ada.id, role: 'ADMIN' },
            { userId: bob.id, role: 'MEMBER' },
          ],
        },
      },
    });
    const group = await prisma.group.create({
      data: { accountId: account.id, name: 'Readers', members: { create: { userId: bob.id } } },
    });
    const ws = await prisma.workspace.create({
      data: {
        accountId: account.id,
        name: 'Closed',
        type: 'CLOSED',
        members: { create: { userId: ada.id, role: 'OWNER' } },
      },
    });
    const list = await prisma.list.create({
      data: { workspaceId: ws.id, name: 'Deals', kind: 'SHAREABLE', generalAccess: 'RESTRICTED', creatorId: ada.id },
    });
    await prisma.share.create({ data: { listId: list.id, groupId: group.id, role: 'EDITOR' } });

    await migrate(pgliteMigrationConnection(pglite));
    const begins = await prisma.auditFact.findFirstOrThrow({ where: { kind: 'History' } });
    const baseline = await prisma.auditFact.findMany({ where: { kind: { not: 'History' } } });
    expect(baseline.map((f) => f.kind).sort()).toEqual(
      [
        'Account',
        'AccountMember',
        'AccountMember',
        'GroupMember',
        'List',
        'Share',
        'Workspace',
        'WorkspaceMember',
      ].sort(),
    );
    expect(baseline.every((f) => f.createdAt.getTime() === begins.createdAt.getTime())).toBe(true);
    expect(JSON.stringify(baseline.map(({ seq: _, ...f }) => f))).not.toMatch(/before\.test|Ada|Deals|Readers|Closed/);

    const resource = await pastResource(prisma, 'List', list.id);
    expect(resource).toEqual({ type: 'List', id: list.id, workspaceId: ws.id, accountId: account.id });
    const then = await loadPastFacts(prisma, resource as NonNullable<typeof resource>, bob.id, begins.createdAt);
    const facts = then.list(list.id, bob.id);
    expect(facts && listRole(facts).role).toBe('EDITOR');

    await sleep(5);
    await prisma.groupMember.delete({ where: { groupId_userId: { groupId: group.id, userId: bob.id } } });
    const removed = await prisma.auditFact.findFirstOrThrow({
      where: { kind: 'GroupMember' },
      orderBy: { seq: 'desc' },
    });
    expect(removed.state).toBeNull();
    const later = await loadPastFacts(prisma, resource as NonNullable<typeof resource>, bob.id, new Date());
    const now = later.list(list.id, bob.id);
    expect(now && listRole(now).role).toBeNull();
    // An instant before the removal still sees the grant.
    const earlier = await loadPastFacts(prisma, resource as NonNullable<typeof resource>, bob.id, begins.createdAt);
    expect(earlier.covered).toBe(true);
    expect(earlier.list(list.id, bob.id)?.grants.map((g) => g.via)).toEqual(['GROUP']);
  });
});
