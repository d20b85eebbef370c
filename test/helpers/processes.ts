import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

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
