import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, type PubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';
import { memoryPresenceStore, type PresenceStore, redisPresenceStore } from './presence.ts';

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
    | 'LIST_RENAMED'
    | 'LIST_DELETED'
    | 'ACCESS_CHANGED';
  listId: string;
  itemId?: string;
  /** On ITEM_UPDATED: `title` and/or the keys of `fields` that changed. */
  changedFields?: string[];
  /** The item version after the change. */
  version?: number;
  /** On UPDATE_POSTED: the ItemUpdate id. */
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
  /** A cheap round trip, for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface RealtimeOptions {
  redisUrl?: string | undefined;
  keyPrefix?: string;
  onError?: (err: Error) => void;
}

/** In-process pub/sub, or Redis pub/sub when `redisUrl` is set. */
export function createRealtime(options: RealtimeOptions): Realtime {
  if (!options.redisUrl) {
    return {
      pubsub: createPubSub<Topics>(),
      presence: memoryPresenceStore(),
      kind: 'memory',
      ready: () => Promise.resolve(),
      ping: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
  }
  const prefix = options.keyPrefix ?? '';
  const onError = options.onError ?? (() => {});
  const redisOptions = { maxRetriesPerRequest: null, enableAutoPipelining: true, lazyConnect: false };
  const publishClient = new Redis(options.redisUrl, redisOptions);
  const subscribeClient = new Redis(options.redisUrl, redisOptions);
  publishClient.on('error', onError);
  subscribeClient.on('error', onError);
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    const settled = p.catch(onError).finally(() => pending.delete(settled));
    pending.add(settled);
    return settled;
  };
  // The event target names channels after topics; these adapters add REDIS_KEY_PREFIX so runs
  // and deployments sharing one Redis never hear each other, and turn publish failures during a
  // Redis outage into logged errors instead of unhandled rejections.
  const eventTarget = createRedisEventTarget({
    publishClient: {
      publish: (channel: string, message: string) => track(publishClient.publish(prefix + channel, message)),
    } as unknown as Redis,
    subscribeClient: {
      on: (_event: 'message', listener: (channel: string, message: string) => void) => {
        subscribeClient.on('message', (channel: string, message: string) => {
          if (channel.startsWith(prefix)) listener(channel.slice(prefix.length), message);
        });
      },
      subscribe: (channel: string) => track(subscribeClient.subscribe(prefix + channel)),
      unsubscribe: (channel: string) => track(subscribeClient.unsubscribe(prefix + channel)),
    } as unknown as Redis,
  });
  const presence = redisPresenceStore(options.redisUrl, prefix, onError);
  return {
    pubsub: createPubSub<Topics>({ eventTarget }),
    presence,
    kind: 'redis',
    async ready() {
      await Promise.all([...pending]);
    },
    async ping() {
      await publishClient.ping();
    },
    async close() {
      await Promise.all([...pending]);
      await presence.close();
      publishClient.disconnect();
      subscribeClient.disconnect();
    },
  };
}
