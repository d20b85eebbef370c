import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/jwt.ts';
import { openDatabase } from '../../src/db/client.ts';
import { migrate, pgliteMigrationConnection } from '../../src/db/migrate.ts';
import { ensureTemplate, prepareDataDir } from '../../src/db/pglite-template.ts';
import { seedDemo } from '../../src/db/seed.ts';
import { type ServerProcess, startServerProcess } from '../helpers/processes.ts';

// Each template costs an initdb (seconds): the tests share what they can.
const SLOW = 180_000;
const scratch = mkdtempSync(join(tmpdir(), 'sharegraph-template-'));
const cacheDir = join(scratch, 'cache');
const processes: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill()));
  rmSync(scratch, { recursive: true, force: true });
});

let n = 0;
const dataDir = () => join(scratch, `data-${++n}`);
const templates = () => readdirSync(cacheDir).filter((name) => !name.includes('.building-'));

async function accountNames(dir: string): Promise<string[]> {
  const db = await openDatabase({ dataDir: dir });
  try {
    await db.migrate();
    return (await db.prisma.account.findMany({ orderBy: { name: 'asc' } })).map((a) => a.name);
  } finally {
    await db.close();
  }
}

describe('a first start on an empty DATA_DIR', () => {
  it('copies the migrated template; a restart finds the same data on disk', { timeout: SLOW }, async () => {
    const dir = dataDir();
    expect(await prepareDataDir(dir, { cacheDir })).toEqual({ from: 'template', demo: false });

    const db = await openDatabase({ dataDir: dir });
    expect(await db.migrate()).toEqual({ applied: [] });
    await db.prisma.account.create({ data: { name: 'Kept' } });
    await db.close();

    expect(await prepareDataDir(dir, { cacheDir })).toEqual({ from: 'disk' });
    expect(await accountNames(dir)).toEqual(['Kept']);
    // A second data directory starts from the template, not from the first one's data.
    const other = dataDir();
    expect(await prepareDataDir(other, { cacheDir })).toEqual({ from: 'template', demo: false });
    expect(await accountNames(other)).toEqual([]);
  });

  it('with the demo template, holds the demo data, which the seed then leaves alone', { timeout: SLOW }, async () => {
    const dir = dataDir();
    expect(await prepareDataDir(dir, { cacheDir, demo: true })).toEqual({ from: 'template', demo: true });
    const db = await openDatabase({ dataDir: dir });
    try {
      expect(await db.migrate()).toEqual({ applied: [] });
      expect(await seedDemo(db.prisma)).toEqual({ created: false });
      expect((await db.prisma.account.findMany()).map((a) => a.name)).toEqual(['Demo Co']);
    } finally {
      await db.close();
    }
    // Both variants are kept side by side.
    expect(templates()).toHaveLength(2);
  });

  it('leaves a directory that holds files but no database to initdb, untouched', async () => {
    const dir = dataDir();
    mkdirSync(join(dir, 'pglite'), { recursive: true });
    writeFileSync(join(dir, 'pglite', 'stray'), 'mine');
    expect(await prepareDataDir(dir, { cacheDir })).toEqual({
      from: 'initdb',
      reason: expect.stringContaining('holds files but no database'),
    });
    expect(readdirSync(join(dir, 'pglite'))).toEqual(['stray']);
  });

  it('falls back to initdb, saying why, when no template can be made', async () => {
    const blocked = join(scratch, 'not-a-folder');
    writeFileSync(blocked, '');
    const dir = dataDir();
    expect(await prepareDataDir(dir, { cacheDir: blocked })).toEqual({ from: 'initdb', reason: expect.any(String) });
    expect(existsSync(join(dir, 'pglite'))).toBe(false);
  });
});

describe('instances starting together', () => {
  it('each make the missing template, and all end up using one', { timeout: SLOW }, async () => {
    const cache = join(scratch, 'cache-together');
    const [a, b] = await Promise.all([ensureTemplate({ cacheDir: cache }), ensureTemplate({ cacheDir: cache })]);
    expect(a).toBe(b);
    expect(readdirSync(cache)).toHaveLength(1);
  });
});

describe('a template made for other migrations', () => {
  it('is refused, replaced, and migrations added later apply to existing data too', { timeout: SLOW }, async () => {
    const migrationsDir = join(scratch, 'migrations');
    cpSync(fileURLToPath(new URL('../../prisma/migrations/', import.meta.url)), migrationsDir, { recursive: true });
    const cache = join(scratch, 'cache-migrations');
    const before = await ensureTemplate({ cacheDir: cache, migrationsDir });
    const existing = dataDir();
    expect(await prepareDataDir(existing, { cacheDir: cache, migrationsDir })).toMatchObject({ from: 'template' });

    mkdirSync(join(migrationsDir, '29991231000000_probe'));
    writeFileSync(join(migrationsDir, '29991231000000_probe', 'migration.sql'), 'CREATE TABLE "Probe" (id INTEGER);\n');
    const after = await ensureTemplate({ cacheDir: cache, migrationsDir });
    expect(after).not.toBe(before);
    expect(readdirSync(cache)).toHaveLength(1);

    // A new data directory gets the new migration from the template...
    const fresh = dataDir();
    expect(await prepareDataDir(fresh, { cacheDir: cache, migrationsDir })).toMatchObject({ from: 'template' });
    for (const [dir, applied] of [
      [fresh, []],
      // ...and one made from the old template gets it applied at start, keeping its data.
      [existing, ['29991231000000_probe']],
    ] as const) {
      const pglite = await PGlite.create(join(dir, 'pglite'));
      try {
        expect(await migrate(pgliteMigrationConnection(pglite), { migrationsDir })).toEqual({ applied });
        expect((await pglite.query('SELECT count(*)::int AS n FROM "Probe"')).rows).toEqual([{ n: 0 }]);
      } finally {
        await pglite.close();
      }
    }
  });

  it('is refused when its manifest does not match its name', { timeout: SLOW }, async () => {
    const template = await ensureTemplate({ cacheDir });
    const manifestFile = join(template, '..', 'template.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { key: string };
    writeFileSync(manifestFile, JSON.stringify({ ...manifest, key: 'f'.repeat(64) }));
    expect(await ensureTemplate({ cacheDir })).toBe(template);
    expect(JSON.parse(readFileSync(manifestFile, 'utf8'))).toMatchObject({ key: manifest.key });
  });
});

describe('npm start’s entry (src/main.ts) on an empty DATA_DIR', () => {
  async function graphql(url: string, token: string, query: string) {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    });
    return (await res.json()) as { data?: Record<string, unknown>; errors?: unknown };
  }

  it('starts from the demo template, and a restart keeps what was written', { timeout: SLOW }, async () => {
    const dir = dataDir();
    // The environment of a newcomer: no NODE_ENV, so the demo seed is on.
    const first = await startServerProcess({ DATA_DIR: dir });
    processes.push(first);
    expect(first.output()).toContain('database copied from the prepared template, demo data included');
    const secret = readFileSync(join(dir, 'jwt-secret'), 'utf8').trim();
    const token = await signToken(secret, { email: 'admin@demo.sharegraph.dev' }, '1h');
    const created = await graphql(
      first.url,
      token,
      'mutation { createAccount(input: { name: "Written before restart" }) { ... on CreateAccountPayload { account { id } } } }',
    );
    const { account } = (created.data as { createAccount: { account: { id: string } } }).createAccount;
    const accountId = account.id;
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = await startServerProcess({ DATA_DIR: dir });
    processes.push(second);
    expect(second.output()).not.toContain('prepared template');
    expect(second.output()).not.toContain('demo data seeded');
    expect(await graphql(second.url, token, `{ account(id: "${accountId}") { name } }`)).toEqual({
      data: { account: { name: 'Written before restart' } },
    });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(await accountNames(dir)).toEqual(['Demo Co', 'Written before restart']);
  });
});
