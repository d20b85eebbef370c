/**
 * `npm run db:migration -- <name>`: writes the next migration, the SQL that takes
 * prisma/migrations to prisma/schema.prisma, in Prisma's layout
 * (`prisma/migrations/<YYYYMMDDHHMMSS>_<name>/migration.sql` + `migration_lock.toml`).
 * It stands in for `prisma migrate dev --create-only`, whose native engine this machine lacks
 * (DESIGN.md §5). Review the file, then apply it with `npm run db:migrate`.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  diffMigrationsToSchema,
  EMPTY_MIGRATION,
  MIGRATION_LOCK_CONTENT,
  MIGRATION_LOCK_FILE,
} from './schema-engine.ts';

const migrationsUrl = new URL('../prisma/migrations/', import.meta.url);
const migrationsDir = fileURLToPath(migrationsUrl);
const schemaPath = fileURLToPath(new URL('../prisma/schema.prisma', import.meta.url));

// Same character set as the names Prisma generates (it slugifies to snake_case); the folder name
// lands in `_prisma_migrations.migration_name`, a VARCHAR(255), after a 15-character prefix.
const NAME = /^[A-Za-z0-9][A-Za-z0-9_]{0,199}$/;

function fail(message: string): never {
  console.error(`db:migration: ${message}`);
  process.exit(1);
}

/** Prisma's migration timestamp: UTC, to the second. */
function timestamp(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    String(date.getUTCFullYear()) +
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes()) +
    pad(date.getUTCSeconds())
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const name = args[0];
  if (args.length !== 1 || name === undefined) {
    fail('usage: npm run db:migration -- <name>   (e.g. add_item_due_date)');
  }
  if (!NAME.test(name)) {
    const suggestion = name.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
    fail(
      `invalid migration name "${name}": use letters, digits and underscores, starting with a letter or digit` +
        (suggestion && NAME.test(suggestion) ? ` (e.g. "${suggestion}")` : ''),
    );
  }

  const sql = await diffMigrationsToSchema({ migrationsDir, schemaPath });
  if (sql === EMPTY_MIGRATION) {
    fail('prisma/schema.prisma and prisma/migrations already agree: nothing to write');
  }

  const folder = `${timestamp(new Date())}_${name}`;
  const existing = (await readdir(migrationsDir, { withFileTypes: true }).catch(() => []))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const latest = existing.at(-1);
  // Migrations apply in folder-name order; one that sorts before the history would run out of order.
  if (latest !== undefined && latest >= folder) {
    fail(`the new migration ${folder} would not sort after the latest one, ${latest}; check the clock or wait`);
  }

  const dir = new URL(`${folder}/`, migrationsUrl);
  await mkdir(dir, { recursive: true });
  await writeFile(new URL('migration.sql', dir), sql, 'utf8');
  const lockPath = new URL(MIGRATION_LOCK_FILE, migrationsUrl);
  if (!existsSync(lockPath)) await writeFile(lockPath, MIGRATION_LOCK_CONTENT, 'utf8');

  console.log(`db:migration: wrote prisma/migrations/${folder}/migration.sql; review it, then npm run db:migrate`);
}

await main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
