import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, sparePort, waitReady } from './lib/cluster.ts';
import { type Bench, type Figure, median } from './lib/figure.ts';

/**
 * What one start took, whether its database was copied from the prepared template, and its
 * phases as src/main.ts logs them (ms since the server's process began).
 */
interface Start {
  ms: number;
  fromTemplate: boolean;
  phases: Record<string, number>;
}

/**
 * Starts `npm start` exactly as a newcomer would (embedded PGlite under DATA_DIR, in-process
 * pub/sub, no other configuration) and returns how long it took until /readyz answered 200.
 * npm runs in its own process group so stopping it stops the server under it.
 */
async function timeToReady(dataDir: string): Promise<Start> {
  const port = await sparePort();
  const started = performance.now();
  const child: ChildProcess = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk;
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  try {
    await waitReady(`http://127.0.0.1:${port}/readyz`, child, 60_000);
    const ms = performance.now() - started;
    // The ready line may still be on its way (pino writes asynchronously); the clock has stopped.
    for (let i = 0; i < 100 && !output.includes('sharegraph ready'); i++) await new Promise((r) => setTimeout(r, 20));
    const phases = /"startup":(\{[^}]*\})/.exec(output)?.[1];
    return {
      ms,
      fromTemplate: output.includes('database copied from the prepared template'),
      phases: phases ? (JSON.parse(phases) as Record<string, number>) : {},
    };
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${output}`);
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

/**
 * Cold start of the embedded default to ready: a first start (fresh DATA_DIR, which the prepared
 * template fills: see src/db/pglite-template.ts) and a restart on the same DATA_DIR.
 */
export const bench: Bench = {
  name: 'cold-start',
  description:
    '`npm start` on the embedded default to /readyz: first start (fresh DATA_DIR, copied from the prepared template) and restarts',
  async run({ runs }) {
    const first: Start[] = [];
    const restart: Start[] = [];
    for (let i = 0; i < runs; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'sharegraph-cold-'));
      try {
        first.push(await timeToReady(dir));
        restart.push(await timeToReady(dir));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const figure = (metric: string, starts: Start[], what: string): Figure => {
      const values = starts.map((s) => s.ms);
      const value = median(values) / 1000;
      const names = Object.keys(starts[0]?.phases ?? {});
      const phases = names.map((name) => `${name} ${median(starts.map((s) => s.phases[name] ?? Number.NaN))}`);
      const note = `${what}; phases in the server, ms since its process began (median): ${phases.join(', ')}`;
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
      figure(
        'first start to ready',
        first,
        `fresh DATA_DIR, copied from the template prepared at npm ci (migrated, demo seed) in ` +
          `${first.filter((s) => s.fromTemplate).length} of ${first.length} runs, PGlite's initdb in the others; from spawning npm`,
      ),
      figure('restart to ready', restart, 'same DATA_DIR, already migrated and seeded; from spawning npm'),
    ];
  },
};

export default bench;
