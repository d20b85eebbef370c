import { DRAIN_MS, type Load, load, round3, startBaseline, startSharegraph } from './http.ts';
import type { CpuSpent } from './lib/cpu.ts';
import { type Bench, type Figure, median } from './lib/figure.ts';
import { sleep } from './lib/ws-fixtures.ts';

const figure = (metric: string, runs: number[], unit: string, extra: Partial<Figure> = {}): Figure => ({
  bench: 'executed',
  metric,
  value: median(runs),
  unit,
  runs,
  ...extra,
});

/**
 * The `http` bench's cache-off rows alone (issue 18's executed list query), saturated runs only,
 * interleaved with the bare yoga: the quick measure of a change to the execution path, where the
 * server's CPU per request is the figure to trust on a shared machine.
 */
export const bench: Bench = {
  name: 'executed',
  description:
    'The list query with RESPONSE_CACHE=false (every request executes) vs bare graphql-yoga, autocannon, 50 connections: req/s, ratio, server and PostgreSQL CPU per request',
  async run({ runs, quick }) {
    const seconds = quick ? 3 : 10;
    const baseline = await startBaseline();
    const servers: { close(): Promise<void> }[] = [baseline];
    try {
      const executed = await startSharegraph({ RESPONSE_CACHE: 'false' });
      servers.push(executed);
      for (const s of [baseline, executed]) await load(s.target, 2);
      const base: Load[] = [];
      const full: Load[] = [];
      const cpu: CpuSpent[] = [];
      for (let i = 0; i < runs; i++) {
        base.push(await load(baseline.target, seconds));
        await sleep(DRAIN_MS);
        const stop = await executed.meter.start();
        full.push(await load(executed.target, seconds));
        cpu.push(await stop());
        await sleep(DRAIN_MS);
      }
      const perRequest = (spent: (c: CpuSpent) => number) =>
        cpu.map((c, i) => round3((spent(c) * 1000) / (full[i] as Load).total));
      const ratio = figure(
        'ratio to baseline, cache off',
        full.map((r, i) => r.rps / (base[i] as Load).rps),
        '×',
        { target: '≥ 0.12' },
      );
      const server = figure(
        'server CPU per request, cache off',
        perRequest((c) => c.server),
        'ms',
        {
          target: '≤ 2 ms',
        },
      );
      const postgres = figure(
        'PostgreSQL CPU per request, cache off',
        perRequest((c) => c.postgres),
        'ms',
        {
          target: '≤ 1 ms',
        },
      );
      return [
        figure(
          'baseline req/s',
          base.map((r) => r.rps),
          'req/s',
        ),
        figure(
          'list query req/s, cache off',
          full.map((r) => r.rps),
          'req/s',
        ),
        { ...ratio, met: ratio.value >= 0.12 },
        { ...server, met: server.value <= 2 },
        { ...postgres, met: postgres.value <= 1 },
        figure(
          'list query p50 / p99 (saturated), cache off',
          full.map((r) => r.p99),
          'ms',
          { note: `p50 ${median(full.map((r) => r.p50))} ms` },
        ),
      ];
    } finally {
      for (const s of servers.reverse()) await s.close();
    }
  },
};

export default bench;
