import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import type { Bench, Figure } from './lib/figure.ts';

/**
 * `npm run bench [-- <name>…] [--quick] [--runs N]`: runs the benches (all, or those named),
 * prints one table, and writes bench/results/<timestamp>.json and bench/results/latest.json.
 * Each module exports a `Bench` (bench/lib/figure.ts) as its default export; a module listed
 * here whose file does not exist yet is skipped with a note.
 */
const MODULES = [
  'http',
  'executed',
  'writes',
  'db-round-trips',
  'cold-start',
  'live-edits',
  'presence',
  'websockets',
  'redis-outage',
  'access-history',
];

/** The bench module `name` (bench/<name>.ts), or null when that file does not exist (yet). */
async function load(name: string): Promise<Bench | null> {
  const file = new URL(`./${name}.ts`, import.meta.url);
  if (!existsSync(file)) return null;
  const mod = (await import(file.href)) as { default?: Bench; bench?: Bench };
  const bench = mod.default ?? mod.bench;
  if (!bench) throw new Error(`bench/${name}.ts exports no Bench`);
  return bench;
}

function parseArgs(argv: string[]) {
  const names: string[] = [];
  let quick = false;
  let runs: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--quick') quick = true;
    else if (arg === '--runs') runs = Number(argv[++i]);
    else names.push(arg);
  }
  const unknown = names.filter((n) => !MODULES.includes(n));
  if (unknown.length) throw new Error(`unknown bench ${unknown.join(', ')}; known: ${MODULES.join(', ')}`);
  return { names: names.length ? names : MODULES, quick, runs: runs ?? (quick ? 3 : 5) };
}

function format(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function printTable(figures: Figure[]) {
  const rows = [
    ['bench', 'metric', 'median', 'unit', 'target', 'met', 'runs'],
    ...figures.map((f) => [
      f.bench,
      f.metric,
      format(f.value),
      f.unit,
      f.target ?? '',
      f.met === undefined ? '' : f.met ? 'yes' : 'NO',
      f.runs.map(format).join(' '),
    ]),
  ];
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] as string).length))) ?? [];
  const line = (r: string[]) => r.map((cell, c) => cell.padEnd(widths[c] as number)).join('  ');
  process.stdout.write(`\n${line(rows[0] as string[])}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of rows.slice(1)) process.stdout.write(`${line(r)}\n`);
}

const { names, quick, runs } = parseArgs(process.argv.slice(2));
const started = new Date();
const figures: Figure[] = [];
const failures: { bench: string; error: string }[] = [];
for (const name of names) {
  let bench: Bench | null;
  try {
    bench = await load(name);
  } catch (err) {
    failures.push({ bench: name, error: `could not load: ${(err as Error).message}` });
    continue;
  }
  if (!bench) {
    process.stderr.write(`bench ${name}: bench/${name}.ts does not exist; skipped\n`);
    continue;
  }
  process.stderr.write(`bench ${name}: ${bench.description}\n`);
  const t0 = performance.now();
  try {
    const out = await bench.run({ runs, quick });
    figures.push(...out);
    process.stderr.write(`bench ${name}: done in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  } catch (err) {
    failures.push({ bench: name, error: (err as Error).stack ?? String(err) });
    process.stderr.write(`bench ${name}: FAILED ${(err as Error).message}\n`);
  }
}
printTable(figures);
for (const f of failures) process.stdout.write(`\nFAILED ${f.bench}: ${f.error}\n`);

const result = {
  startedAt: started.toISOString(),
  finishedAt: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? null, loadavgAtEnd: loadavg(), node: process.version },
  options: { names, quick, runs },
  figures,
  failures,
};
const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const json = `${JSON.stringify(result, null, 2)}\n`;
writeFileSync(new URL(`${started.toISOString().replace(/[:.]/g, '-')}.json`, dir), json);
writeFileSync(new URL('latest.json', dir), json);
process.exitCode = failures.length ? 1 : 0;
