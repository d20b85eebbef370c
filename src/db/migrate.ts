/**
 * The migration runner (DESIGN.md §5): applies prisma/migrations at start and for
 * `npm run db:migrate`, in place of `prisma migrate deploy`, whose native schema engine this
 * project does not install. It keeps `_prisma_migrations` exactly as Prisma does, so on a machine
 * that has the engine `prisma migrate status` / `deploy` agree with what ran here.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGliteInterface } from '@electric-sql/pglite';
import type pg from 'pg';

/** The two things the runner needs from a database session. */
export interface MigrationConnection {
  /** Runs one parameterised statement. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  /** Runs a script of several statements (no parameters). */
  exec(sql: string): Promise<void>;
}

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** The migrations folder; defaults to the repository's `prisma/migrations`. */
  migrationsDir?: string;
  /** Progress messages (one per applied migration). */
  log?: (msg: string) => void;
}

/**
 * Wraps a PGlite instance. Run {@link migrate} before anything else uses the instance: PGlite
 * has a single session, so statements issued meanwhile would land inside a migration's
 * transaction.
 */
export function pgliteMigrationConnection(db: Pick<PGliteInterface, 'query' | 'exec'>): MigrationConnection {
  return {
    async query<T>(sql: string, params?: unknown[]) {
      const result = await db.query<T>(sql, params);
      return { rows: result.rows };
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
  };
}

/**
 * Wraps one dedicated, connected `pg.Client` (not a pool: the advisory lock and each
 * migration's transaction belong to a single session).
 */
export function pgMigrationConnection(client: pg.Client): MigrationConnection {
  return {
    async query<T>(sql: string, params?: unknown[]) {
      const result = await client.query(sql, params);
      // pg types rows as its own QueryResultRow; the caller names the shape it selected.
      return { rows: result.rows as T[] };
    },
    async exec(sql: string) {
      // Without parameters pg uses the simple query protocol, which accepts several statements.
      await client.query(sql);
    },
  };
}

// Prisma's own key (schema-engine, postgres flavour): the runner and `prisma migrate deploy`
// also exclude each other.
const ADVISORY_LOCK_KEY = 72707369;

// Verbatim from Prisma's schema engine (postgres flavour), so Prisma reads the table as its own.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations/', import.meta.url));

/** One migration folder: its name and its `migration.sql`. */
export interface MigrationFile {
  name: string;
  script: string;
}

interface MigrationRow {
  id: string;
  checksum: string;
  migration_name: string;
  finished_at: Date | string | null;
  rolled_back_at: Date | string | null;
}

/**
 * Prisma's checksum of a migration script: SHA-256 of the script as UTF-8, as lowercase hex.
 * Prisma's CLI reads migration.sql as UTF-8 text and the engine hashes that text, so for any
 * valid UTF-8 file this is the SHA-256 of the file's bytes.
 */
export function migrationChecksum(script: string): string {
  return createHash('sha256').update(script, 'utf8').digest('hex');
}

// Mirrors the engine's `script_matches_checksum`: git may have converted line endings since the
// script was applied, and very old engines wrote hex without zero padding (prisma-engines#1887).
function checksumMatches(script: string, recorded: string): boolean {
  const variants = [script, script.replaceAll('\r\n', '\n'), script.replaceAll('\n', '\r\n')];
  return variants.some((variant) => {
    const digest = createHash('sha256').update(variant, 'utf8').digest();
    const rendered =
      recorded.length > 0 && recorded.length !== 64
        ? [...digest].map((byte) => byte.toString(16)).join('')
        : digest.toString('hex');
    return rendered === recorded;
  });
}

/** The migrations of a folder, in the order they apply (folder name). */
export async function readMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const lock = await readFile(join(dir, 'migration_lock.toml'), 'utf8').catch(() => null);
  if (lock !== null && !/^\s*provider\s*=\s*"postgresql"\s*$/m.test(lock)) {
    throw new Error(`${join(dir, 'migration_lock.toml')} is not for provider "postgresql"; refusing to migrate`);
  }
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return [];
    throw err;
  });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrations: MigrationFile[] = [];
  for (const name of names) {
    const file = join(dir, name, 'migration.sql');
    const script = await readFile(file, 'utf8').catch((err: unknown) => {
      throw new Error(`Migration ${name}: cannot read ${file}`, { cause: err });
    });
    migrations.push({ name, script });
  }
  return migrations;
}

/**
 * Applies every pending migration of the migrations folder, in folder-name order, each in its
 * own transaction together with its `_prisma_migrations` row. Each of those transactions first
 * takes a transaction-scoped PostgreSQL advisory lock and then reads which migrations are applied,
 * so that instances starting together migrate once (the others wait, then find nothing to do).
 * The lock ends with its transaction: behind a transaction pooler (PgBouncer in transaction
 * mode), where consecutive statements may run on different server sessions, a session lock
 * would be taken on one and its unlock sent to another, and stay held by the pooled one.
 *
 * Throws, applying nothing, when the recorded history and the folder disagree: an applied
 * migration's file changed (checksum), an applied migration is missing from the folder, or a
 * previous attempt failed (a row with neither `finished_at` nor `rolled_back_at`, as Prisma
 * leaves it). Throws when a migration fails; that migration is rolled back entirely and the
 * ones before it stay applied.
 *
 * @returns the names of the migrations applied by this call.
 */
export async function migrate(conn: MigrationConnection, opts: MigrateOptions = {}): Promise<{ applied: string[] }> {
  const dir = opts.migrationsDir ?? DEFAULT_MIGRATIONS_DIR;
  const log = opts.log ?? (() => {});
  const migrations = await readMigrations(dir);
  const done: string[] = [];
  for (;;) {
    await conn.exec('BEGIN');
    let next: MigrationFile | undefined;
    try {
      await conn.query('SELECT pg_advisory_xact_lock($1)', [ADVISORY_LOCK_KEY]);
      await conn.exec(CREATE_MIGRATIONS_TABLE);
      const { rows } = await conn.query<MigrationRow>(
        'SELECT id, checksum, migration_name, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY started_at',
      );
      const applied = appliedMigrations(rows, migrations, dir);
      next = migrations.find((m) => !applied.has(m.name));
      if (next) await applyOne(conn, next);
      await conn.exec('COMMIT');
    } catch (err) {
      await conn.exec('ROLLBACK').catch(() => {});
      throw err;
    }
    if (!next) break;
    done.push(next.name);
    log(`applied migration ${next.name}`);
  }
  if (done.length === 0) log('no pending migrations');
  return { applied: done };
}

/** The names of the applied migrations; throws when the history and the folder disagree (see `migrate`). */
function appliedMigrations(rows: MigrationRow[], migrations: MigrationFile[], dir: string): Set<string> {
  // A failed attempt may have left part of a migration behind (Prisma does not wrap scripts in
  // a transaction); only a person can tell whether to roll it back or mark it done.
  const failed = rows.find((r) => r.finished_at === null && r.rolled_back_at === null);
  if (failed) {
    throw new Error(
      `Migration ${failed.migration_name} failed in a previous attempt (_prisma_migrations id ${failed.id}) ` +
        'and may be partly applied. Repair the database by hand, then mark the attempt rolled back ' +
        `(UPDATE _prisma_migrations SET rolled_back_at = now() WHERE id = '${failed.id}') to retry it, ` +
        `or finished (SET finished_at = now()) if it is in fact complete.`,
    );
  }
  const onDisk = new Map(migrations.map((m) => [m.name, m]));
  const applied = new Set<string>();
  for (const row of rows) {
    if (row.finished_at === null || row.rolled_back_at !== null) continue;
    const file = onDisk.get(row.migration_name);
    if (!file) {
      throw new Error(
        `Migration ${row.migration_name} is applied to this database but missing from ${dir}: ` +
          'this code is older than the database, or the folder was renamed.',
      );
    }
    if (!checksumMatches(file.script, row.checksum)) {
      throw new Error(
        `Migration ${row.migration_name} was modified after it was applied to this database ` +
          `(recorded checksum ${row.checksum}, file ${migrationChecksum(file.script)}). ` +
          'Restore the original migration.sql and put the change in a new migration.',
      );
    }
    applied.add(row.migration_name);
  }
  return applied;
}

/** Runs the migration's script and records it, inside the caller's transaction. */
async function applyOne(conn: MigrationConnection, migration: MigrationFile): Promise<void> {
  try {
    await conn.exec(migration.script);
    // started_at is now(), the transaction's start; finished_at the wall clock at the end.
    await conn.query(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), clock_timestamp(), 1)`,
      [randomUUID(), migrationChecksum(migration.script), migration.name],
    );
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`Migration ${migration.name} failed and was rolled back, nothing of it applied: ${reason}`, {
      cause: err,
    });
  }
}
