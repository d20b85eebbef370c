import { openDatabase, POOL_MAX } from '../src/db/client.ts';
import { DRAIN_MS, type Load, load, round3, serverEnv, startBaseline, startSharegraph } from './http.ts';
import { gql, mutate } from './lib/client.ts';
import type { CpuSpent } from './lib/cpu.ts';
import { type Bench, type Figure, median } from './lib/figure.ts';
import {
  CREATE_ITEM,
  type Mutator,
  type MutatorClient,
  type MutatorRun,
  startMutator,
  UPDATE_ITEM,
} from './lib/mutator.ts';
import { type CountFixture, seedCountFixture } from './lib/round-trips.ts';
import { type WaitProfile, waitSampler } from './lib/waits.ts';
import { sleep } from './lib/ws-fixtures.ts';

const CONCURRENT = 16;

/** The connections the bench's server opens at most: its default, or BENCH_SERVER_ENV's. */
const poolMax = (): number => Number(serverEnv().DATABASE_POOL_MAX ?? POOL_MAX);

type Sharegraph = Awaited<ReturnType<typeof startSharegraph>>;

const figure = (metric: string, runs: number[], unit: string, extra: Partial<Figure> = {}): Figure => ({
  bench: 'writes',
  metric,
  value: median(runs),
  unit,
  runs,
  ...extra,
});

/**
 * Edits one item of another account's list at `rate` per second, each edit sent when it is due
 * (versions followed from the answers), until stopped; counts the edits that applied.
 */
function writer(url: string, token: string, item: { id: string; version: number }, rate: number) {
  let applied = 0;
  let failed: unknown = null;
  let running = true;
  const started = performance.now();
  const done = (async () => {
    for (let i = 0; running; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (!running) break;
      try {
        const data = await gql<{ updateItem: { __typename: string; item?: { version: number } } }>(
          url,
          UPDATE_ITEM,
          { input: { id: item.id, expectedVersion: item.version, patch: { title: `edit ${i}` } } },
          token,
        );
        if (!data.updateItem.item) throw new Error(JSON.stringify(data));
        item.version = data.updateItem.item.version;
        applied++;
      } catch (err) {
        failed = err;
        break;
      }
    }
  })();
  return {
    async stop(): Promise<number> {
      running = false;
      await done;
      if (failed) throw failed;
      return applied / ((performance.now() - started) / 1000);
    },
  };
}

/** How the 16 clients spread over lists: all on one list, or one list each. */
export type Layout = 'one list' | `${number} lists`;

/**
 * What `CONCURRENT` clients edit: for `one list`, an item each in the fixture's list; otherwise a
 * list each (made for the bench in the fixture's workspace) with an item in it.
 */
export async function clientsFor(server: Sharegraph, f: CountFixture, layout: Layout): Promise<MutatorClient[]> {
  const token = await server.cluster.token(f.owner);
  const clients: MutatorClient[] = [];
  for (let i = 0; i < CONCURRENT; i++) {
    let listId = f.listId;
    if (layout !== 'one list') {
      const made = await mutate<{ list: { id: string } }>(
        server.target.url,
        'createList',
        CREATE_LIST,
        { input: { workspaceId: f.workspaceId, name: `Edited by client ${i}`, kind: 'SHAREABLE' } },
        token,
      );
      listId = made.list.id;
    }
    const data = await gql<{ createItem: { item: { id: string; version: number } } }>(
      server.target.url,
      CREATE_ITEM,
      { input: { listId, title: `Edited by client ${i}`, fields: { n: i } } },
      token,
    );
    clients.push({ listId, itemId: data.createItem.item.id, version: data.createItem.item.version });
  }
  return clients;
}

const CREATE_LIST = `mutation BenchCreateList($input: CreateListInput!) {
  createList(input: $input) { __typename ... on CreateListPayload { list { id } } ... on Error { code message } }
}`;

interface MutationRun extends MutatorRun {
  cpu: CpuSpent;
  /** Audit rows written per mutation answered: 1 when every one was audited. */
  audited: number;
  /** List events recorded per mutation answered: 1 when every one was. */
  recorded: number;
  waits: WaitProfile;
}

/**
 * `clients` (`CONCURRENT` of them), each sending its next mutation when the last is answered, for
 * `seconds`, from a child process (`lib/mutator.ts`): updateItem on an item of its own (the
 * version followed from each answer) or createItem. Throws on any failed request or error answer;
 * counts the audit rows and list events written against the answers, and samples what the
 * PostgreSQL backends wait on meanwhile.
 */
export async function mutations(
  server: Sharegraph,
  generator: Mutator,
  f: CountFixture,
  kind: 'updateItem' | 'createItem',
  clients: MutatorClient[],
  seconds: number,
): Promise<MutationRun> {
  const database = await openDatabase({ databaseUrl: server.cluster.databaseUrl });
  const sampler = await waitSampler(server.cluster.databaseUrl, poolMax());
  try {
    const token = await server.cluster.token(f.owner);
    const action = { where: { action: kind === 'updateItem' ? 'item.update' : 'item.create' } };
    const events = { where: { kind: kind === 'updateItem' ? 'ITEM_UPDATED' : 'ITEM_CREATED' } };
    const auditsBefore = await database.prisma.auditEvent.count(action);
    const eventsBefore = await database.prisma.listEvent.count(events);
    const stop = await server.meter.start();
    const stopSampling = await sampler.start();
    const run = await generator.run({ url: `${server.target.url}/graphql`, token, kind, clients, seconds });
    const waits = await stopSampling();
    const cpu = await stop();
    // The versions the generator followed, for the next run.
    for (const [i, c] of run.clients.entries()) Object.assign(clients[i] as MutatorClient, c);
    const audits = (await database.prisma.auditEvent.count(action)) - auditsBefore;
    const recorded = (await database.prisma.listEvent.count(events)) - eventsBefore;
    return {
      ...run,
      rps: round3(run.rps),
      p50: round3(run.p50),
      p99: round3(run.p99),
      cpu,
      audited: round3(audits / run.total),
      recorded: round3(recorded / run.total),
      waits,
    };
  } finally {
    await sampler.close();
    await database.close();
  }
}

/** The list query flat out while another account's item is edited at 0, 10 and 50 per second. */
async function readsUnderWrites(server: Sharegraph, runs: number, seconds: number): Promise<Figure[]> {
  const baseline = await startBaseline();
  try {
    const actor = {
      ok: async (doc: { toString(): string }, variables: unknown, as?: string | null) =>
        gql(
          server.target.url,
          doc.toString(),
          variables as Record<string, unknown>,
          as ? await server.cluster.token(as) : null,
        ),
    };
    const database = await openDatabase({ databaseUrl: server.cluster.databaseUrl });
    let other: CountFixture;
    try {
      other = await seedCountFixture(
        { ...actor, db: database.prisma } as Parameters<typeof seedCountFixture>[0],
        10,
        'other',
      );
    } finally {
      await database.close();
    }
    const otherToken = await server.cluster.token(other.owner);
    // Its version goes on from run to run: the writer follows it from its answers.
    const edited = { id: other.itemId, version: 1 };
    for (const s of [baseline, server]) await load(s.target, 2);

    const rates = [0, 10, 50] as const;
    const reads = new Map<number, { load: Load[]; achieved: number[] }>(
      rates.map((r) => [r, { load: [], achieved: [] }]),
    );
    const base: Load[] = [];
    for (let i = 0; i < runs; i++) {
      base.push(await load(baseline.target, seconds));
      await sleep(DRAIN_MS);
      for (const rate of rates) {
        const w = rate ? writer(server.target.url, otherToken, edited, rate) : null;
        const l = await load(server.target, seconds);
        const achieved = w ? await w.stop() : 0;
        (reads.get(rate) as { load: Load[]; achieved: number[] }).load.push(l);
        (reads.get(rate) as { load: Load[]; achieved: number[] }).achieved.push(round3(achieved));
        await sleep(DRAIN_MS);
      }
    }

    const quiet = (reads.get(0) as { load: Load[] }).load;
    const figures: Figure[] = [
      figure(
        'baseline req/s',
        base.map((r) => r.rps),
        'req/s',
        { note: 'bare graphql-yoga { hello }, interleaved with the runs below' },
      ),
    ];
    for (const rate of rates) {
      const r = reads.get(rate) as { load: Load[]; achieved: number[] };
      const name = rate ? `list query under ${rate} writes/s on another account` : 'list query, no writes';
      figures.push(
        figure(
          `${name} req/s`,
          r.load.map((l) => l.rps),
          'req/s',
          rate
            ? {
                note: `updateItem on another account's list, paced; achieved ${r.achieved.join(' ')} /s; every answer checked unchanged`,
              }
            : { note: 'default configuration (response cache on), 50 connections, same run' },
        ),
        figure(
          `${name} p99`,
          r.load.map((l) => l.p99),
          'ms',
        ),
      );
      if (rate) {
        const ratios = r.load.map((l, i) => round3(l.rps / (quiet[i] as Load).rps));
        const f = figure(`${name}: ratio to no writes`, ratios, '×');
        figures.push(rate === 50 ? { ...f, target: '≥ 0.8', met: f.value >= 0.8 } : f);
      }
    }
    return figures;
  } finally {
    await baseline.close();
  }
}

const LAYOUTS: Layout[] = ['one list', `${CONCURRENT} lists`];
const KINDS = ['updateItem', 'createItem'] as const;

/** Averages of a wait profile's entries, as one line for a figure's note. */
function waitsNote(runs: MutationRun[]): string {
  const keys = new Set(runs.flatMap((r) => Object.keys(r.waits.active)));
  const active = [...keys]
    .map((k) => `${k} ${round3(median(runs.map((r) => r.waits.active[k] ?? 0)))}`)
    .sort()
    .join(', ');
  const tables = new Set(runs.flatMap((r) => Object.keys(r.waits.rowLockWaits)));
  const locks = [...tables]
    .map((t) => `${t} ${round3(median(runs.map((r) => r.waits.rowLockWaits[t] ?? 0)))}`)
    .join(', ');
  return `backends open ${round3(median(runs.map((r) => r.waits.backends)))}; at most ${Math.max(...runs.map((r) => r.waits.activeMax))} running a statement at once, ${poolMax()} or more in ${Math.round(median(runs.map((r) => r.waits.poolFull)) * 100)} % of samples; running a statement, by wait: ${active || 'none'}; waiting for a row lock, by table: ${locks || 'none'}`;
}

/**
 * updateItem and createItem from `CONCURRENT` clients, each sending its next when answered, all
 * on one list and one list each: rate, p50/p99, CPU per mutation of the server, PostgreSQL and the
 * load generator, the rate that CPU allows on two cores, audit rows and list events per answer,
 * and what the PostgreSQL backends waited on.
 */
async function mutationFigures(server: Sharegraph, runs: number, seconds: number): Promise<Figure[]> {
  const generator = startMutator();
  try {
    const clients = new Map<Layout, MutatorClient[]>();
    for (const layout of LAYOUTS) clients.set(layout, await clientsFor(server, server.fixture, layout));
    const runsOf = new Map<string, MutationRun[]>();
    const at = (kind: string, layout: Layout) => `${kind} ${layout}`;
    // Warm-up (JIT, the pool's connections, each item's first edit); not counted. With 2 s of
    // updateItem alone, the first counted run (updateItem on one list) still cost the server up
    // to twice the CPU per mutation of the same run later.
    for (const kind of KINDS)
      for (const layout of LAYOUTS)
        await mutations(server, generator, server.fixture, kind, clients.get(layout) as MutatorClient[], 3);
    for (let i = 0; i < runs; i++) {
      for (const kind of KINDS) {
        for (const layout of LAYOUTS) {
          const key = at(kind, layout);
          const run = await mutations(
            server,
            generator,
            server.fixture,
            kind,
            clients.get(layout) as MutatorClient[],
            seconds,
          );
          runsOf.set(key, [...(runsOf.get(key) ?? []), run]);
          await sleep(DRAIN_MS);
        }
      }
    }
    const figures: Figure[] = [];
    for (const kind of KINDS) {
      for (const layout of LAYOUTS) {
        const r = runsOf.get(at(kind, layout)) as MutationRun[];
        const name = `${kind} at ${CONCURRENT} concurrent, ${layout}`;
        const perOp = (spent: (m: MutationRun) => number) => r.map((m) => round3((spent(m) * 1000) / m.total));
        const server = perOp((m) => m.cpu.server);
        const postgres = perOp((m) => m.cpu.postgres);
        const generatorCpu = perOp((m) => m.generatorCpu);
        const rate = figure(
          `${name}: mutations/s`,
          r.map((m) => m.rps),
          '/s',
          {
            target: '≥ 600/s',
            note: 'one instance, default configuration; each client sends its next mutation when the last is answered',
          },
        );
        const p99 = figure(
          `${name}: p99`,
          r.map((m) => m.p99),
          'ms',
          { target: '< 50 ms' },
        );
        const cpu = figure(`${name}: server CPU per mutation`, server, 'ms', {
          target: '≤ 1.5 ms',
          note: 'user + system time of the server process over the run, from /proc',
        });
        figures.push(
          { ...rate, met: rate.value >= 600 },
          figure(
            `${name}: p50`,
            r.map((m) => m.p50),
            'ms',
          ),
          { ...p99, met: p99.value < 50 },
          { ...cpu, met: cpu.value <= 1.5 },
          figure(`${name}: PostgreSQL CPU per mutation`, postgres, 'ms'),
          figure(`${name}: load generator CPU per mutation`, generatorCpu, 'ms', {
            note: 'the mutation clients (a child process, raw sockets), on the same two cores',
          }),
          figure(
            `${name}: mutations/s the CPU per mutation allows on 2 idle cores`,
            r.map((_, i) => Math.round(2000 / ((server[i] as number) + (postgres[i] as number)))),
            '/s',
            {
              note: '2,000 ms of CPU per second over server + PostgreSQL CPU per mutation (Redis and the generator not counted)',
            },
          ),
          figure(
            `${name}: PostgreSQL backends waiting for a row lock`,
            r.map((m) => sumOf(m.waits.rowLockWaits)),
            '',
            {
              note: waitsNote(r),
            },
          ),
          onePer(
            `${name}: audit rows per mutation answered`,
            r.map((m) => m.audited),
          ),
          onePer(
            `${name}: list events per mutation answered`,
            r.map((m) => m.recorded),
          ),
        );
      }
    }
    return figures;
  } finally {
    generator.close();
  }
}

/** A count per answered mutation that must be exactly 1 in every run. */
const onePer = (metric: string, runs: number[]) =>
  figure(metric, runs, '', { target: '1', met: runs.every((v) => v === 1) });

const sumOf = (r: Record<string, number>) => round3(Object.values(r).reduce((a, b) => a + b, 0));

/**
 * The response cache under writes, and the item mutations' own cost. One instance, default
 * configuration (response cache on), PostgreSQL and Redis:
 * - the list query (the http bench's) flat out, with another account's item edited at 0, 10 and
 *   50 per second meanwhile: its answer must stay the kept one (autocannon checks every body);
 * - updateItem and createItem from 16 concurrent clients, each sending its next when answered, on
 *   one list and on 16 lists.
 * `BENCH_WRITES=mutations` (or `reads`) runs only that part.
 */
export const bench: Bench = {
  name: 'writes',
  description:
    "List query while another account's item is edited at 0/10/50 per second; updateItem and createItem at 16 concurrent clients, on one list and on 16",
  async run({ runs, quick }) {
    const seconds = quick ? 3 : 10;
    const part = process.env.BENCH_WRITES;
    const server = await startSharegraph();
    try {
      return [
        ...(part === 'mutations' ? [] : await readsUnderWrites(server, runs, seconds)),
        ...(part === 'reads' ? [] : await mutationFigures(server, runs, seconds)),
      ];
    } finally {
      await server.close();
    }
  },
};

export default bench;
