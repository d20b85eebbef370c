import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TypedDocumentString } from '../generated/graphql.ts';

/** The Redis server binary the fault tests start their own Redis with. */
export const REDIS_SERVER = '/usr/bin/redis-server';

/** Whether the fault tests can start their own Redis; in CI they must (a missing binary fails there). */
export function redisServerAvailable(): boolean {
  const ok = existsSync(REDIS_SERVER);
  if (!ok && process.env.CI) throw new Error(`CI needs ${REDIS_SERVER} (apt-get install redis-server)`);
  return ok;
}

/** A port nobody listens on right now (the OS picks it). */
export function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port (polling), or rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
}

/** Resolves with the exit code (or the signal's name) once the child has exited. */
function exited(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve(child.exitCode ?? child.signalCode ?? 0);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 0)));
}

/** A Redis server of the test's own, which it may kill and start again on the same port. */
export interface OwnRedis {
  port: number;
  url: string;
  /** Starts it (again), and resolves once it accepts connections. */
  start(): Promise<void>;
  /** Kills it at once (SIGKILL: no goodbye to clients), and resolves once it is gone. */
  kill(): Promise<void>;
}

/** A Redis server on a spare port that keeps nothing on disk, so a restart comes back empty. */
export async function ownRedis(): Promise<OwnRedis> {
  const port = await sparePort();
  let child: ChildProcess | undefined;
  const redis: OwnRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: 'ignore',
      });
      await waitForPort(port);
    },
    async kill() {
      if (!child) return;
      const gone = exited(child);
      child.kill('SIGKILL');
      await gone;
      child = undefined;
    },
  };
  await redis.start();
  return redis;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A sharegraph server running as its own process (`src/main.ts` through tsx). */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with its exit code (or the signal's name) once it has exited. */
  exited: Promise<number | string>;
  /** Sends SIGKILL if it still runs (for cleanup after a failed test). */
  kill(): Promise<void>;
}

/**
 * Spawns `node --import tsx src/main.ts` with `env` (on top of PATH, HOME and LOG_LEVEL=info) and
 * a spare PORT, and resolves once it logged that it is ready; rejects with its output if it exits
 * first.
 */
export async function startServerProcess(env: Record<string, string>, port?: number): Promise<ServerProcess> {
  const listenOn = port ?? (await sparePort());
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      HOST: '127.0.0.1',
      PORT: String(listenOn),
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const done = exited(child);
  const url = `http://127.0.0.1:${listenOn}`;
  const proc: ServerProcess = {
    child,
    url,
    output: () => output,
    exited: done,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await done;
    },
  };
  const deadline = Date.now() + 30_000;
  while (true) {
    if (output.includes('sharegraph ready')) return proc;
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await proc.kill();
      throw new Error(`the server process did not start (exit code ${child.exitCode ?? child.signalCode}):\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The PgBouncer binary the pooling test starts its own PgBouncer with. */
export const PGBOUNCER = '/usr/sbin/pgbouncer';

/** Whether the pooling test can start PgBouncer; in CI it must (a missing binary fails there). */
export function pgbouncerAvailable(): boolean {
  const ok = existsSync(PGBOUNCER);
  if (!ok && process.env.CI) throw new Error(`CI needs ${PGBOUNCER} (apt-get install pgbouncer)`);
  return ok;
}

/** A PgBouncer of the test's own in front of the PostgreSQL of `upstreamUrl`. */
export interface OwnPgBouncer {
  port: number;
  /** `upstreamUrl` with PgBouncer's address in place of PostgreSQL's. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts PgBouncer in transaction mode (the usual way PostgreSQL is pooled, and the one that
 * breaks session state) on a spare port, trusting every user like the PostgreSQL behind it.
 */
export async function ownPgBouncer(upstreamUrl: string): Promise<OwnPgBouncer> {
  const upstream = new URL(upstreamUrl);
  const port = await sparePort();
  const dir = mkdtempSync(join(tmpdir(), 'sharegraph-pgbouncer-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'userlist.txt'), `"${upstream.username || 'postgres'}" ""\n`);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${upstream.hostname} port=${upstream.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      'max_client_conn = 500',
      'default_pool_size = 8',
      // Each statement outside a transaction may land on another server session, as under load.
      'server_round_robin = 1',
      'ignore_startup_parameters = extra_float_digits,options',
    ].join('\n'),
  );
  for (const file of ['userlist.txt', 'pgbouncer.ini']) chmodSync(join(dir, file), 0o644);
  // PgBouncer refuses to run as root: it drops to the postgres user then.
  const asRoot = process.getuid?.() === 0;
  const child = spawn(PGBOUNCER, [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], {
    stdio: 'ignore',
  });
  await waitForPort(port);
  const url = new URL(upstreamUrl);
  url.host = `127.0.0.1:${port}`;
  return {
    port,
    url: url.toString(),
    async stop() {
      const gone = exited(child);
      child.kill('SIGTERM');
      await gone;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A GraphQL call over real HTTP to a server process; fails on errors. */
export async function call<R, V>(url: string, doc: TypedDocumentString<R, V>, variables: V, token: string): Promise<R> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: doc.toString(), variables }),
  });
  const body = (await res.json()) as { data?: R; errors?: unknown };
  if (!res.ok || body.errors || !body.data) throw new Error(`${res.status}: ${JSON.stringify(body)}`);
  return body.data;
}

/** A port whose Cluster bus port (port + 10000) is free too. */
async function sparePortWithBus(): Promise<number> {
  for (;;) {
    const port = await sparePort();
    if (port + 10_000 > 65_535) continue;
    const busFree = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port + 10_000, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (busFree) return port;
  }
}

/** Runs redis-cli with `args`; resolves with its output, rejects when it exits non-zero. */
export function redisCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(REDIS_SERVER.replace(/redis-server$/, 'redis-cli'), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`redis-cli ${args.join(' ')}: ${out}`)),
    );
  });
}

/** Redis servers of the test's own, stopped together. */
export interface OwnRedisGroup {
  ports: number[];
  /** `host:port,…` of the servers, as REDIS_CLUSTER_NODES or REDIS_SENTINELS lists them. */
  list: string;
  stop(): Promise<void>;
}

function startRedis(args: string[]): ChildProcess {
  return spawn(REDIS_SERVER, [...args, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
}

async function stopAll(children: ChildProcess[], dir: string) {
  await Promise.all(
    children.map((child) => {
      const gone = exited(child);
      child.kill('SIGKILL');
      return gone;
    }),
  );
  rmSync(dir, { recursive: true, force: true });
}

/** A Redis Cluster of three masters (no replicas) on spare ports, its slots all assigned. */
export async function ownRedisCluster(): Promise<OwnRedisGroup> {
  const dir = mkdtempSync(join(tmpdir(), 'sharegraph-cluster-'));
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await sparePortWithBus();
    ports.push(port);
    children.push(
      startRedis([
        '--port',
        String(port),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--dir',
        dir,
      ]),
    );
  }
  try {
    for (const port of ports) await waitForPort(port);
    await redisCli([
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    const deadline = Date.now() + 20_000;
    for (const port of ports) {
      while (!(await redisCli(['-p', String(port), 'cluster', 'info'])).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error('the Redis Cluster did not become ok');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await stopAll(children, dir);
    throw err;
  }
  return {
    ports,
    list: ports.map((p) => `127.0.0.1:${p}`).join(','),
    stop: () => stopAll(children, dir),
  };
}

/** A master, a replica of it, and one Sentinel watching them (quorum 1), on spare ports. */
export interface OwnSentinel extends OwnRedisGroup {
  /** The Sentinel's `host:port`, as REDIS_SENTINELS lists it. */
  list: string;
  name: string;
  /** The port of the server the Sentinel names master now. */
  masterPort(): Promise<number>;
  /** Fails the master over to the replica (SENTINEL FAILOVER: the old master, still up, becomes a replica). */
  failover(): Promise<void>;
}

export async function ownSentinel(): Promise<OwnSentinel> {
  const dir = mkdtempSync(join(tmpdir(), 'sharegraph-sentinel-'));
  const [master, replica, sentinel] = [await sparePort(), await sparePort(), await sparePort()];
  const name = 'sharegraph';
  const children = [
    startRedis(['--port', String(master), '--dir', dir]),
    startRedis(['--port', String(replica), '--dir', dir, '--replicaof', '127.0.0.1', String(master)]),
  ];
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${sentinel}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${master} 1`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 5000`,
      `sentinel parallel-syncs ${name} 1`,
    ].join('\n'),
  );
  children.push(spawn(REDIS_SERVER, [conf, '--sentinel'], { stdio: 'ignore' }));
  const masterPort = async () =>
    Number((await redisCli(['-p', String(sentinel), 'sentinel', 'get-master-addr-by-name', name])).split('\n')[1]);
  try {
    for (const port of [master, replica, sentinel]) await waitForPort(port);
    // Ready once the replica is in sync and the Sentinel knows it (it could not fail over otherwise).
    const deadline = Date.now() + 30_000;
    while (
      !(await redisCli(['-p', String(replica), 'info', 'replication'])).includes('master_link_status:up') ||
      !(await redisCli(['-p', String(sentinel), 'sentinel', 'replicas', name])).includes(String(replica))
    ) {
      if (Date.now() > deadline) throw new Error('the Sentinel setup did not become ready');
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await stopAll(children, dir);
    throw err;
  }
  return {
    ports: [master, replica, sentinel],
    list: `127.0.0.1:${sentinel}`,
    name,
    masterPort,
    async failover() {
      const before = await masterPort();
      const deadline = Date.now() + 30_000;
      // Refused (NOGOODSLAVE) until the Sentinel has seen the replica answer: tried again.
      while (!(await redisCli(['-p', String(sentinel), 'sentinel', 'failover', name]).catch(() => '')).includes('OK')) {
        if (Date.now() > deadline) throw new Error('the Sentinel refused to fail over');
        await new Promise((r) => setTimeout(r, 300));
      }
      while ((await masterPort()) === before) {
        if (Date.now() > deadline) throw new Error('the failover did not complete');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop: () => stopAll(children, dir),
  };
}
