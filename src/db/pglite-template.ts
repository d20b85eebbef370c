/**
 * Prepared PGlite data directories (issue 8): initdb, the migrations and, for the demo variant,
 * the demo seed, done once and kept in node_modules/.cache, then copied into an empty DATA_DIR,
 * so that a first start skips the seconds they take. `npm ci` prepares the demo one
 * (scripts/db-template.ts); a first start that finds none makes it, then copies it.
 *
 * A template is named by its key: the PGlite version (its on-disk format), the name and
 * checksum of every migration, and for the demo variant the seed's source. Adding or changing a
 * migration changes the key, so a template of another migration set is never used: a new one
 * is made and the old one removed. Migrations still run after the copy, as on every start, and
 * check the recorded checksums again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants, existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaClient } from '../generated/prisma/client.ts';
import { pgliteDataDir } from './client.ts';
import { migrate, migrationChecksum, pgliteMigrationConnection, readMigrations } from './migrate.ts';
import { seedDemo } from './seed.ts';

/** Where templates are kept unless told otherwise: beside `npm start`'s build output. */
export const DEFAULT_TEMPLATE_CACHE = fileURLToPath(new URL('../../node_modules/.cache/sharegraph/', import.meta.url));

// Bump when the way a template is made changes, so that older ones are not used.
const TEMPLATE_FORMAT = 1;
const PREFIX = 'pglite-template-';
const SEED_SOURCE = new URL('./seed.ts', import.meta.url);
// A build that has not finished after this long died; its leftovers may go.
const ABANDONED_MS = 60 * 60 * 1000;

/** Options of the template functions. */
export interface TemplateOptions {
  /** With the demo seed (`seedDemo`) applied, or migrations only. */
  demo?: boolean;
  /** The folder templates live in (default: node_modules/.cache/sharegraph). */
  cacheDir?: string;
  /** The migrations a template is made from (default: prisma/migrations). */
  migrationsDir?: string;
}

/** What a template's `template.json` records; the key is compared again before every use. */
export interface TemplateManifest {
  key: string;
  pglite: string;
  migrations: string[];
  demo: boolean;
  createdAt: string;
}

/** How DATA_DIR's database came to be, for the start-up log. */
export type DataDirOrigin =
  | { from: 'disk' }
  | { from: 'template'; demo: boolean }
  /** PGlite runs initdb itself; `reason` says why no template was used. */
  | { from: 'initdb'; reason: string };

function pgliteVersion(): string {
  // The package exports no package.json; its entry points sit in dist/.
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  return (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/** The manifest (less its date) of the template that the current PGlite, migrations and seed call for. */
export async function templateManifest(options: TemplateOptions = {}): Promise<Omit<TemplateManifest, 'createdAt'>> {
  const migrations = await readMigrations(options.migrationsDir);
  const pglite = pgliteVersion();
  const demo = options.demo ?? false;
  const key = createHash('sha256')
    .update(
      JSON.stringify({
        format: TEMPLATE_FORMAT,
        pglite,
        migrations: migrations.map((m) => [m.name, migrationChecksum(m.script)]),
        seed: demo
          ? createHash('sha256')
              .update(await readFile(SEED_SOURCE))
              .digest('hex')
          : null,
      }),
    )
    .digest('hex');
  return { key, pglite, migrations: migrations.map((m) => m.name), demo };
}

const folderOf = (key: string) => `${PREFIX}${key.slice(0, 24)}`;

/** The template's data directory when a complete one with exactly this key exists. */
async function findTemplate(cacheDir: string, key: string): Promise<string | null> {
  const dir = join(cacheDir, folderOf(key));
  const manifest = await readFile(join(dir, 'template.json'), 'utf8').then(
    (text) => JSON.parse(text) as Partial<TemplateManifest>,
    () => null,
  );
  const data = pgliteDataDir(dir);
  if (manifest?.key !== key || !existsSync(join(data, 'PG_VERSION'))) return null;
  return data;
}

/**
 * Returns the data directory of the template the current migrations call for, making it first
 * when there is none: a fresh PGlite in a scratch folder, migrated (and seeded), closed cleanly,
 * then renamed into place in one step, so a template is there whole or not at all (instances
 * that start together each make one; the first rename wins). Templates of other keys are
 * removed once the new one is in place.
 */
export async function ensureTemplate(options: TemplateOptions = {}): Promise<string> {
  const cacheDir = options.cacheDir ?? DEFAULT_TEMPLATE_CACHE;
  const wanted = await templateManifest(options);
  const found = await findTemplate(cacheDir, wanted.key);
  if (found) return found;

  const folder = folderOf(wanted.key);
  const scratch = join(cacheDir, `${folder}.building-${process.pid}-${randomBytes(4).toString('hex')}`);
  const [{ PGlite }, { PrismaPGlite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('pglite-prisma-adapter'),
  ]);
  await mkdir(pgliteDataDir(scratch), { recursive: true });
  try {
    const pglite = await PGlite.create(pgliteDataDir(scratch));
    try {
      await migrate(pgliteMigrationConnection(pglite), { migrationsDir: options.migrationsDir });
      if (wanted.demo) {
        const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
        await seedDemo(prisma).finally(() => prisma.$disconnect());
      }
    } finally {
      await pglite.close();
    }
    const manifest: TemplateManifest = { ...wanted, createdAt: new Date().toISOString() };
    await writeFile(join(scratch, 'template.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const place = () => rename(scratch, join(cacheDir, folder));
    await place().catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      // Another process put the same template in place first, and theirs serves; or what lies
      // there is not a whole template of this key, and ours replaces it.
      if (await findTemplate(cacheDir, wanted.key)) return;
      await rm(join(cacheDir, folder), { recursive: true, force: true });
      await place();
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  await removeOthers(cacheDir, wanted);
  const made = await findTemplate(cacheDir, wanted.key);
  if (!made) throw new Error(`the PGlite template ${join(cacheDir, folder)} vanished after it was made`);
  return made;
}

/**
 * Removes templates of the same variant (demo or not) with another key, and scratch folders of
 * builds that died.
 */
async function removeOthers(cacheDir: string, keep: Omit<TemplateManifest, 'createdAt'>): Promise<void> {
  for (const entry of await readdir(cacheDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || !entry.name.startsWith(PREFIX) || entry.name === folderOf(keep.key)) continue;
    const path = join(cacheDir, entry.name);
    if (entry.name.includes('.building-')) {
      const { mtimeMs } = await stat(path);
      if (Date.now() - mtimeMs > ABANDONED_MS) await rm(path, { recursive: true, force: true });
      continue;
    }
    const manifest = await readFile(join(path, 'template.json'), 'utf8').then(
      (text) => JSON.parse(text) as Partial<TemplateManifest>,
      () => null,
    );
    if (manifest?.demo === undefined || manifest.demo === keep.demo) await rm(path, { recursive: true, force: true });
  }
}

/** Copies a directory tree, files in parallel (a data directory is about a thousand small files). */
async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(to);
  const entries = await readdir(from, { withFileTypes: true });
  await Promise.all(
    entries.map((entry) =>
      entry.isDirectory()
        ? copyTree(join(from, entry.name), join(to, entry.name))
        : copyFile(join(from, entry.name), join(to, entry.name), constants.COPYFILE_FICLONE),
    ),
  );
}

/**
 * Gets DATA_DIR ready for embedded PGlite: when its database directory is missing or empty, fills
 * it with a copy of the template (made first if need be). A directory that holds anything is
 * never touched, so existing data stays as it is. The copy lands under a scratch name and is
 * renamed into place, so a crash mid-copy leaves no half-made database behind. When the template
 * cannot be had, says why and leaves the directory to PGlite's own initdb.
 */
export async function prepareDataDir(dataDir: string, options: TemplateOptions = {}): Promise<DataDirOrigin> {
  const target = pgliteDataDir(dataDir);
  if (existsSync(join(target, 'PG_VERSION'))) return { from: 'disk' };
  const scratch = `${target}.copying-${randomBytes(4).toString('hex')}`;
  try {
    const existing = await readdir(target).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (existing && existing.length > 0) return { from: 'initdb', reason: `${target} holds files but no database` };
    const template = await ensureTemplate(options);
    await mkdir(dirname(target), { recursive: true });
    await copyTree(template, scratch);
    if (existing) await rmdir(target);
    await rename(scratch, target);
    return { from: 'template', demo: options.demo ?? false };
  } catch (err) {
    await rm(scratch, { recursive: true, force: true });
    return { from: 'initdb', reason: err instanceof Error ? err.message : String(err) };
  }
}
