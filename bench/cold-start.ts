import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, sparePort, waitReady } from './lib/cluster.ts';
import { type Bench, type Figure, median } from './lib/figure.ts';

/**
 * Starts `npm start` exactly as a newcomer would (embedded PGlite under DATA_DIR, in-process
 * pub/sub, no other configuration) and returns how long it took until /readyz answered 200.
 * npm runs in its own process group so stopping it stops tsx and the server under it.
 */
async function timeToReady(dataDir: string): Promise<number> {
  const port = await sparePort();
  const started = performance.now();
  const child: ChildProcess = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), DATA_DIR: dataDir },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  try {
    await waitReady(`http://127.0.0.1:${port}/readyz`, child, 60_000);
    return performance.now() - started;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${stderr}`);
  } finally {
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => process.kill(-(child.pid as number), 'SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      process.kill(-(child.pid as number), 'SIGTERM');
    });
  }
}

/** Cold start of the embedded default to ready: a first start (migrate, seed) and warm restarts. */
export const bench: Bench = {
  name: 'cold-start',
  description:
    '`npm start` on the embedded default to /readyz: first start (fresh DATA_DIR: migrate + seed) and restarts',
  async run({ runs }) {
    const first: number[] = [];
    const restart: number[] = [];
    for (let i = 0; i < runs; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'sharegraph-cold-'));
      try {
        first.push(await timeToReady(dir));
        restart.push(await timeToReady(dir));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const figure = (metric: string, values: number[], note: string): Figure => {
      const value = median(values) / 1000;
      return {
        bench: 'cold-start',
        metric,
        value,
        unit: 's',
        runs: values.map((v) => v / 1000),
        target: '< 3 s',
        met: value < 3,
        note,
      };
    };
    return [
      figure('first start to ready', first, 'fresh DATA_DIR: PGlite init, migrations, demo seed; from spawning npm'),
      figure('restart to ready', restart, 'same DATA_DIR, already migrated and seeded; from spawning npm'),
    ];
  },
};

export default bench;
