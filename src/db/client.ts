import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type pg from 'pg';
import { type Prisma, PrismaClient } from '../generated/prisma/client.ts';
import { traceStatement } from '../telemetry/tracing.ts';
import { type MigrationConnection, migrate, pgliteMigrationConnection, pgMigrationConnection } from './migrate.ts';

/** The Prisma client every module uses; transactions are `db.$transaction(async (tx) => …)`. */
export type Db = PrismaClient<'query'>;

/** The client, or the transaction client handed to `$transaction` callbacks. */
export type DbTx = Omit<Db, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>;

/** Where the data lives: PostgreSQL when a URL is given, otherwise embedded PGlite. */
export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  /** Where migrations run when the queries go through a pooler (DATABASE_DIRECT_URL). */
  directUrl?: string | undefined;
  /** Embedded data directory; `null` keeps PGlite in memory. */
  dataDir?: string | null;
  /** Called when a pooled PostgreSQL connection fails outside a query, instead of crashing. */
  onConnectionError?: (err: Error) => void;
  /** PostgreSQL connections the pool opens at most (DATABASE_POOL_MAX); POOL_MAX when unset. */
  poolMax?: number | undefined;
}

/** An open database: the Prisma client, a way to run migrations, and a clean close. */
export interface Database {
  kind: 'pglite' | 'postgres';
  prisma: Db;
  /** Applies pending migrations from prisma/migrations. */
  migrate(log?: (msg: string) => void): Promise<{ applied: string[] }>;
  /** A cheap round trip, for readiness checks. */
  ping(): Promise<void>;
  /**
   * SQL statements sent through the Prisma client since the database opened: tests and the
   * benchmark read it before and after an operation to count its round trips. Statements of
   * background work (opened with `BACKGROUND`, e.g. the expiry sweeper's look-up) are not counted.
   */
  statements(): number;
  close(): Promise<void>;
}

/**
 * PostgreSQL connections the pool of one instance opens at most, unless DATABASE_POOL_MAX says:
 * twice this machine's cores and one (Prisma's own default, and the usual rule for a pool), 5 on
 * two cores. More statements at once than PostgreSQL has cores to run them only make its backends
 * take turns: at 50 clients on two cores, 20 connections cost PostgreSQL 0.91 ms of CPU per list
 * page and 0.46 per item write, 5 connections 0.72 and 0.37, with more answered per second (`npm
 * run bench -- executed writes`). A commit's flush waits on the disk, not a core, and writers of
 * one list share a statement, so writes need no more.
 */
export const POOL_MAX = 2 * availableParallelism() + 1;

/** Opens a raw statement of background work, which no operation's count includes. */
export const BACKGROUND = '/* background */';

/**
 * Ends a raw statement that PostgreSQL keeps parsed and planned on each connection (a named
 * prepared statement), for hot statements of a bounded number of shapes (it ends the statement
 * so that a read still starts with SELECT, see src/cache/generations.ts): planning one costs
 * PostgreSQL about as much CPU as running it. Behind a pooler in transaction mode that does not
 * track prepared statements (PgBouncer before 1.21), the first statement the server does not
 * know turns the naming off for the pool, and is sent again unnamed.
 */
export const PREPARED = '/* prepared */';

// The server has no statement of that name on this session, or already has one: a pooler moved
// the statement to another session.
const PREPARED_ELSEWHERE = new Set(['26000', '42P05']);

/** A statement's result as `readRows` gives it: the names of its columns, and its rows as arrays in that order. */
export interface Rows {
  columns: readonly string[];
  rows: readonly unknown[][];
}

type RowReader = (statement: Prisma.Sql) => Promise<Rows>;

/** The readers that go around Prisma's result mapping, by the client whose statements they count. */
const directReaders = new WeakMap<object, RowReader>();

const READ = /^\s*SELECT\b/i;

/**
 * Runs a raw read (a statement that starts with SELECT), for hot reads whose rows a module maps
 * itself: on PostgreSQL straight through the pool, without Prisma's result mapping (a quarter of
 * the server's time on a page of items), values as `$queryRaw` gives them (Dates, BigInts, parsed
 * JSON); elsewhere (PGlite) through `$queryRaw`. Counted in `statements()` and traced as Prisma's
 * statements are; the response cache does not hear of them, which a read leaves unchanged anyway.
 */
export async function readRows(db: DbTx, statement: Prisma.Sql): Promise<Rows> {
  if (!READ.test(statement.strings[0] ?? '')) throw new Error('readRows runs reads only');
  const direct = directReaders.get(db);
  if (direct) return direct(statement);
  const objects = await db.$queryRaw<Record<string, unknown>[]>(statement);
  return { columns: objects[0] ? Object.keys(objects[0]) : [], rows: objects.map((row) => Object.values(row)) };
}

/** A Prisma client that counts the statements it sends, and traces them (Prisma's query events). */
function countingClient(adapter: SqlDriverAdapterFactory) {
  const prisma: Db = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
  let statements = 0;
  const sent = (event: { query: string; timestamp: Date; duration: number }) => {
    if (!event.query.startsWith(BACKGROUND)) statements++;
    traceStatement(event);
  };
  prisma.$on('query', sent);
  return { prisma, statements: () => statements, sent };
}

/** Opens PostgreSQL (`databaseUrl`) or embedded PGlite (`dataDir`, or memory when null). */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options);
  return openPglite(options.dataDir ?? null);
}

// The server ended these connections on purpose (pg_terminate_backend, a shutdown or a
// failover): the statement never ran or was rolled back, so sending it again is safe.
const TERMINATED = new Set(['57P01', '57P02', '57P03']);

/**
 * PostgreSQL's text form of a timestamp without time zone as a Date: UTC, as Prisma writes them.
 * `YYYY-MM-DD HH:MM:SS[.fff]`, what every timestamp(3) of a year from 1000 reads as, is read digit
 * by digit, with no string made (a list page reads a hundred of them); any other through Date's parser.
 */
export function utcDate(text: string): Date {
  const length = text.length;
  if (length === 19 || (length >= 21 && length <= 23 && text.charCodeAt(19) === 46)) {
    const year = number(text, 0, 4);
    const month = number(text, 5, 7);
    const day = number(text, 8, 10);
    const hour = number(text, 11, 13);
    const minute = number(text, 14, 16);
    const second = number(text, 17, 19);
    const ms = length === 19 ? 0 : number(text, 20, length) * (length === 21 ? 100 : length === 22 ? 10 : 1);
    if (
      text.charCodeAt(4) === 45 && // -
      text.charCodeAt(7) === 45 &&
      text.charCodeAt(10) === 32 && // space
      text.charCodeAt(13) === 58 && // :
      text.charCodeAt(16) === 58 &&
      year >= 1000 &&
      month >= 1 &&
      month <= 12 &&
      hour >= 0 &&
      hour < 24 &&
      minute >= 0 &&
      minute < 60 &&
      second >= 0 &&
      second < 60 &&
      ms >= 0
    ) {
      const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
      // A day the month does not have (which PostgreSQL never writes) rolls over: not this one.
      if (date.getUTCDate() === day) return date;
    }
  }
  return new Date(`${text.slice(0, 10)}T${text.slice(11)}Z`);
}

/** The decimal number of `text` from `start` to `end`, or -1 when a character there is no digit. */
function number(text: string, start: number, end: number): number {
  let value = 0;
  for (let i = start; i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * The PostgreSQL driver, loaded when a URL is given: an embedded start spares loading it, as a
 * start on PostgreSQL spares PGlite.
 */
async function postgresDriver() {
  const [{ default: pgModule }, { PrismaPg }] = await Promise.all([import('pg'), import('@prisma/adapter-pg')]);
  /**
   * A pool that survives connections the server ended while they sat idle. Their FATAL message
   * may still be unread when the pool hands one out, so the next statement would fail: plain
   * statements are sent once more on another connection, and a transaction lets pending socket
   * events run before it takes a connection, so a dead one leaves the pool first.
   */
  class ResilientPool extends pgModule.Pool {
    /** Whether statements ended with PREPARED are named (see PREPARED). */
    naming = true;

    /** The names given so far, by text: hashing a list page's text on every read cost more than finding it here. */
    private readonly names = new Map<string, string>();

    /** The name of a PREPARED statement, from its text (one text, one name); '' for any other. */
    readonly statementName = (query: { sql: string }): string => {
      if (!this.naming || !query.sql.endsWith(PREPARED)) return '';
      let name = this.names.get(query.sql);
      if (name === undefined) {
        name = `sg_${createHash('sha256').update(query.sql).digest('base64url').slice(0, 32)}`;
        // PREPARED statements are of a bounded number of shapes; the bound guards against a mistake.
        if (this.names.size >= 1000) this.names.clear();
        this.names.set(query.sql, name);
      }
      return name;
    };

    // biome-ignore lint/suspicious/noExplicitAny: pg's query overloads; Prisma uses the promise form.
    override query(config: any, values?: any, callback?: any): any {
      if (typeof values === 'function' || typeof callback === 'function') return super.query(config, values, callback);
      return super.query(config, values).catch((err: { code?: string }) => {
        if (config?.name && PREPARED_ELSEWHERE.has(err?.code ?? '')) {
          this.naming = false;
          return super.query({ ...config, name: undefined }, values);
        }
        if (!TERMINATED.has(err?.code ?? '')) throw err;
        return super.query(config, values);
      });
    }
    // biome-ignore lint/suspicious/noExplicitAny: pg's connect overloads.
    override connect(callback?: any): any {
      // pg-pool's own query() passes a callback; @prisma/adapter-pg's transactions do not.
      if (callback) return super.connect(callback);
      return new Promise<void>((resolve) => setImmediate(resolve)).then(() => super.connect());
    }
  }
  const { builtins, getTypeParser } = pgModule.types;
  // pg-types' array parser (its typings describe another version's).
  const arrays = pgModule.types.arrayParser as unknown as {
    create(text: string, entry: (text: string) => unknown): { parse(): unknown[] };
  };
  const arrayOf = (entry: (text: string) => unknown) => (text: string) => arrays.create(text, entry).parse();
  // oids of arrays, which pg-types' builtins leave out
  const [TIMESTAMP_ARRAY, INT8_ARRAY] = [1115, 1016];
  /**
   * Values as `$queryRaw` gives them where pg's defaults differ: timestamps without time zone (pg
   * reads them as local time; Prisma writes them in UTC) and 64-bit integers (BigInts).
   */
  const asQueryRaw = {
    getTypeParser(oid: number, format?: 'text' | 'binary'): (text: string) => unknown {
      if (format !== 'binary') {
        if (oid === builtins.TIMESTAMP) return utcDate;
        if (oid === builtins.INT8) return BigInt;
        if (oid === TIMESTAMP_ARRAY) return arrayOf(utcDate);
        if (oid === INT8_ARRAY) return arrayOf(BigInt);
      }
      return getTypeParser(oid, format);
    },
  };
  return { Client: pgModule.Client, ResilientPool, PrismaPg, asQueryRaw };
}

async function openPostgres(
  url: string,
  { directUrl, onConnectionError, poolMax = POOL_MAX }: DatabaseOptions,
): Promise<Database> {
  const { Client, ResilientPool, PrismaPg, asQueryRaw } = await postgresDriver();
  // Two connections stay open while idle: a query after a quiet spell (a cached answer expiring)
  // would otherwise wait for a new connection and a backend with cold catalog caches. The others
  // close after a minute idle (pg-pool's default is 10 s): a new backend costs PostgreSQL
  // milliseconds of CPU to start, load its catalog caches and plan each prepared statement again
  // (five times before it settles on a generic plan), which a lull of a few seconds made it pay
  // for most of the pool.
  const pool = new ResilientPool({
    connectionString: url,
    max: poolMax,
    min: Math.min(2, poolMax),
    idleTimeoutMillis: 60_000,
  });
  // An idle client whose server went away emits 'error' on the pool; unhandled, it kills the process.
  // pg-pool attaches the whole client to the error: log its message and SQLSTATE only.
  const onError = (err: Error & { code?: string }) =>
    onConnectionError?.(Object.assign(new Error(err.message), { code: err.code }));
  pool.on('error', onError);
  // A connection the server ends while it is checked out but between statements (no query to
  // fail, no transaction listening) emits 'error' with no listener, which would kill the process.
  pool.on('connect', (client) => client.on('error', onError));
  const { prisma, statements, sent } = countingClient(
    new PrismaPg(pool, {
      onPoolError: onError,
      onConnectionError: onError,
      statementNameGenerator: pool.statementName,
    }),
  );
  directReaders.set(prisma, async (statement) => {
    const text = statement.text;
    const timestamp = new Date();
    const started = performance.now();
    const result: pg.QueryArrayResult = await pool.query({
      name: pool.statementName({ sql: text }) || undefined,
      text,
      values: statement.values.map((value) => (value instanceof Date ? value.toISOString() : value)),
      rowMode: 'array',
      types: asQueryRaw,
    });
    sent({ query: text, timestamp, duration: performance.now() - started });
    return { columns: result.fields.map((field) => field.name), rows: result.rows };
  });
  return {
    kind: 'postgres',
    prisma,
    statements,
    async migrate(log) {
      const client: pg.Client = new Client({ connectionString: directUrl ?? url });
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

/** Where embedded PGlite keeps its database inside a data directory (DATA_DIR). */
export function pgliteDataDir(dataDir: string): string {
  return resolve(dataDir, 'pglite');
}

async function openPglite(dataDir: string | null): Promise<Database> {
  let dir: string | undefined;
  if (dataDir) {
    dir = pgliteDataDir(dataDir);
    mkdirSync(dir, { recursive: true });
  }
  const [{ PGlite }, { PrismaPGlite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('pglite-prisma-adapter'),
  ]);
  const pglite = await PGlite.create(dir);
  const { prisma, statements } = countingClient(new PrismaPGlite(pglite));
  const conn: MigrationConnection = pgliteMigrationConnection(pglite);
  return {
    kind: 'pglite',
    prisma,
    statements,
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
