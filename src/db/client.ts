import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.ts';
import { type MigrationConnection, migrate, pgliteMigrationConnection, pgMigrationConnection } from './migrate.ts';

/** The Prisma client every module uses; transactions are `db.$transaction(async (tx) => …)`. */
export type Db = PrismaClient;

/** The client, or the transaction client handed to `$transaction` callbacks. */
export type DbTx = Omit<PrismaClient, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>;

/** Where the data lives: PostgreSQL when a URL is given, otherwise embedded PGlite. */
export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  /** Embedded data directory; `null` keeps PGlite in memory. */
  dataDir?: string | null;
  /** Called when a pooled PostgreSQL connection fails outside a query, instead of crashing. */
  onConnectionError?: (err: Error) => void;
}

/** An open database: the Prisma client, a way to run migrations, and a clean close. */
export interface Database {
  kind: 'pglite' | 'postgres';
  prisma: Db;
  /** Applies pending migrations from prisma/migrations. */
  migrate(log?: (msg: string) => void): Promise<{ applied: string[] }>;
  /** A cheap round trip, for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Opens PostgreSQL (`databaseUrl`) or embedded PGlite (`dataDir`, or memory when null). */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.onConnectionError);
  return openPglite(options.dataDir ?? null);
}

async function openPostgres(url: string, onConnectionError?: (err: Error) => void): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle client whose server went away emits 'error' on the pool; unhandled, it kills the process.
  const onError = onConnectionError ?? (() => {});
  pool.on('error', onError);
  const prisma = new PrismaClient({
    adapter: new PrismaPg(pool, { onPoolError: onError, onConnectionError: onError }),
  });
  return {
    kind: 'postgres',
    prisma,
    async migrate(log) {
      const client = new pg.Client({ connectionString: url });
      client.on('error', onError);
      await client.connect();
      try {
        return await migrate(pgMigrationConnection(client), log ? { log } : {});
      } finally {
        await client.end();
      }
    },
    async ping() {
      await pool.query('select 1');
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

async function openPglite(dataDir: string | null): Promise<Database> {
  let dir: string | undefined;
  if (dataDir) {
    dir = resolve(dataDir, 'pglite');
    mkdirSync(dir, { recursive: true });
  }
  const pglite = await PGlite.create(dir);
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  const conn: MigrationConnection = pgliteMigrationConnection(pglite);
  return {
    kind: 'pglite',
    prisma,
    migrate: (log) => migrate(conn, log ? { log } : {}),
    async ping() {
      await pglite.query('select 1');
    },
    async close() {
      await prisma.$disconnect();
      await pglite.close();
    },
  };
}
