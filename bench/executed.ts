import { DRAIN_MS, type Load, load, round3, startBaseline, startSharegraph } from './http.ts';
import type { CpuSpent } from './lib/cpu.ts';
import { type Bench, type Figure, median } from './lib/figure.ts';
import { cpuSeconds, sleep } from './lib/ws-fixtures.ts';

const figure = (metric: string, runs: number[], unit: string, extra: Partial<Figure> = {}): Figure => ({
  bench: 'executed',
  metric,
  value: median(runs),
  unit,
  runs,
  ...extra,
});

/** The runs of one sharegraph server: its loads and the CPU they cost. */
interface Series {
  full: Load[];
  cpu: CpuSpent[];
}

/**
 * The `http` bench's cache-off rows alone (issue 18's executed list query), saturated runs only,
 * interleaved with the bare yoga: the quick measure of a change to the execution path, where the
 * server's CPU per request is the figure to trust on a shared machine, and its ratio to the bare
 * yoga's own CPU per request in the same pair of runs steadier still.
 *
 * With BENCH_COMPARE_ROOT set to another checkout (say a worktree of main, after its `npm ci`),
 * that checkout's server runs too, interleaved (bare yoga, this one, the other), on its own
 * fresh database with the same fixture: a before/after measured in one run.
 */
export const bench: Bench = {
  name: 'executed',
  description:
    'The list query with RESPONSE_CACHE=false (every request executes) vs bare graphql-yoga, autocannon, 50 connections: req/s, ratio, server and PostgreSQL CPU per request (and another checkout, BENCH_COMPARE_ROOT)',
  async run({ runs, quick }) {
    const seconds = quick ? 3 : 10;
    const compareRoot = process.env.BENCH_COMPARE_ROOT;
    const baseline = await startBaseline();
    const servers: { close(): Promise<void> }[] = [baseline];
    try {
      const executed = await startSharegraph({ RESPONSE_CACHE: 'false' });
      servers.push(executed);
      const other = compareRoot ? await startSharegraph({ RESPONSE_CACHE: 'false' }, compareRoot) : null;
      if (other) servers.push(other);
      const measured = other ? [executed, other] : [executed];
      for (const s of [baseline, ...measured]) await load(s.target, 2);
      const base: Load[] = [];
      const baseCpu: number[] = [];
      const series = measured.map((): Series => ({ full: [], cpu: [] }));
      for (let i = 0; i < runs; i++) {
        const baseStarted = cpuSeconds(baseline.pid);
        base.push(await load(baseline.target, seconds));
        baseCpu.push(cpuSeconds(baseline.pid) - baseStarted);
        await sleep(DRAIN_MS);
        for (const [n, server] of measured.entries()) {
          const s = series[n] as Series;
          const stop = await server.meter.start();
          s.full.push(await load(server.target, seconds));
          s.cpu.push(await stop());
          await sleep(DRAIN_MS);
        }
      }
      const baseMs = baseCpu.map((c, i) => round3((c * 1000) / (base[i] as Load).total));
      const rows = (s: Series, prefix: string): Figure[] => {
        const perRequest = (spent: (c: CpuSpent) => number) =>
          s.cpu.map((c, i) => round3((spent(c) * 1000) / (s.full[i] as Load).total));
        const ratio = figure(
          `${prefix}ratio to baseline, cache off`,
          s.full.map((r, i) => r.rps / (base[i] as Load).rps),
          '×',
          { target: '≥ 0.12' },
        );
        const server = figure(
          `${prefix}server CPU per request, cache off`,
          perRequest((c) => c.server),
          'ms',
          {
            target: '≤ 2 ms',
          },
        );
        const postgres = figure(
          `${prefix}PostgreSQL CPU per request, cache off`,
          perRequest((c) => c.postgres),
          'ms',
          {
            target: '≤ 1 ms',
          },
        );
        return [
          figure(
            `${prefix}list query req/s, cache off`,
            s.full.map((r) => r.rps),
            'req/s',
          ),
          { ...ratio, met: ratio.value >= 0.12 },
          { ...server, met: server.value <= 2 },
          figure(
            `${prefix}server CPU per request, cache off, in bare yoga requests`,
            server.runs.map((ms, i) => Math.round((ms / (baseMs[i] as number)) * 10) / 10),
            '×',
            { note: 'each run divided by the bare yoga of the same round: steadier than either on a busy machine' },
          ),
          { ...postgres, met: postgres.value <= 1 },
          figure(
            `${prefix}list query p99 (saturated), cache off`,
            s.full.map((r) => r.p99),
            'ms',
            { note: `p50 ${median(s.full.map((r) => r.p50))} ms` },
          ),
        ];
      };
      return [
        figure(
          'baseline req/s',
          base.map((r) => r.rps),
          'req/s',
        ),
        figure('baseline server CPU per request', baseMs, 'ms', {
          note: "the bare yoga's, in the same run: what the machine's state does to a CPU figure",
        }),
        ...rows(series[0] as Series, ''),
        ...(other ? rows(series[1] as Series, `${compareRoot}: `) : []),
      ];
    } finally {
      for (const s of servers.reverse()) await s.close();
    }
  },
};

export default bench;
