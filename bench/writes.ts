import { Agent, request } from 'node:http';
import { openDatabase } from '../src/db/client.ts';
import { DRAIN_MS, type Load, load, round3, startBaseline, startSharegraph } from './http.ts';
import { type GqlResult, gql } from './lib/client.ts';
import type { CpuSpent } from './lib/cpu.ts';
import { type Bench, type Figure, median } from './lib/figure.ts';
import { type CountFixture, seedCountFixture } from './lib/round-trips.ts';
import { sleep } from './lib/ws-fixtures.ts';

const UPDATE_ITEM = `mutation BenchUpdateItem($input: UpdateItemInput!) {
  updateItem(input: $input) { __typename ... on UpdateItemPayload { item { id version } } ... on Error { code message } }
}`;
const CREATE_ITEM = `mutation BenchCreateItem($input: CreateItemInput!) {
  createItem(input: $input) { __typename ... on CreateItemPayload { item { id version } } ... on Error { code message } }
}`;

const CONCURRENT = 16;

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

/** Items of the fixture's list that `CONCURRENT` clients edit, one each, with their versions. */
export async function itemsToEdit(server: Sharegraph, f: CountFixture): Promise<{ id: string; version: number }[]> {
  const token = await server.cluster.token(f.owner);
  const items = [];
  for (let i = 0; i < CONCURRENT; i++) {
    const data = await gql<{ createItem: { item: { id: string; version: number } } }>(
      server.target.url,
      CREATE_ITEM,
      { input: { listId: f.listId, title: `Edited by client ${i}`, fields: { n: i } } },
      token,
    );
    items.push(data.createItem.item);
  }
  return items;
}

interface MutationRun extends Load {
  cpu: CpuSpent;
  /** Audit rows written per mutation answered: 1 when every one was audited. */
  audited: number;
}

/** POSTs `body` to `url` on a keep-alive agent; resolves with the status and the body. */
function post(agent: Agent, url: URL, token: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${token}`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * `CONCURRENT` clients, each sending its next mutation when the last is answered, for `seconds`:
 * updateItem on an item of its own (the version followed from each answer) or createItem. Throws
 * on any failed request or error answer; counts the audit rows written against the answers.
 */
export async function mutations(
  server: Sharegraph,
  f: CountFixture,
  kind: 'updateItem' | 'createItem',
  items: { id: string; version: number }[],
  seconds: number,
): Promise<MutationRun> {
  const database = await openDatabase({ databaseUrl: server.cluster.databaseUrl });
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENT });
  try {
    const token = await server.cluster.token(f.owner);
    const action = { where: { action: kind === 'updateItem' ? 'item.update' : 'item.create' } };
    const auditsBefore = await database.prisma.auditEvent.count(action);
    const url = new URL(`${server.target.url}/graphql`);
    const latencies: number[] = [];
    const stop = await server.meter.start();
    const started = performance.now();
    const end = started + seconds * 1000;
    await Promise.all(
      items.slice(0, CONCURRENT).map(async (item) => {
        while (performance.now() < end) {
          const body =
            kind === 'createItem'
              ? JSON.stringify({
                  query: CREATE_ITEM,
                  variables: { input: { listId: f.listId, title: 'New', fields: { n: 1 } } },
                })
              : JSON.stringify({
                  query: UPDATE_ITEM,
                  variables: {
                    input: { id: item.id, expectedVersion: item.version, patch: { title: `v${item.version}` } },
                  },
                });
          const sent = performance.now();
          const res = await post(agent, url, token, body);
          latencies.push(performance.now() - sent);
          const value = (JSON.parse(res.body) as GqlResult<Record<string, { item?: { version: number } }>>).data?.[
            kind
          ];
          if (res.status !== 200 || !value?.item) throw new Error(`${kind}: ${res.status} ${res.body.slice(0, 300)}`);
          if (kind === 'updateItem') item.version = value.item.version;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const cpu = await stop();
    const audits = (await database.prisma.auditEvent.count(action)) - auditsBefore;
    latencies.sort((a, b) => a - b);
    const at = (q: number) => round3(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
    return {
      rps: round3(latencies.length / elapsed),
      p50: at(0.5),
      p99: at(0.99),
      total: latencies.length,
      cpu,
      audited: round3(audits / latencies.length),
    };
  } finally {
    agent.destroy();
    await database.close();
  }
}

/**
 * The response cache under writes, and the item mutations' own cost. One instance, default
 * configuration (response cache on), PostgreSQL and Redis:
 * - the list query (the http bench's) flat out, with another account's item edited at 0, 10 and
 *   50 per second meanwhile: its answer must stay the kept one (autocannon checks every body);
 * - updateItem and createItem from 16 concurrent clients, each sending its next when answered.
 */
export const bench: Bench = {
  name: 'writes',
  description:
    "List query while another account's item is edited at 0/10/50 per second; updateItem and createItem at 16 concurrent clients",
  async run({ runs, quick }) {
    const seconds = quick ? 3 : 10;
    const baseline = await startBaseline();
    const server = await startSharegraph();
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

      const items = await itemsToEdit(server, server.fixture);
      const runsOf: Record<'updateItem' | 'createItem', MutationRun[]> = { updateItem: [], createItem: [] };
      await mutations(server, server.fixture, 'updateItem', items, 2);
      for (let i = 0; i < runs; i++) {
        for (const kind of ['updateItem', 'createItem'] as const) {
          runsOf[kind].push(await mutations(server, server.fixture, kind, items, seconds));
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
      for (const kind of ['updateItem', 'createItem'] as const) {
        const r = runsOf[kind];
        const rate = figure(
          `${kind} mutations/s at ${CONCURRENT} concurrent`,
          r.map((m) => m.rps),
          '/s',
          {
            target: '≥ 600/s',
            note: 'one instance, default configuration; each client sends its next mutation when the last is answered',
          },
        );
        const p99 = figure(
          `${kind} p99 at ${CONCURRENT} concurrent`,
          r.map((m) => m.p99),
          'ms',
          { target: '< 50 ms' },
        );
        const cpu = figure(
          `${kind} server CPU per mutation`,
          r.map((m) => round3((m.cpu.server * 1000) / m.total)),
          'ms',
          { target: '≤ 1.5 ms', note: 'user + system time of the server process over the run, from /proc' },
        );
        figures.push(
          { ...rate, met: rate.value >= 600 },
          figure(
            `${kind} p50 at ${CONCURRENT} concurrent`,
            r.map((m) => m.p50),
            'ms',
          ),
          { ...p99, met: p99.value < 50 },
          { ...cpu, met: cpu.value <= 1.5 },
          figure(
            `${kind} PostgreSQL CPU per mutation`,
            r.map((m) => round3((m.cpu.postgres * 1000) / m.total)),
            'ms',
          ),
          figure(
            `${kind} audit rows per mutation answered`,
            r.map((m) => m.audited),
            '',
            { target: '1', met: r.every((m) => m.audited === 1) },
          ),
        );
      }
      return figures;
    } finally {
      await server.close();
      await baseline.close();
    }
  },
};

export default bench;
