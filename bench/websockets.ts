import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { profileArgs, startCluster } from './lib/cluster.ts';
import { type Bench, type Figure, measured, median } from './lib/figure.ts';
import { openMany, type WsConnection } from './lib/ws-client.ts';
import { cpuSeconds, seedBoard, sleep, until } from './lib/ws-fixtures.ts';

const PRESENCE = `subscription BenchIdlePresence($listId: ID!) {
  presence(listId: $listId) { kind snapshot { user { id name } status } entry { user { id name } status itemId field sessions } }
}`;
const LIST_EVENTS = `subscription BenchChurn($listId: ID!) { listEvents(listId: $listId) { __typename } }`;

interface Memory {
  heapUsed: number;
  /** After V8 gave back the pages it keeps free (a last-resort collection, then 2 s to unmap them). */
  rss: number;
  /** Before that: what the process held right after an ordinary collection. */
  rssPooled: number;
  /** Everything `process.memoryUsage()` said (printed with BENCH_DEBUG). */
  report?: unknown;
}

/** Asks the server child (preloaded with ws-probe.mjs) for its heap and RSS after GC. */
async function serverMemory(pid: number, dir: string): Promise<Memory> {
  const asked = Date.now();
  const file = join(dir, `${pid}.json`);
  process.kill(pid, 'SIGUSR2');
  let report: ({ at: number } & Memory) | undefined;
  await until(
    () => {
      try {
        report = JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        report = undefined;
      }
      return report !== undefined && report.at >= asked;
    },
    30_000,
    () => `no memory report from ${pid}`,
  );
  const { heapUsed, rss, rssPooled } = report as Memory;
  return { heapUsed, rss, rssPooled, report };
}

/** Opens `count` authenticated sockets, each subscribed to presence on one of `listIds`, and waits for every SNAPSHOT. */
async function idleSubscribers(
  url: string,
  tokens: string[],
  listIds: string[],
  count: number,
): Promise<WsConnection[]> {
  const perList = Math.ceil(count / listIds.length);
  const connections = await openMany(count, (i) => ({ url, token: tokens[i % tokens.length] as string }));
  let live = 0;
  let lastAt = Date.now();
  connections.forEach((c, i) => {
    let seen = false;
    c.subscribe(
      PRESENCE,
      { listId: listIds[Math.floor(i / perList)] },
      {
        next: () => {
          lastAt = Date.now();
          if (!seen) live++;
          seen = true;
        },
      },
    );
  });
  await until(
    () => live === count,
    180_000,
    () => `${count - live} presence subscribers never got their SNAPSHOT`,
  );
  // Joins fan out to the others on each list; wait until that has drained.
  await until(
    () => Date.now() - lastAt > 1_000,
    120_000,
    () => 'presence never went quiet',
  );
  return connections;
}

/** Subscribe+complete pairs per second over `sockets` connections with `inFlight` each, for `ms`. */
async function churn(url: string, token: string, listId: string, sockets: number, inFlight: number, ms: number) {
  const connections = await openMany(sockets, () => ({ url, token }));
  let pairs = 0;
  let failures = 0;
  const deadline = Date.now() + ms;
  const loop = (c: WsConnection) =>
    new Promise<void>((resolve) => {
      const again = () => {
        if (Date.now() >= deadline) return resolve();
        const id = c.subscribe<{ listEvents: { __typename: string } }>(
          LIST_EVENTS,
          { listId },
          {
            next: (result) => {
              if (result.data?.listEvents.__typename !== 'ListEventsSubscribed') failures++;
              else pairs++;
              c.complete(id);
              again();
            },
            done: (error) => {
              if (!error) return;
              failures++;
              again();
            },
          },
        );
      };
      again();
    });
  const start = Date.now();
  await Promise.all(connections.flatMap((c) => Array.from({ length: inFlight }, () => loop(c))));
  const elapsed = (Date.now() - start) / 1000;
  await Promise.all(connections.map((c) => c.close()));
  return { rate: Math.round(pairs / elapsed), pairs, failures };
}

/**
 * Memory per idle websocket (authenticated, subscribed to presence), from one server's heap after
 * GC and its RSS, at 0 and at `connections` sockets; and subscription churn on that instance.
 */
export const bench: Bench = {
  name: 'websockets',
  description: 'memory per idle presence subscriber (heap and RSS, 0 vs 2,000 sockets) and subscribe+complete churn',
  async run(options) {
    // Three runs at most: each opens and closes 2,000 sockets.
    const runs = Math.min(options.runs, 3);
    const quick = options.quick;
    const count = quick ? 200 : 2_000;
    const lists = quick ? 10 : 100;
    const probeDir = mkdtempSync(join(tmpdir(), 'sharegraph-probe-'));
    const probe = pathToFileURL(join(import.meta.dirname, 'lib', 'ws-probe.mjs')).href;
    const cluster = await startCluster({
      instances: 1,
      env: { BENCH_PROBE_DIR: probeDir, ...(process.env.BENCH_HEAP_SNAPSHOT ? { BENCH_HEAP_SNAPSHOT: '1' } : {}) },
      nodeArgs: ['--expose-gc', '--import', probe, ...profileArgs()],
    });
    try {
      const board = await seedBoard(cluster, { members: 20, lists, tag: `ws-${Date.now()}` });
      const url = cluster.urls[0] as string;
      const pid = cluster.pids[0] as number;
      const tokens = board.members.map((m) => m.token);
      // Warm up (JIT, caches, pools) so the first measurement is not of start-up.
      for (const c of await idleSubscribers(url, tokens, board.listIds, Math.min(200, count))) await c.close();
      await sleep(1_000);

      const heapPer: number[] = [];
      const rssPer: number[] = [];
      const rssPooledPer: number[] = [];
      const per = (after: number, before: number) => Math.round((after - before) / count / 102.4) / 10;
      for (let run = 0; run < runs; run++) {
        const before = await serverMemory(pid, probeDir);
        const connections = await idleSubscribers(url, tokens, board.listIds, count);
        const after = await serverMemory(pid, probeDir);
        if (process.env.BENCH_DEBUG)
          console.log('DEBUG memory', JSON.stringify({ before: before.report, after: after.report }));
        heapPer.push(per(after.heapUsed, before.heapUsed));
        rssPer.push(per(after.rss, before.rss));
        rssPooledPer.push(per(after.rssPooled, before.rssPooled));
        await Promise.all(connections.map((c) => c.close()));
        await sleep(1_000);
      }

      const rates: number[] = [];
      let failures = 0;
      // A resident subscriber keeps the list's Redis channel open, as on any list in use.
      const [resident] = await openMany(1, () => ({ url, token: tokens[0] as string }));
      resident?.subscribe(LIST_EVENTS, { listId: board.listIds[0] }, { next: () => {} });
      await sleep(500);
      const cpuPerPair: number[] = [];
      for (let run = 0; run < runs; run++) {
        const cpuBefore = cpuSeconds(pid);
        const result = await churn(url, tokens[1] as string, board.listIds[0] as string, 4, 8, quick ? 3_000 : 10_000);
        rates.push(result.rate);
        cpuPerPair.push(Math.round(((cpuSeconds(pid) - cpuBefore) * 1e6) / result.pairs) / 1e3);
        failures += result.failures;
      }
      await resident?.close();

      const figure = (f: Omit<Figure, 'bench' | 'value'>) => measured('websockets', f);
      const how = `${count} sockets on one instance, each authenticated and subscribed to presence (${lists} lists of ${count / lists}); after GC, 0 vs ${count}`;
      return [
        figure({
          metric: 'heap per idle connection',
          unit: 'KB',
          runs: heapPer,
          target: '< 30 KB',
          met: median(heapPer) < 30,
          note: how,
        }),
        figure({
          metric: 'RSS per idle connection',
          unit: 'KB',
          runs: rssPer,
          target: '< 30 KB',
          met: median(rssPer) < 30,
          note: 'RSS of the server process, everything outside the JS heap included, once V8 has given back the pages it keeps free (a last-resort collection, 2 s to unmap them), at 0 and at 2,000 alike',
        }),
        figure({
          metric: 'RSS per idle connection, free pages still pooled',
          unit: 'KB',
          runs: rssPooledPer,
          note: 'the same RSS right after an ordinary collection: it also counts the pages V8 freed after the join storm and keeps for later, so it varies with the storm',
        }),
        figure({
          metric: 'subscribe+complete pairs',
          unit: 'pairs/s',
          runs: rates,
          target: '>= 1,000/s',
          met: median(rates) >= 1_000,
          note: `listEvents, 4 sockets x 8 in flight, each pair waits for ListEventsSubscribed; ${failures} failed`,
        }),
        figure({
          metric: 'server CPU per subscribe+complete pair',
          unit: 'ms',
          runs: cpuPerPair,
          note: 'user + system time of the server process over the churn, from /proc, per pair; less sensitive to a busy machine than the rate',
        }),
      ];
    } finally {
      await cluster.close();
      if (process.env.BENCH_HEAP_SNAPSHOT) process.stderr.write(`heap snapshots kept in ${probeDir}\n`);
      else rmSync(probeDir, { recursive: true, force: true });
    }
  },
};

export default bench;
