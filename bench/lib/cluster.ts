import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signToken } from '../../src/auth/jwt.ts';
import { freshPostgresDatabase } from '../../test/helpers/db.ts';
import { POSTGRES_URL, REDIS_URL } from '../../test/helpers/services.ts';

/** The repository root: children run from there so `src/main.ts` and `.env`-free defaults resolve. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** N sharegraph instances in child processes sharing one fresh PostgreSQL database and one Redis prefix. */
export interface Cluster {
  /** Base URL of each instance, e.g. `http://127.0.0.1:41234` (GraphQL at `/graphql`). */
  urls: string[];
  pids: number[];
  databaseUrl: string;
  redisUrl: string;
  jwtSecret: string;
  /** A valid HS256 token for `email` (the user is provisioned on first use). */
  token(email: string): Promise<string>;
  /** Stops every instance (SIGTERM, then SIGKILL after 5 s) and drops the database. */
  close(): Promise<void>;
}

export interface ClusterOptions {
  instances: number;
  /** Extra or overriding environment for every instance. */
  env?: Record<string, string>;
  /** Node flags for the children, e.g. `['--cpu-prof', '--cpu-prof-dir=/tmp/prof']`. */
  nodeArgs?: string[];
  /** The checkout to start (its `scripts/start.mjs`); this one by default. */
  root?: string;
}

// Benchmarks measure the request path, not the limiter: set every rate limit out of reach.
const NO_LIMITS = {
  RATE_LIMIT_MUTATIONS_PER_MINUTE: '1000000',
  RATE_LIMIT_IP_MUTATIONS_PER_MINUTE: '1000000',
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '1000000',
  INVITATIONS_PER_HOUR: '1000000',
};

/**
 * Node flags for the bench's servers: a CPU profile into $BENCH_CPU_PROF, a sampled allocation
 * profile into $BENCH_HEAP_PROF, an inspector on port $BENCH_INSPECT, and $BENCH_NODE_ARGS (say,
 * V8 heap sizes to try), each when set.
 */
export function profileArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  const heap = process.env.BENCH_HEAP_PROF;
  return [
    ...(dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []),
    ...(heap ? ['--heap-prof', `--heap-prof-dir=${heap}`] : []),
    ...(process.env.BENCH_INSPECT ? [`--inspect=127.0.0.1:${process.env.BENCH_INSPECT}`] : []),
    ...(process.env.BENCH_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? []),
  ];
}

/**
 * The node flags `npm start` gives the server in `root` (its package.json's `start` script, the
 * words between `node` and the script): every server a bench starts, the bare yoga included, runs
 * with them, as a deployment that follows the README does.
 */
export function startFlags(root = ROOT): string[] {
  const file = join(root, 'package.json');
  const pkg = JSON.parse(readFileSync(file, 'utf8')) as { scripts?: { start?: string } };
  const words = (pkg.scripts?.start ?? '').split(/\s+/).filter(Boolean);
  if (words[0] !== 'node') throw new Error(`${file}: the start script does not run node`);
  return words.slice(1).filter((word) => word.startsWith('--'));
}

/** A TCP port free at the moment of asking (the OS picks it). */
export function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 200, the child exits, or `timeoutMs` passes. */
export async function waitReady(url: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`process ${child.pid} exited (${child.exitCode ?? child.signalCode}) before ${url} was ready`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms`);
}

/** Sends SIGTERM and resolves when the child has exited (SIGKILL after `graceMs`). */
export function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Spawns `node <entry>` with `env`: by default `scripts/start.mjs`, what `npm start` runs (the
 * esbuild bundle of src/main.ts, built by `npm ci`). Not tsx: its transform keeps every
 * function's name with an `Object.defineProperty` on each closure it creates, which costs CPU on
 * every request and 256 bytes per closure kept (a tenth of a websocket's heap). Passes the
 * child's stderr on (prefixed with its pid), and returns the child. stdout is ignored: at
 * LOG_LEVEL=warn only the embedded token hint goes there.
 */
export function spawnServer(
  env: Record<string, string>,
  nodeArgs: string[] = [],
  entry = 'scripts/start.mjs',
  root = ROOT,
): ChildProcess {
  const child = spawn(process.execPath, [...startFlags(root), ...nodeArgs, entry], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[server ${child.pid}] ${chunk}`));
  return child;
}

/**
 * Starts `instances` servers against a fresh PostgreSQL database (on DATABASE_URL's server, or
 * the local default) and a fresh Redis key prefix, in production mode with rate limits out of
 * reach, and waits until each answers /readyz.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const db = await freshPostgresDatabase(POSTGRES_URL);
  if (!db) throw new Error('no PostgreSQL URL');
  const jwtSecret = randomBytes(32).toString('hex');
  const redisUrl = REDIS_URL;
  const prefix = `sharegraph-bench:${randomBytes(6).toString('hex')}:`;
  const children: ChildProcess[] = [];
  const urls: string[] = [];
  const close = async () => {
    await Promise.all(children.map((c) => stopChild(c)));
    await db.drop();
  };
  try {
    // One at a time: the first applies the migrations, the others find them applied.
    for (let i = 0; i < options.instances; i++) {
      const port = await sparePort();
      const child = spawnServer(
        {
          NODE_ENV: 'production',
          LOG_LEVEL: 'warn',
          SEED_DEMO: 'false',
          ...NO_LIMITS,
          ...options.env,
          DATABASE_URL: db.url,
          REDIS_URL: options.env?.REDIS_URL ?? redisUrl,
          REDIS_KEY_PREFIX: prefix,
          PORT: String(port),
          HOST: '127.0.0.1',
          JWT_SECRET: jwtSecret,
        },
        options.nodeArgs,
        undefined,
        options.root,
      );
      children.push(child);
      const url = `http://127.0.0.1:${port}`;
      await waitReady(`${url}/readyz`, child);
      urls.push(url);
    }
  } catch (err) {
    await close();
    throw err;
  }
  const tokens = new Map<string, Promise<string>>();
  return {
    urls,
    pids: children.map((c) => c.pid as number),
    databaseUrl: db.url,
    redisUrl,
    jwtSecret,
    token(email) {
      let t = tokens.get(email);
      if (!t) {
        t = signToken(jwtSecret, { email }, '12h');
        tokens.set(email, t);
      }
      return t;
    },
    close,
  };
}
