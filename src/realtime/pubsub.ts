import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, type PubSub } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import { memoryPresenceStore, type PresenceStore, redisPresenceStore } from './presence.ts';
import { connectRedis, type RedisTarget } from './redis.ts';

/** What happened to a workspace; ids only, so it survives JSON through Redis. */
export interface WorkspaceEventPayload {
  kind: 'CREATED' | 'UPDATED' | 'DELETED';
  workspaceId: string;
  /** On DELETED, who could see it: the facts are gone by the time subscribers filter. */
  audience?: { open: boolean; memberIds: string[] };
  /** ISO time of the commit that caused it. */
  at: string;
}

/** What happened on a list; ids, enums and ISO strings only, so it survives JSON through Redis. */
export interface ListEventPayload {
  kind:
    | 'ITEM_CREATED'
    | 'ITEM_UPDATED'
    | 'ITEM_DELETED'
    | 'ITEM_MOVED'
    | 'UPDATE_POSTED'
    | 'UPDATE_EDITED'
    | 'UPDATE_DELETED'
    | 'LIST_RENAMED'
    | 'LIST_DELETED'
    | 'ACCESS_CHANGED';
  listId: string;
  /** The list's event number (1, 2, 3… in commit order), as recorded with the change. */
  seq: number;
  itemId?: string;
  /** On ITEM_UPDATED: `title` and/or the keys of `fields` that changed. */
  changedFields?: string[];
  /** The item version after the change. */
  version?: number;
  /** On UPDATE_POSTED, UPDATE_EDITED and UPDATE_DELETED: the ItemUpdate id. */
  updateId?: string;
  /** On ACCESS_CHANGED: the users whose access may have changed (empty: re-decide for everyone). */
  userIds?: string[];
  /** ISO time of the commit that caused it. */
  at: string;
}

/** Someone joined, left or changed state on a list; subscribers read the roster from the store. */
export interface PresenceEventPayload {
  kind: 'JOINED' | 'LEFT' | 'UPDATED';
  sessionId: string;
  userId: string | null;
  /** The session watches without being shown: its events are not passed on (absent: false). */
  invisible?: boolean;
  at: string;
}

/**
 * Every topic, with its routing key and payload. Payloads are ids, enums and ISO strings only:
 * they cross Redis as JSON.
 */
export type Topics = {
  'account:workspaces': [accountId: string, payload: WorkspaceEventPayload];
  'list:events': [listId: string, payload: ListEventPayload];
  'list:presence': [listId: string, payload: PresenceEventPayload];
};

/** The typed pub/sub, plus a way to wait until a subscription is live across instances. */
export interface Realtime {
  pubsub: PubSub<Topics>;
  /** Who is on which list: in process, or in Redis when it is set. */
  presence: PresenceStore;
  kind: 'memory' | 'redis';
  /**
   * Resolves once every subscription opened so far is acknowledged by Redis; an event published
   * before that is lost, so joins and first snapshots wait for it. Immediate in memory.
   */
  ready(): Promise<void>;
  /**
   * Calls `listener` synchronously with every payload of `topic` / `id` that reaches this
   * instance (the same object `pubsub.subscribe` yields), until the returned function is called.
   * For per-instance state that must change the moment an event arrives, before any subscriber
   * of the topic acts on anything.
   */
  listen<T extends keyof Topics>(topic: T, id: Topics[T][0], listener: (payload: Topics[T][1]) => void): () => void;
  /** A cheap write to a Redis master, for readiness checks: fails while the instance cannot write. */
  ping(): Promise<void>;
  /**
   * Calls `listener` each time the pub/sub came back from an outage with its subscriptions live
   * again: events published meanwhile were lost, so streams re-read what they show. Returns the
   * way to stop listening.
   */
  onResync(listener: () => void): () => void;
  close(): Promise<void>;
}

export interface RealtimeOptions {
  /** Redis in any of its modes; unset: in process. */
  redis?: RedisTarget | undefined;
  keyPrefix?: string;
  onError?: (err: Error) => void;
}

/** In-process pub/sub, or Redis pub/sub when `redis` is set. */
export function createRealtime(options: RealtimeOptions): Realtime {
  if (!options.redis) {
    const target = new EventTarget();
    return {
      pubsub: createPubSub<Topics>({ eventTarget: target as never }),
      presence: memoryPresenceStore(),
      kind: 'memory',
      listen: listener(target),
      ready: () => Promise.resolve(),
      ping: () => Promise.resolve(),
      onResync: () => () => {},
      close: () => Promise.resolve(),
    };
  }
  const prefix = options.keyPrefix ?? '';
  const onError = options.onError ?? (() => {});
  const redisOptions = { enableAutoPipelining: true, lazyConnect: false };
  // One connection for commands (publishes and presence), so a session re-created by its
  // heartbeat after a restart is announced on the connection that just wrote it.
  const commands = connectRedis(options.redis, onError, redisOptions);
  // Subscriptions wait in the offline queue during an outage; ioredis resubscribes on reconnect.
  const subscribeClient = connectRedis(options.redis, onError, redisOptions).client;
  // Subscribe and unsubscribe calls not yet acknowledged: `ready()` waits for them.
  const subscribing = new Set<Promise<unknown>>();
  // Publishes not yet sent: `close()` lets them go out first.
  const publishing = new Set<Promise<unknown>>();
  const track = (set: Set<Promise<unknown>>, p: Promise<unknown>) => {
    const settled = p.catch(onError).finally(() => set.delete(settled));
    set.add(settled);
    return settled;
  };
  // The latest list event per list whose publish failed: sent again once Redis is back. The event
  // is in PostgreSQL, and a subscriber that sees its number after a gap fills the gap from there,
  // even when it resynced before this instance reconnected and nothing else is written after.
  const unsent = new Map<string, string>();
  const publish = (channel: string, message: string) =>
    track(
      publishing,
      commands
        .whenUp((redis) => redis.publish(prefix + channel, message))
        .catch((err: unknown) => {
          if (channel.startsWith('list:events:')) unsent.set(channel, message);
          throw err;
        }),
    );
  // The event target names channels after topics; these adapters add REDIS_KEY_PREFIX so runs
  // and deployments sharing one Redis never hear each other. A publish during a Redis outage
  // fails at once and is logged: the change it announces has committed, and its mutation must
  // neither wait for Redis nor fail.
  const eventTarget = createRedisEventTarget({
    publishClient: { publish } as unknown as Redis,
    subscribeClient: {
      on: (_event: 'message', listener: (channel: string, message: string) => void) => {
        subscribeClient.on('message', (channel: string, message: string) => {
          if (channel.startsWith(prefix)) listener(channel.slice(prefix.length), message);
        });
      },
      subscribe: (channel: string) => track(subscribing, subscribeClient.subscribe(prefix + channel)),
      unsubscribe: (channel: string) => track(subscribing, subscribeClient.unsubscribe(prefix + channel)),
    } as unknown as Redis,
  });
  // After an outage, resync once both connections are back: ioredis re-sent the subscriptions
  // before 'ready', and a round trip behind them means they are live.
  const resyncs = new Set<() => void>();
  let lost = false;
  const outage = () => {
    lost = true;
  };
  const recovered = () => {
    if (!lost || commands.client.status !== 'ready' || subscribeClient.status !== 'ready') return;
    lost = false;
    subscribeClient.ping().then(() => {
      const resend = [...unsent];
      unsent.clear();
      for (const [channel, message] of resend) void publish(channel, message);
      for (const listener of resyncs) listener();
    }, onError);
  };
  for (const client of [commands.client, subscribeClient]) client.on('close', outage).on('ready', recovered);
  const presence = redisPresenceStore(commands, prefix);
  return {
    pubsub: createPubSub<Topics>({ eventTarget }),
    presence,
    kind: 'redis',
    listen: listener(eventTarget),
    async ready() {
      await Promise.all([...subscribing]);
    },
    async ping() {
      // A write, not PING: a master demoted to replica answers PING but refuses writes (READONLY).
      await commands.whenUp((redis) => redis.set(`${prefix}ready`, '1', 'PX', 60_000));
    },
    onResync(listener) {
      resyncs.add(listener);
      return () => resyncs.delete(listener);
    },
    async close() {
      await Promise.all([...publishing]);
      await presence.close();
      commands.client.disconnect();
      subscribeClient.disconnect();
    },
  };
}

/** `Realtime.listen` on the event target of the pub/sub (topics are named as `createPubSub` names them). */
function listener(target: {
  addEventListener(type: string, callback: never): void;
  removeEventListener(type: string, callback: never): void;
}): Realtime['listen'] {
  return (topic, id, listen) => {
    const name = `${topic}:${id}`;
    const callback = (event: { detail?: unknown }) => listen(event.detail as never);
    target.addEventListener(name, callback as never);
    return () => target.removeEventListener(name, callback as never);
  };
}
