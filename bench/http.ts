import autocannon from 'autocannon';
import { openDatabase } from '../src/db/client.ts';
import { gql } from './lib/client.ts';
import { profileArgs, sparePort, spawnServer, startCluster, stopChild, waitReady } from './lib/cluster.ts';
import { type CpuSpent, cpuMeter } from './lib/cpu.ts';
import { type Bench, type Figure, median } from './lib/figure.ts';
import { PacedGenerator, type PacedLoad, type PacedTarget } from './lib/paced.ts';
import { BenchList, type FixtureActor, seedCountFixture } from './lib/round-trips.ts';
import { sleep } from './lib/ws-fixtures.ts';

const CONNECTIONS = 50;

/** One autocannon run, reduced to what the table shows. */
export interface Load {
  rps: number;
  p50: number;
  p99: number;
  /** Requests answered. */
  total: number;
}

export interface Target {
  url: string;
  body: string;
  headers: Record<string, string>;
  /** The exact answer every request must get; any other counts as a failure. */
  expectBody: string;
}

/**
 * Runs autocannon against `target` for `seconds`, flat out. Throws when any request failed, got a non-2xx, or got another body than the expected
 * one: a figure with failures in it measures something else.
 */
export async function load(target: Target, seconds: number): Promise<Load> {
  const result = await autocannon({
    url: `${target.url}/graphql`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: target.headers,
    body: target.body,
    expectBody: target.expectBody,
  });
  const failed = result.errors + result.timeouts + result.non2xx + result.mismatches;
  if (failed) {
    throw new Error(
      `${target.url}: ${failed} failed requests (errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx}, mismatches ${result.mismatches})`,
    );
  }
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
  };
}

/** The bare graphql-yoga hello world (bench/baseline-server.mjs) in its own process. */
export async function startBaseline() {
  const port = await sparePort();
  const child = spawnServer({ NODE_ENV: 'production', PORT: String(port) }, profileArgs(), 'bench/baseline-server.mjs');
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/graphql?query=%7Bhello%7D`, child);
  const body = JSON.stringify({ query: '{ hello }' });
  const headers = { 'content-type': 'application/json' };
  const expectBody = await (await fetch(`${url}/graphql`, { method: 'POST', headers, body })).text();
  return { target: { url, body, headers, expectBody }, pid: child.pid as number, close: () => stopChild(child) };
}

/**
 * Settings for every sharegraph server a bench starts, from BENCH_SERVER_ENV (a JSON object of
 * variables, e.g. `{"DATABASE_POOL_MAX":"20"}`): a setting measured against its default.
 */
export function serverEnv(): Record<string, string> {
  const text = process.env.BENCH_SERVER_ENV;
  if (!text) return {};
  const env: unknown = JSON.parse(text);
  if (typeof env !== 'object' || env === null || Object.values(env).some((v) => typeof v !== 'string'))
    throw new Error('BENCH_SERVER_ENV must be a JSON object of strings');
  return env as Record<string, string>;
}

/**
 * One sharegraph instance (production mode, PostgreSQL, Redis) with the fixture: a
 * closed workspace's list of 50 items, each with its last change and last update, that the
 * viewer reads through a group share.
 */
export async function startSharegraph(env: Record<string, string> = {}, root?: string) {
  const cluster = await startCluster({
    instances: 1,
    nodeArgs: profileArgs(),
    env: { ...env, ...serverEnv() },
    ...(root ? { root } : {}),
  });
  const url = cluster.urls[0] as string;
  const database = await openDatabase({ databaseUrl: cluster.databaseUrl });
  try {
    const actor: FixtureActor = {
      ok: async (doc, variables, as) =>
        gql(url, doc.toString(), variables as Record<string, unknown>, as ? await cluster.token(as) : null),
      db: database.prisma,
    };
    const fixture = await seedCountFixture(actor, 50, 'http');
    // Statistics, as a database in service has them: without, the plans of the first runs were
    // made on none, and autovacuum's ANALYZE changed them in the middle of the runs.
    await database.prisma.$executeRawUnsafe('ANALYZE');
    const body = JSON.stringify({ query: BenchList.toString(), variables: { id: fixture.listId } });
    const headers = {
      'content-type': 'application/json',
      authorization: `Bearer ${await cluster.token(fixture.viewer)}`,
    };
    const expectBody = await (await fetch(`${url}/graphql`, { method: 'POST', headers, body })).text();
    const edges = (JSON.parse(expectBody) as { data?: { list?: { items: { edges: unknown[] } } } }).data?.list?.items
      .edges;
    if (edges?.length !== 50) throw new Error(`the list query did not answer 50 items: ${expectBody.slice(0, 500)}`);
    const meter = await cpuMeter(cluster.pids[0] as number, cluster.databaseUrl);
    return {
      target: { url, body, headers, expectBody },
      cluster,
      fixture,
      meter,
      close: async () => {
        await meter.close();
        await cluster.close();
      },
    };
  } finally {
    await database.close();
  }
}

export const DRAIN_MS = 2_000;

export const round3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * A paced run that is not counted, before the counted ones of a server: the saturated runs
 * before it may leave work behind, and the generator opens its connections: without it the first
 * paced run after them measured that, not the server.
 */
async function pacedWarmUp(paced: PacedGenerator, target: PacedTarget, rate: number) {
  await paced.run(target, 3, rate, CONNECTIONS);
}

const figure = (metric: string, runs: number[], unit: string, extra: Partial<Figure> = {}): Figure => ({
  bench: 'http',
  metric,
  value: median(runs),
  unit,
  runs,
  ...extra,
});

/** Every run of one server: flat out, then at half its saturating rate. */
interface Series {
  full: Load[];
  half: PacedLoad[];
  halfRate: number;
  /** CPU of the server and of PostgreSQL over each saturated run. */
  cpu: CpuSpent[];
}

/**
 * The figures of one sharegraph configuration. `prefix` names it in the table; the targets
 * apply to the default configuration (response cache on) and are shown, met or not, for both.
 */
function seriesFigures(
  prefix: string,
  s: Series,
  base: Load[],
  note: string,
  targets: { ratio: number; serverMs?: number; postgresMs?: number } = { ratio: 0.35 },
): Figure[] {
  const ratios = s.full.map((r, i) => r.rps / (base[i] as Load).rps);
  const ratio = figure(`${prefix} ratio to baseline`, ratios, '×', { target: `≥ ${targets.ratio}` });
  const perRequest = (cpu: (c: CpuSpent) => number, target: number | undefined, what: string, note: string) => {
    const f = figure(
      `${prefix} ${what} CPU per request`,
      s.cpu.map((c, i) => round3((cpu(c) * 1000) / (s.full[i] as Load).total)),
      'ms',
      { note },
    );
    return target === undefined ? f : { ...f, target: `≤ ${target} ms`, met: f.value <= target };
  };
  const p99 = figure(
    `${prefix} p99 at half rate`,
    s.half.map((r) => r.p99),
    'ms',
    { target: '< 20 ms' },
  );
  return [
    figure(
      `${prefix} req/s`,
      s.full.map((r) => r.rps),
      'req/s',
      { note },
    ),
    perRequest(
      (c) => c.server,
      targets.serverMs,
      'server',
      'user + system time of the server process over each saturated run, from /proc, per request answered',
    ),
    perRequest(
      (c) => c.postgres,
      targets.postgresMs,
      'PostgreSQL',
      "the same, of the PostgreSQL backends connected to the bench's database",
    ),
    figure(
      `${prefix} p50 (saturated)`,
      s.full.map((r) => r.p50),
      'ms',
    ),
    figure(
      `${prefix} p99 (saturated)`,
      s.full.map((r) => r.p99),
      'ms',
    ),
    { ...ratio, met: ratio.value >= targets.ratio },
    figure(
      `${prefix} p50 at half rate`,
      s.half.map((r) => r.p50),
      'ms',
      {
        note: `${s.halfRate} req/s (half the saturating median), evenly paced, latency from when each request was due (bench/lib/paced.ts)`,
      },
    ),
    { ...p99, met: p99.value < 20 },
  ];
}

/**
 * HTTP throughput and latency of the authorized list query against a bare yoga, same run: the
 * default server (response cache on: after the first request every answer is a kept one) and the
 * same server with RESPONSE_CACHE=false, where every request executes (access decision, SQL,
 * GraphQL execution).
 */
export const bench: Bench = {
  name: 'http',
  description:
    'Authorized list query (50 items, last update, author; group-share viewer) vs bare graphql-yoga hello world, autocannon, 50 connections; response cache on (default) and off',
  async run({ runs, quick }) {
    const seconds = quick ? 3 : 10;
    const baseline = await startBaseline();
    const servers: { close(): Promise<void> }[] = [baseline];
    const generator = PacedGenerator.start();
    try {
      const cached = await startSharegraph();
      servers.push(cached);
      const executed = await startSharegraph({ RESPONSE_CACHE: 'false' });
      servers.push(executed);
      // Warm every server up (JIT, connection pools, the kept answer) before anything counts.
      for (const s of [baseline, cached, executed]) await load(s.target, 2);
      const base: Load[] = [];
      const series = new Map([
        [cached, { full: [], half: [], halfRate: 0, cpu: [] } as Series],
        [executed, { full: [], half: [], halfRate: 0, cpu: [] } as Series],
      ]);
      // Interleaved, so a noisy moment on this shared machine hits every side alike.
      // Each run starts once the one before has drained: the server that executes every request
      // still answers what was queued when autocannon stopped (about 50 requests, half a second
      // of both cores), which would slow the next run, the baseline's among them.
      for (let i = 0; i < runs; i++) {
        base.push(await load(baseline.target, seconds));
        await sleep(DRAIN_MS);
        for (const [server, s] of series) {
          const stop = await server.meter.start();
          s.full.push(await load(server.target, seconds));
          s.cpu.push(await stop());
          await sleep(DRAIN_MS);
        }
      }
      for (const [server, s] of series) {
        s.halfRate = Math.max(1, Math.round(median(s.full.map((r) => r.rps)) / 2));
        const paced = { ...server.target, url: `${server.target.url}/graphql` };
        await pacedWarmUp(generator, paced, s.halfRate);
        for (let i = 0; i < runs; i++) s.half.push(await generator.run(paced, seconds, s.halfRate, CONNECTIONS));
      }
      // The bare yoga at half its own saturating rate, like the list query: what the generator,
      // the loopback and the machine's own stalls add to a p99 at that load.
      const floorRate = Math.max(1, Math.round(median(base.map((r) => r.rps)) / 2));
      const bareTarget = { ...baseline.target, url: `${baseline.target.url}/graphql` };
      const floor: PacedLoad[] = [];
      await pacedWarmUp(generator, bareTarget, floorRate);
      for (let i = 0; i < runs; i++) floor.push(await generator.run(bareTarget, seconds, floorRate, CONNECTIONS));
      const setup = `${CONNECTIONS} connections, ${seconds} s per run, server and autocannon on the same 2 cores`;
      return [
        figure(
          'baseline req/s',
          base.map((r) => r.rps),
          'req/s',
          { note: `bare graphql-yoga { hello }; ${setup}` },
        ),
        figure(
          'baseline p99',
          base.map((r) => r.p99),
          'ms',
        ),
        figure(
          'baseline p99 at half rate',
          floor.map((r) => r.p99),
          'ms',
          {
            note: `${floorRate} req/s (half its saturating median), evenly paced: what the generator and the machine add to a p99 at that load`,
          },
        ),
        ...seriesFigures(
          'list query',
          series.get(cached) as Series,
          base,
          `default configuration (response cache on); one instance, PostgreSQL + Redis, production mode; ${setup}`,
        ),
        ...seriesFigures(
          'list query, cache off',
          series.get(executed) as Series,
          base,
          'RESPONSE_CACHE=false: every request authenticates, decides access, runs its SQL and executes',
          { ratio: 0.12, serverMs: 2, postgresMs: 1 },
        ),
      ];
    } finally {
      generator.close();
      for (const s of servers.reverse()) await s.close();
    }
  },
};

export default bench;
