import { mutate } from './lib/client.ts';
import { profileArgs, startCluster } from './lib/cluster.ts';
import { type Bench, type Figure, measured, median } from './lib/figure.ts';
import { openMany, percentile, type WsConnection } from './lib/ws-client.ts';
import { cpuSeconds, seedBoard, sleep, until } from './lib/ws-fixtures.ts';

/** What a live list view asks for: which item changed, to what, and when it committed. */
const LIST_EVENTS = `subscription BenchListEvents($listId: ID!) {
  listEvents(listId: $listId) {
    __typename
    ... on ItemUpdated { at version changedFields item { id title version } }
  }
}`;
const UPDATE_ITEM = `mutation BenchUpdateItem($input: UpdateItemInput!) {
  updateItem(input: $input) { ... on UpdateItemPayload { item { id version } } ... on Error { code message } }
}`;

interface ListEventData {
  listEvents: { __typename: string; at?: string; version?: number; item?: { id: string } | null };
}

/** One subscriber: commit-to-receipt latencies and, per item, the versions it received in order. */
export class Subscriber {
  live = false;
  errors: unknown[] = [];
  lastMessageAt = 0;
  latencies: number[] = [];
  /** Each ItemUpdated's commit time and when it was read (ms since the epoch). */
  arrivals: { at: number; receivedAt: number }[] = [];
  readonly versions = new Map<string, number[]>();

  constructor(connection: WsConnection, listId: string) {
    connection.subscribe<ListEventData>(
      LIST_EVENTS,
      { listId },
      {
        next: (result, receivedAt) => {
          this.lastMessageAt = receivedAt;
          const event = result.data?.listEvents;
          if (!event) return void this.errors.push(result.errors ?? result);
          if (event.__typename === 'ListEventsSubscribed') this.live = true;
          if (event.__typename !== 'ItemUpdated' || !event.at || !event.item || event.version == null) return;
          this.latencies.push(receivedAt - Date.parse(event.at));
          this.arrivals.push({ at: Date.parse(event.at), receivedAt });
          let seen = this.versions.get(event.item.id);
          if (!seen) {
            seen = [];
            this.versions.set(event.item.id, seen);
          }
          seen.push(event.version);
        },
        done: (error) => this.errors.push(error ?? 'stream completed'),
      },
    );
  }

  reset() {
    this.latencies = [];
    this.arrivals = [];
    this.versions.clear();
  }
}

/**
 * Live edit latency: `rate` edits per second through instance A's HTTP API (each of 10 items
 * edited in turn by its own loop, so none conflicts), heard by `subscribers` listEvents
 * subscribers split over instances A and B, which share Redis. Latency runs from the commit
 * (the event's `at`, taken right after the transaction commits) to the moment the subscriber
 * read the message; each subscriber must see every version of every item once, in order.
 */
export const bench: Bench = {
  name: 'live-edits',
  description: 'commit-to-receipt latency of item edits at 100/s to 200 subscribers over two instances',
  async run({ runs, quick }) {
    const subscriberCount = quick ? 40 : 200;
    const seconds = quick ? 3 : 10;
    const rate = 100;
    const itemCount = 10;
    const cluster = await startCluster({ instances: 2, nodeArgs: profileArgs() });
    let connections: WsConnection[] = [];
    try {
      const board = await seedBoard(cluster, {
        members: subscriberCount,
        items: itemCount,
        tag: `edits-${Date.now()}`,
      });
      const listId = board.listIds[0] as string;
      connections = await openMany(subscriberCount, (i) => ({
        url: cluster.urls[i % 2] as string,
        token: (board.members[i] as { token: string }).token,
      }));
      const subscribers = connections.map((c) => new Subscriber(c, listId));
      await until(
        () => subscribers.every((s) => s.live),
        60_000,
        () => `${subscribers.filter((s) => !s.live).length} subscribers never went live`,
      );
      const versions = new Map(board.items.map((item) => [item.id, item.version]));

      const p50: number[] = [];
      const p99: number[] = [];
      const gapsPerRun: number[] = [];
      const duplicatesPerRun: number[] = [];
      const achieved: number[] = [];
      const editP50: number[] = [];
      const cpu: number[][] = cluster.pids.map(() => []);
      const cpuPerDelivery: number[] = [];
      // Run -1 warms up (JIT, connection pools, each item's first edit on A) and is not reported;
      // like every run it must lose and repeat nothing.
      for (let run = -1; run < runs; run++) {
        for (const s of subscribers) s.reset();
        const first = new Map(versions);
        const editLatencies: number[] = [];
        const cpuBefore = cluster.pids.map(cpuSeconds);
        const start = Date.now();
        const perItem = rate / itemCount;
        await Promise.all(
          board.items.map(async (item, i) => {
            for (let k = 0; k < seconds * perItem; k++) {
              // Open loop: edit k of this item is due at its slot; a late edit goes at once.
              const due = start + ((k * itemCount + i) * 1000) / rate;
              if (due > Date.now()) await sleep(due - Date.now());
              const sent = Date.now();
              const { item: updated } = await mutate<{ item: { version: number } }>(
                cluster.urls[0] as string,
                'updateItem',
                UPDATE_ITEM,
                {
                  input: {
                    id: item.id,
                    expectedVersion: versions.get(item.id),
                    patch: { title: `Item ${i} edit ${k}` },
                  },
                },
                board.owner.token,
              );
              editLatencies.push(Date.now() - sent);
              versions.set(item.id, updated.version);
            }
          }),
        );
        const elapsed = (Date.now() - start) / 1000;
        if (run < 0) {
          const warm = await settle(subscribers, board.items, versions, first);
          if (warm.gaps || warm.duplicates)
            throw new Error(`warm-up: ${warm.gaps} gaps, ${warm.duplicates} duplicates`);
          continue;
        }
        cluster.pids.forEach((pid, i) => {
          cpu[i]?.push(Math.round(((cpuSeconds(pid) - (cpuBefore[i] ?? 0)) / elapsed) * 100) / 100);
        });
        const edits = seconds * rate;
        // B only delivers: its CPU over the edit phase per message it sent.
        const onB = subscribers.length - Math.ceil(subscribers.length / 2);
        const bPid = cluster.pids[1] as number;
        cpuPerDelivery.push(Math.round(((cpuSeconds(bPid) - (cpuBefore[1] ?? 0)) * 1e6) / (edits * onB)) / 1e3);
        achieved.push(Math.round(edits / elapsed));
        const { gaps, duplicates } = await settle(subscribers, board.items, versions, first);
        gapsPerRun.push(gaps);
        duplicatesPerRun.push(duplicates);
        const latencies = subscribers.flatMap((s) => s.latencies);
        p50.push(percentile(latencies, 50));
        p99.push(percentile(latencies, 99));
        editP50.push(percentile(editLatencies, 50));
      }
      const errors = subscribers.flatMap((s) => s.errors);
      if (errors.length) throw new Error(`listEvents stream errors: ${JSON.stringify(errors.slice(0, 3))}`);

      const size = `${subscriberCount} subscribers over 2 instances, ${rate} edits/s for ${seconds} s on A`;
      const figure = (f: Omit<Figure, 'bench' | 'value'>) => measured('live-edits', f);
      return [
        figure({
          metric: 'commit to receipt, p50',
          unit: 'ms',
          runs: p50,
          target: '< 10 ms',
          met: median(p50) < 10,
          note: `${size}; from the event's commit time (ms resolution) to the message read`,
        }),
        figure({ metric: 'commit to receipt, p99', unit: 'ms', runs: p99, target: '< 40 ms', met: median(p99) < 40 }),
        figure({
          metric: 'version gaps',
          unit: 'events',
          runs: gapsPerRun,
          target: '0',
          met: gapsPerRun.every((n) => n === 0),
          note: `of ${subscriberCount * seconds * rate} expected per run (every version of every item at every subscriber)`,
        }),
        figure({
          metric: 'duplicate events',
          unit: 'events',
          runs: duplicatesPerRun,
          target: '0',
          met: duplicatesPerRun.every((n) => n === 0),
        }),
        figure({
          metric: 'edit rate achieved',
          unit: 'edits/s',
          runs: achieved,
          target: `${rate}/s`,
          met: median(achieved) >= rate * 0.95,
        }),
        figure({
          metric: 'updateItem round trip, p50',
          unit: 'ms',
          runs: editP50,
          note: 'HTTP, as seen by the editor',
        }),
        figure({
          metric: 'server CPU per delivered event, instance B',
          unit: 'ms',
          runs: cpuPerDelivery,
          note: "B's user + system time over the edit phase per ItemUpdated it sent (its share of the item reload included)",
        }),
        ...cpu.map((runsOf, i) =>
          figure({
            metric: `server CPU, instance ${i === 0 ? 'A (edits + subscribers)' : 'B (subscribers)'}`,
            unit: 'cores',
            runs: runsOf,
            note: 'user + system time of the server process over the edit phase, from /proc',
          }),
        ),
      ];
    } finally {
      await Promise.all(connections.map((c) => c.close()));
      await cluster.close();
    }
  },
};

export default bench;

/**
 * Waits until every subscriber has seen each item's last version (30 s at most), then counts,
 * per subscriber and item, the versions missing from first+1 … last and those seen twice.
 */
export async function settle(
  subscribers: Subscriber[],
  items: { id: string }[],
  versions: Map<string, number>,
  first: Map<string, number>,
): Promise<{ gaps: number; duplicates: number }> {
  const expected = (s: Subscriber) => items.every((item) => s.versions.get(item.id)?.at(-1) === versions.get(item.id));
  await until(
    () => subscribers.every(expected),
    30_000,
    () => '',
  ).catch(() => {});
  await sleep(200);
  // Per subscriber and item, the versions must run first+1 … last with nothing missing or repeated.
  let gaps = 0;
  let duplicates = 0;
  for (const s of subscribers) {
    for (const item of items) {
      const seen = s.versions.get(item.id) ?? [];
      const from = first.get(item.id) ?? 0;
      const to = versions.get(item.id) ?? 0;
      const counts = new Map<number, number>();
      for (const v of seen) counts.set(v, (counts.get(v) ?? 0) + 1);
      for (let v = from + 1; v <= to; v++) if (!counts.has(v)) gaps++;
      for (const [v, n] of counts) duplicates += n - 1 + (v <= from || v > to ? 1 : 0);
    }
  }
  return { gaps, duplicates };
}
