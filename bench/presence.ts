import { mutate } from './lib/client.ts';
import { profileArgs, startCluster } from './lib/cluster.ts';
import { type Bench, type Figure, measured, median } from './lib/figure.ts';
import { openMany, percentile, type WsConnection } from './lib/ws-client.ts';
import { cpuSeconds, seedBoard, sleep, until } from './lib/ws-fixtures.ts';

/** What a presence widget on a busy list asks for: the roster once, then who changed and how. */
const PRESENCE = `subscription BenchPresence($listId: ID!) {
  presence(listId: $listId) {
    kind
    snapshot { user { id name } status itemId field sessions }
    entry { user { id name } status itemId field sessions }
  }
}`;
const SET_PRESENCE = `mutation BenchSetPresence($input: SetPresenceInput!) {
  setPresence(input: $input) { ... on SetPresencePayload { sessions } ... on Error { code message } }
}`;

interface PresenceData {
  presence: {
    kind: 'SNAPSHOT' | 'JOINED' | 'LEFT' | 'UPDATED';
    snapshot: { user: { id: string } | null }[] | null;
    entry: { user: { id: string } | null; status: string; itemId: string | null } | null;
  };
}

/** One subscriber's view: when it went live, and the events it got per kind and user. */
class Watcher {
  live = false;
  liveAt = 0;
  subscription: string | undefined;
  errors: unknown[] = [];
  lastMessageAt = 0;
  /** Who is on the list as this subscriber sees it: the snapshot, plus every JOINED, minus every LEFT. */
  readonly roster = new Set<string>();
  /** `${kind}:${userId}` → how many times. */
  readonly counts = new Map<string, number>();
  /** Called on every UPDATED with the entry, for the fan-out probe. */
  onUpdated: ((entry: NonNullable<PresenceData['presence']['entry']>, receivedAt: number) => void) | undefined;

  constructor(readonly connection: WsConnection) {}

  join(listId: string) {
    this.live = false;
    this.counts.clear();
    this.roster.clear();
    this.subscription = this.connection.subscribe<PresenceData>(
      PRESENCE,
      { listId },
      {
        next: (result, receivedAt) => {
          this.lastMessageAt = receivedAt;
          if (result.errors?.length || !result.data) return void this.errors.push(result.errors ?? result);
          const { kind, entry, snapshot } = result.data.presence;
          if (kind === 'SNAPSHOT') {
            this.live = true;
            this.liveAt = receivedAt;
            this.roster.clear();
            for (const e of snapshot ?? []) if (e.user) this.roster.add(e.user.id);
            return;
          }
          if (entry?.user) {
            if (kind === 'LEFT') this.roster.delete(entry.user.id);
            else this.roster.add(entry.user.id);
          }
          const key = `${kind}:${entry?.user?.id}`;
          this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
          if (kind === 'UPDATED' && entry) this.onUpdated?.(entry, receivedAt);
        },
        done: (error) => {
          if (error) this.errors.push(error);
        },
      },
    );
  }

  leave() {
    if (this.subscription) this.connection.complete(this.subscription);
    this.subscription = undefined;
  }

  count(kind: string, userId: string): number {
    return this.counts.get(`${kind}:${userId}`) ?? 0;
  }
}

/** Resolves once no watcher has heard anything for `quietMs` (the join storm has drained). */
async function quiet(watchers: Watcher[], quietMs: number, timeoutMs: number) {
  await until(
    () => Date.now() - Math.max(...watchers.map((w) => w.lastMessageAt)) >= quietMs,
    timeoutMs,
    () => 'presence streams never went quiet',
  );
}

/**
 * Presence fan-out: `viewers` distinct users on one list over two instances. Measures the join of
 * all of them, state changes (setPresence on instance A) reaching every viewer, and the leave of
 * all of them, with observers that must hear exactly one JOINED and one LEFT per viewer.
 */
export const bench: Bench = {
  name: 'presence',
  description: 'presence fan-out to 1,000 subscribers on one list over two instances; join/leave of 1,000 viewers',
  async run(options) {
    // Three runs at most: each joins and leaves 1,000 viewers, a million deliveries.
    const runs = Math.min(options.runs, 3);
    const quick = options.quick;
    const viewerCount = quick ? 100 : 1_000;
    const changes = quick ? 3 : 10;
    const observerCount = 4;
    const cluster = await startCluster({ instances: 2, nodeArgs: profileArgs() });
    const connections: WsConnection[] = [];
    try {
      const board = await seedBoard(cluster, {
        members: viewerCount + observerCount,
        items: 1,
        tag: `presence-${Date.now()}`,
      });
      const listId = board.listIds[0] as string;
      const itemId = board.items[0]?.id as string;
      const viewers = board.members.slice(0, viewerCount);
      const observerUsers = board.members.slice(viewerCount);
      const at = (i: number) => cluster.urls[i % 2] as string;
      connections.push(
        ...(await openMany(viewerCount + observerCount, (i) => ({
          url: at(i),
          token: (board.members[i] as { token: string }).token,
        }))),
      );
      const watchers = connections.slice(0, viewerCount).map((c) => new Watcher(c));
      const observers = connections.slice(viewerCount).map((c) => new Watcher(c));
      const editor = viewers[0] as (typeof viewers)[number];

      const joinMs: number[] = [];
      const leaveMs: number[] = [];
      const p50: number[] = [];
      const p99: number[] = [];
      const lostPerRun: number[] = [];
      const rosterWrongPerRun: number[] = [];
      const fanoutLostPerRun: number[] = [];
      const cpuPerDelivery: number[] = [];
      const setPresenceP50: number[] = [];
      for (let run = 0; run < runs; run++) {
        for (const o of observers) o.join(listId);
        await until(
          () => observers.every((o) => o.live),
          30_000,
          () => 'observers never got their SNAPSHOT',
        );

        const joinStart = Date.now();
        const cpuBefore = cluster.pids.map(cpuSeconds);
        const progress = process.env.BENCH_DEBUG
          ? setInterval(
              () =>
                console.log(
                  'DEBUG',
                  Date.now() - joinStart,
                  'live',
                  watchers.filter((w) => w.live).length,
                  'heard',
                  observers.map((o) => viewers.filter((v) => o.count('JOINED', v.id)).length),
                  'cpu',
                  cluster.pids.map((p, i) => cpuSeconds(p) - (cpuBefore[i] ?? 0)),
                  'errors',
                  JSON.stringify([...watchers, ...observers].flatMap((w) => w.errors)).slice(0, 300),
                ),
              2000,
            )
          : undefined;
        for (const w of watchers) w.join(listId);
        await until(
          () => observers.every((o) => viewers.every((v) => o.count('JOINED', v.id) > 0)),
          quick ? 120_000 : 300_000,
          () =>
            `observers heard ${observers.map((o) => viewers.filter((v) => o.count('JOINED', v.id)).length)} of ${viewerCount} joins; errors: ${JSON.stringify(observers.flatMap((o) => o.errors)).slice(0, 500)}`,
        );
        clearInterval(progress);
        joinMs.push(Math.max(...observers.map((o) => o.lastMessageAt)) - joinStart);
        if (process.env.BENCH_DEBUG)
          console.log(
            'DEBUG snapshots',
            watchers
              .map((w) => w.liveAt - joinStart)
              .sort((a, b) => a - b)
              .filter((_, i) => i % 10 === 0),
            'at',
            Date.now() - joinStart,
            'server cpu s',
            cluster.pids.map((p, i) => cpuSeconds(p) - (cpuBefore[i] ?? 0)),
            'self cpu',
            process.cpuUsage(),
          );
        await until(
          () => watchers.every((w) => w.live),
          60_000,
          () => `${watchers.filter((w) => !w.live).length} viewers never got their SNAPSHOT`,
        );
        await quiet([...watchers, ...observers], 500, 300_000);
        // Every viewer's roster (its snapshot plus the entries since) must now name everyone.
        const everyone = new Set(board.members.map((m) => m.id));
        let rosterWrong = 0;
        for (const w of [...watchers, ...observers]) {
          for (const id of everyone) if (!w.roster.has(id)) rosterWrong++;
          for (const id of w.roster) if (!everyone.has(id)) rosterWrong++;
        }
        rosterWrongPerRun.push(rosterWrong);

        const latencies: number[] = [];
        const mutationMs: number[] = [];
        let fanoutLost = 0;
        const cpuBeforeChanges = cluster.pids.map(cpuSeconds);
        for (let change = 0; change < changes; change++) {
          const editing = change % 2 === 0;
          const heard = new Set<Watcher>();
          const receivedBy = new Map<Watcher, number>();
          let sentAt = 0;
          for (const w of watchers) {
            w.onUpdated = (entry, receivedAt) => {
              if (entry.user?.id !== editor.id || (entry.status === 'EDITING') !== editing) return;
              if (heard.has(w)) return;
              heard.add(w);
              latencies.push(receivedAt - sentAt);
              receivedBy.set(w, receivedAt - sentAt);
            };
          }
          sentAt = Date.now();
          const answered = mutate(
            cluster.urls[0] as string,
            'setPresence',
            SET_PRESENCE,
            { input: editing ? { listId, status: 'EDITING', itemId, field: 'title' } : { listId, status: 'VIEWING' } },
            editor.token,
          ).then(() => mutationMs.push(Date.now() - sentAt));
          await answered;
          await until(
            () => heard.size === watchers.length,
            10_000,
            () => '',
          ).catch(() => {
            fanoutLost += watchers.length - heard.size;
          });
          if (process.env.BENCH_DEBUG) {
            // Viewers alternate between the instances: the first, the median and the last delivery on each.
            const spread = [0, 1].map((i) => {
              const own = watchers.filter((_, n) => n % 2 === i).map((w) => receivedBy.get(w) ?? Number.NaN);
              return [percentile(own, 0), percentile(own, 50), percentile(own, 100)].join('/');
            });
            console.log(
              'DEBUG change',
              change,
              'heard by',
              heard.size,
              'of',
              watchers.length,
              'first/p50/last on A, B',
              spread,
            );
          }
          // setPresence announces one user's changes at most every 100 ms.
          await sleep(150);
        }
        for (const w of watchers) w.onUpdated = undefined;
        p50.push(percentile(latencies, 50));
        setPresenceP50.push(percentile(mutationMs, 50));
        p99.push(percentile(latencies, 99));
        fanoutLostPerRun.push(fanoutLost);
        const changeCpu = cluster.pids.reduce((sum, pid, i) => sum + cpuSeconds(pid) - (cpuBeforeChanges[i] ?? 0), 0);
        cpuPerDelivery.push(Math.round((changeCpu * 1e6) / (changes * (viewerCount + observerCount))) / 1e3);

        const leaveStart = Date.now();
        for (const w of watchers) w.leave();
        await until(
          () => observers.every((o) => viewers.every((v) => o.count('LEFT', v.id) > 0)),
          300_000,
          () =>
            `observers heard ${observers.map((o) => viewers.filter((v) => o.count('LEFT', v.id)).length)} of ${viewerCount} leaves`,
        ).catch(() => {});
        leaveMs.push(Math.max(...observers.map((o) => o.lastMessageAt)) - leaveStart);
        await quiet(observers, 500, 60_000);
        // Exactly one JOINED and one LEFT per viewer at every observer: anything else is lost or doubled.
        let wrong = 0;
        for (const o of observers)
          for (const v of viewers) wrong += Math.abs(1 - o.count('JOINED', v.id)) + Math.abs(1 - o.count('LEFT', v.id));
        // After the leave only the observers remain in the observers' rosters.
        const stayed = new Set(observerUsers.map((u) => u.id));
        for (const o of observers) {
          for (const id of stayed) if (!o.roster.has(id)) wrong++;
          for (const id of o.roster) if (!stayed.has(id)) wrong++;
        }
        lostPerRun.push(wrong);
        for (const o of observers) o.leave();
        const errors = [...watchers, ...observers].flatMap((w) => w.errors);
        if (errors.length) throw new Error(`presence stream errors: ${JSON.stringify(errors.slice(0, 3))}`);
        await sleep(300);
      }

      const size = `${viewerCount} viewers over 2 instances`;
      const figure = (f: Omit<Figure, 'bench' | 'value'>) => measured('presence', f);
      return [
        figure({
          metric: 'state change to all, p50',
          unit: 'ms',
          runs: p50,
          target: '< 20 ms',
          met: median(p50) < 20,
          note: `${size}; from sending setPresence to receipt at each viewer, ${changes} changes per run`,
        }),
        figure({
          metric: 'state change to all, p99',
          unit: 'ms',
          runs: p99,
          target: '< 100 ms',
          met: median(p99) < 100,
          note: size,
        }),
        figure({
          metric: 'setPresence round trip, p50',
          unit: 'ms',
          runs: setPresenceP50,
          note: 'HTTP, as seen by the editor: the part of each state change spent before it is announced',
        }),
        figure({
          metric: 'server CPU per delivered state change',
          unit: 'ms',
          runs: cpuPerDelivery,
          note: "both servers' user + system time over the state changes (the setPresence mutations, roster reads and every delivery) per message delivered",
        }),
        figure({
          metric: 'state changes not received',
          unit: 'events',
          runs: fanoutLostPerRun,
          target: '0',
          met: fanoutLostPerRun.every((n) => n === 0),
          note: `of ${changes * viewerCount} per run`,
        }),
        figure({
          metric: `join of ${viewerCount} viewers`,
          unit: 'ms',
          runs: joinMs,
          note: `all subscribe at once; until ${observerCount} observers heard every JOINED`,
        }),
        figure({
          metric: `leave of ${viewerCount} viewers`,
          unit: 'ms',
          runs: leaveMs,
          note: `all complete at once; until ${observerCount} observers heard every LEFT`,
        }),
        figure({
          metric: 'presence events lost or doubled',
          unit: 'events',
          runs: lostPerRun,
          target: '0',
          met: lostPerRun.every((n) => n === 0),
          note: `of ${2 * viewerCount * observerCount} JOINED + LEFT expected at the observers per run, and their rosters after the leave`,
        }),
        figure({
          metric: 'roster entries wrong after the join',
          unit: 'entries',
          runs: rosterWrongPerRun,
          target: '0',
          met: rosterWrongPerRun.every((n) => n === 0),
          note: `every subscriber's SNAPSHOT plus later entries vs the ${viewerCount + observerCount} users on the list`,
        }),
      ];
    } finally {
      await Promise.all(connections.map((c) => c.close()));
      await cluster.close();
    }
  },
};

export default bench;
