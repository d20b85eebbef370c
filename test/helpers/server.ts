import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { signToken } from '../../src/auth/jwt.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { createServer, type RunningServer } from '../../src/server.ts';
import type { TypedDocumentString } from '../generated/graphql.ts';
import { freshPostgresDatabase } from './db.ts';
import type { OwnRedisGroup } from './processes.ts';
import type { WsClient } from './ws.ts';

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123456789';

/** A GraphQL response as the tests read it. */
export interface Result<T> {
  status: number;
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** A server for one test file, with helpers to act as users. Always `await t.close()` in afterAll. */
export interface TestServer {
  server: RunningServer;
  config: Config;
  /** A valid token for `email` (provisioned on first use). */
  token(email: string, ttl?: string | number): Promise<string>;
  /** Runs a typed operation in process through `yoga.fetch`, as `as` (a token or an email) or anonymous. */
  gql<R, V>(doc: TypedDocumentString<R, V>, variables?: V, as?: string | null): Promise<Result<R>>;
  /** Like `gql`, but fails on transport or GraphQL errors and returns `data`. */
  ok<R, V>(doc: TypedDocumentString<R, V>, variables?: V, as?: string | null): Promise<R>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Share this database (a second instance); otherwise a fresh one is made. */
  databaseUrl?: string;
  /** Redis key prefix to share between instances; a fresh one otherwise. */
  redisKeyPrefix?: string;
  env?: Record<string, string>;
  /** Where the server logs (a pino logger); silent by default. */
  logger?: Logger;
}

/**
 * Starts a real server on a free port: in-memory PGlite, or a fresh PostgreSQL database when
 * DATABASE_URL is set; in-process pub/sub, or Redis with its own key prefix when REDIS_URL is set.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const fresh = options.databaseUrl ? null : await freshPostgresDatabase();
  const config: Config = {
    ...loadConfig({
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      JWT_SECRET: TEST_SECRET,
      // Suites act fast as few users from one address; the limits have their own tests.
      RATE_LIMIT_MUTATIONS_PER_MINUTE: '1000000',
      RATE_LIMIT_IP_MUTATIONS_PER_MINUTE: '1000000',
      RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '1000000',
      REDIS_KEY_PREFIX: options.redisKeyPrefix ?? `sharegraph-test:${randomBytes(6).toString('hex')}:`,
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      ...((options.databaseUrl ?? fresh?.url) ? { DATABASE_URL: options.databaseUrl ?? fresh?.url } : {}),
      ...options.env,
    }),
    dataDir: null,
  };
  const server = await createServer(config, options.logger ? { logger: options.logger } : {});
  const tokens = new Map<string, string>();
  const token = async (email: string, ttl: string | number = '1h') => {
    const key = `${email}|${ttl}`;
    let t = tokens.get(key);
    if (!t) {
      t = await signToken(TEST_SECRET, { email }, ttl);
      tokens.set(key, t);
    }
    return t;
  };
  const gql = async <R, V>(doc: TypedDocumentString<R, V>, variables?: V, as?: string | null): Promise<Result<R>> => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
    };
    if (as) headers.authorization = `Bearer ${as.includes('@') ? await token(as) : as}`;
    const res = await server.yoga.fetch('http://sharegraph.test/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: doc.toString(), variables }),
    });
    const body = (await res.json()) as Omit<Result<R>, 'status'>;
    return { status: res.status, ...body };
  };
  return {
    server,
    config,
    token,
    gql,
    async ok(doc, variables, as) {
      const res = await gql(doc, variables, as);
      if (res.errors?.length || !res.data)
        throw new Error(`GraphQL failed (${res.status}): ${JSON.stringify(res.errors)}`);
      return res.data;
    },
    async close() {
      await server.close();
      await fresh?.drop();
    },
  };
}

/**
 * A fingerprint of every table (row counts and the newest change), to assert that a refused
 * mutation changed nothing.
 */
export async function snapshot(t: TestServer): Promise<Record<string, unknown>> {
  const db = t.server.services.db;
  const tables = await db.$queryRawUnsafe<{ table_name: string }[]>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' ORDER BY 1`,
  );
  const out: Record<string, unknown> = {};
  for (const { table_name } of tables) {
    const [row] = await db.$queryRawUnsafe<{ n: bigint; h: string | null }[]>(
      `SELECT count(*) AS n, md5(string_agg(t::text, '|' ORDER BY t::text)) AS h FROM "${table_name}" t`,
    );
    out[table_name] = `${row?.n}:${row?.h}`;
  }
  return out;
}

/** Two instances sharing one fresh PostgreSQL database and one Redis key prefix; `close` ends both. */
/** The value of an unlabelled counter or gauge of the server's Prometheus `/metrics`, 0 when absent. */
export async function metricValue(t: TestServer, metric: string): Promise<number> {
  const text = await (await fetch(`${t.server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${metric} `));
  return Number(line?.split(' ')[1] ?? 0);
}

export interface TwoInstances {
  a: TestServer;
  b: TestServer;
  close(): Promise<void>;
}

export async function startTwoInstances(env: Record<string, string> = {}): Promise<TwoInstances> {
  const { POSTGRES_URL, REDIS_URL } = await import('./services.ts');
  const db = await freshPostgresDatabase(POSTGRES_URL);
  const prefix = `sharegraph-test:${randomBytes(6).toString('hex')}:`;
  const options = { databaseUrl: db?.url, redisKeyPrefix: prefix, env: { REDIS_URL, ...env } };
  const a = await startTestServer(options);
  const b = await startTestServer(options);
  return {
    a,
    b,
    async close() {
      await a.close();
      await b.close();
      await db?.drop();
    },
  };
}

/** One instance on a PostgreSQL database of its own, and that database's URL and name (to watch or alter it). */
export interface OnOwnDatabase {
  t: TestServer;
  url: string;
  name: string;
  close(): Promise<void>;
}

/** Starts one instance on a fresh database of POSTGRES_URL's server (always real PostgreSQL), with `env`. */
export async function startOnOwnDatabase(env: Record<string, string> = {}): Promise<OnOwnDatabase> {
  const { POSTGRES_URL } = await import('./services.ts');
  const db = await freshPostgresDatabase(POSTGRES_URL);
  if (!db) throw new Error('no database');
  const t = await startTestServer({ databaseUrl: db.url, env });
  return {
    t,
    url: db.url,
    name: new URL(db.url).pathname.slice(1),
    async close() {
      await t.close();
      await db.drop();
    },
  };
}

/** The HTTP status of `{ me { email } }` over the network with `token`: 401 for a bad one, 429 when locked out. */
export async function meStatus(t: TestServer, token: string): Promise<number> {
  const res = await fetch(`${t.server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ me { email } }' }),
  });
  await res.body?.cancel();
  return res.status;
}

/**
 * The status `ask` answers once it is `status`, or its last one after 3 s: for what reaches an
 * instance by an announcement (a lock-out another instance announced), not at once.
 */
export async function statusBecomes(ask: () => Promise<number>, status: number): Promise<number> {
  const deadline = Date.now() + 3_000;
  let last = await ask();
  while (last !== status && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    last = await ask();
  }
  return last;
}

/** Two instances on a Redis group of the test's own, and the websocket clients the test opens. */
export interface OnOwnRedis<G extends OwnRedisGroup> {
  group: G;
  a: TestServer;
  b: TestServer;
  /** Closed after the file's tests, before the instances and the group stop. */
  clients: WsClient[];
}

/**
 * Starts, before the file's tests, a Redis group of the test's own (`start`: a cluster or a
 * Sentinel) and two instances configured for it by `env` (REDIS_URL cleared, four failed sign-ins
 * a minute so rate limits show); after them, closes the clients, the instances and the group.
 */
export function twoInstancesOnOwnRedis<G extends OwnRedisGroup>(
  start: () => Promise<G>,
  env: (group: G) => Record<string, string>,
): OnOwnRedis<G> {
  const on = { clients: [] as WsClient[] } as unknown as OnOwnRedis<G>;
  let both: TwoInstances | undefined;
  beforeAll(async () => {
    on.group = await start();
    both = await startTwoInstances({ REDIS_URL: '', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '4', ...env(on.group) });
    on.a = both.a;
    on.b = both.b;
  }, 60_000);
  afterAll(async () => {
    await Promise.all(on.clients.map((c) => c.dispose()));
    await both?.close();
    await on.group?.stop();
  });
  return on;
}
