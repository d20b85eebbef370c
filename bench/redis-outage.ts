import { ownRedis } from '../test/helpers/processes.ts';
import { mutate } from './lib/client.ts';
import { profileArgs, startCluster } from './lib/cluster.ts';
import { type Bench, type Figure, measured } from './lib/figure.ts';
import { openMany, type WsConnection } from './lib/ws-client.ts';
import { seedBoard, sleep, until } from './lib/ws-fixtures.ts';
import { Subscriber, settle } from './live-edits.ts';

const UPDATE_ITEM = `mutation BenchOutageUpdateItem($input: UpdateItemInput!) {
  updateItem(input: $input) { ... on UpdateItemPayload { item { id version } } ... on Error { code message } }
}`;

/**
 * Redis stopped for 5 s (SIGKILL, then started again empty) while `subscribers` listEvents
 * subscribers on instance B watch 10 `updateItem`/s made on instance A. Every edit commits; every
 * subscriber must receive every version of every item once, in order. Also: how long after Redis
 * accepts connections again the last event committed during the outage reaches the last
 * subscriber (B fills the gap from PostgreSQL once its subscription is back).
 */
export const bench: Bench = {
  name: 'redis-outage',
  description: 'events lost / duplicated through a 5 s Redis outage, 100 subscribers on B, 10 edits/s on A',
  async run({ runs, quick }) {
    const subscriberCount = 100;
    const rate = 10;
    const itemCount = 10;
    const before = 3_000;
    const outage = 5_000;
    const after = 5_000;
    const redis = await ownRedis();
    const cluster = await startCluster({ instances: 2, env: { REDIS_URL: redis.url }, nodeArgs: profileArgs() });
    let connections: WsConnection[] = [];
    try {
      const board = await seedBoard(cluster, {
        members: subscriberCount,
        items: itemCount,
        tag: `outage-${Date.now()}`,
      });
      const listId = board.listIds[0] as string;
      connections = await openMany(subscriberCount, (i) => ({
        url: cluster.urls[1] as string,
        token: (board.members[i] as { token: string }).token,
      }));
      const subscribers = connections.map((c) => new Subscriber(c, listId));
      await until(
        () => subscribers.every((s) => s.live),
        60_000,
        () => `${subscribers.filter((s) => !s.live).length} subscribers never went live`,
      );
      const versions = new Map(board.items.map((item) => [item.id, item.version]));
      const lost: number[] = [];
      const duplicated: number[] = [];
      const catchUp: number[] = [];
      const committed: number[] = [];
      for (let run = 0; run < (quick ? 1 : runs); run++) {
        for (const s of subscribers) s.reset();
        const first = new Map(versions);
        const start = Date.now();
        const end = start + before + outage + after;
        let down = 0;
        let back = 0;
        const outageDone = (async () => {
          await sleep(before);
          down = Date.now();
          await redis.kill();
          await sleep(outage);
          await redis.start();
          back = Date.now();
        })();
        let edits = 0;
        await Promise.all(
          board.items.map(async (item, i) => {
            for (let k = 0; ; k++) {
              const due = start + ((k * itemCount + i) * 1000) / rate;
              if (due >= end) break;
              if (due > Date.now()) await sleep(due - Date.now());
              const { item: updated } = await mutate<{ item: { version: number } }>(
                cluster.urls[0] as string,
                'updateItem',
                UPDATE_ITEM,
                { input: { id: item.id, expectedVersion: versions.get(item.id), patch: { title: `Item ${i} ${k}` } } },
                board.owner.token,
              );
              versions.set(item.id, updated.version);
              edits++;
            }
          }),
        );
        await outageDone;
        const { gaps, duplicates } = await settle(subscribers, board.items, versions, first);
        lost.push(gaps);
        duplicated.push(duplicates);
        committed.push(edits);
        // The last subscriber's receipt of the last event committed while Redis was down.
        const missedAt = subscribers.flatMap((s) =>
          s.arrivals.filter((a) => a.at >= down && a.at <= back).map((a) => a.receivedAt),
        );
        catchUp.push(missedAt.length ? Math.max(0, Math.max(...missedAt) - back) : Number.NaN);
      }
      const errors = subscribers.flatMap((s) => s.errors);
      if (errors.length) throw new Error(`listEvents stream errors: ${JSON.stringify(errors.slice(0, 3))}`);
      const figure = (f: Omit<Figure, 'bench' | 'value'>) => measured('redis-outage', f);
      const size = `${subscriberCount} subscribers on B, ${rate} updateItem/s on A, Redis down ${outage / 1000} s`;
      return [
        figure({
          metric: 'events lost',
          unit: 'events',
          runs: lost,
          target: '0',
          met: lost.every((n) => n === 0),
          note: `${size}; versions missing at a subscriber, of edits × subscribers`,
        }),
        figure({
          metric: 'events duplicated',
          unit: 'events',
          runs: duplicated,
          target: '0',
          met: duplicated.every((n) => n === 0),
        }),
        figure({
          metric: 'Redis back to the last missed event delivered',
          unit: 'ms',
          runs: catchUp,
          target: '< 2000 ms',
          met: catchUp.every((ms) => ms < 2_000),
          note: 'from Redis accepting connections again to the last subscriber reading the last event committed while it was down',
        }),
        figure({ metric: 'edits committed per run', unit: 'edits', runs: committed }),
      ];
    } finally {
      await Promise.all(connections.map((c) => c.close()));
      await cluster.close();
      await redis.kill();
    }
  },
};

export default bench;
