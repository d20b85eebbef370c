import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** One Redis server: host and port. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Where Redis is: a standalone server's URL (REDIS_URL), a master watched by Sentinels
 * (REDIS_SENTINELS + REDIS_SENTINEL_NAME), or a Cluster (REDIS_CLUSTER_NODES).
 */
export type RedisTarget = string | { sentinels: HostPort[]; name: string } | { clusterNodes: HostPort[] };

/** A client of any of the three: their commands, pub/sub and events are the same. */
export type RedisClient = Redis | Cluster;

/**
 * The one place Redis clients are made (pub/sub, presence, rate limits, response-cache
 * invalidation), so each mode is configured once:
 * - Sentinel: the client asks the sentinels for the master, follows a failover as the sentinels
 *   announce it, and reconnects (resending the command) when a server answers READONLY: a master
 *   demoted to replica is never written to again.
 * - Cluster: keys are routed by slot; keys one script or transaction touches share a hash tag.
 */
export function newRedisClient(target: RedisTarget, given: RedisOptions = {}): RedisClient {
  const options: RedisOptions = { retryStrategy: reconnectDelay, ...given };
  if (typeof target === 'string') return new Redis(target, options);
  if ('sentinels' in target) {
    return new Redis({
      ...options,
      sentinels: target.sentinels,
      name: target.name,
      role: 'master',
      sentinelRetryStrategy: reconnectDelay,
      failoverDetector: true,
      reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
    });
  }
  const { enableOfflineQueue, enableAutoPipelining, lazyConnect, ...redisOptions } = options;
  return new Cluster(target.clusterNodes, {
    redisOptions,
    clusterRetryStrategy: reconnectDelay,
    scaleReads: 'master',
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }),
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
  });
}

/**
 * How long to wait before reconnecting attempt `times`: ioredis' default grows to 2 s, which is
 * how late events and presence resume after Redis returns; half a second keeps that short.
 */
function reconnectDelay(times: number): number {
  return Math.min(times * 50, 500);
}

/** The masters of a Cluster, or the client itself: what a SCAN over every key must visit. */
export function mastersOf(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/** Redis could not be reached: the command was not sent. Requests that needed it answer 503. */
export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
  constructor() {
    super('Redis is unavailable');
  }
}

/** An ioredis client and a way to run commands that fail at once while its connection is down. */
export interface RedisConnection {
  client: RedisClient;
  /**
   * Runs `command` when the connection is up (or still opening for the first time); otherwise
   * rejects with RedisUnavailableError without sending it. ioredis would keep it in its offline
   * queue until Redis returns (with `maxRetriesPerRequest: null`, forever) and then send it late.
   */
  whenUp<T>(command: (client: RedisClient) => Promise<T>): Promise<T>;
}

/**
 * How long a command on a connection that looks up may take before it fails: a hung Redis. Long
 * enough that a merely busy Redis (a join storm) is not mistaken for a hung one.
 */
const COMMAND_TIMEOUT_MS = 5_000;

/**
 * Opens a client that reconnects forever. Commands run through `whenUp` fail fast during an
 * outage; commands sent directly (subscriptions) wait in the offline queue and run on reconnect.
 */
export function connectRedis(
  target: RedisTarget,
  onError: (err: Error) => void,
  options: RedisOptions = {},
): RedisConnection {
  const client = newRedisClient(target, { maxRetriesPerRequest: null, ...options });
  client.on('error', onError);
  let wasReady = false;
  client.once('ready', () => {
    wasReady = true;
  });
  return {
    client,
    whenUp(command) {
      if (wasReady && client.status !== 'ready') return Promise.reject(new RedisUnavailableError());
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        // On a busy event loop the timer fires late, in the same turn as a reply that arrived
        // meanwhile: reject after the poll phase (setImmediate), so that reply wins the race.
        timer = setTimeout(() => setImmediate(() => reject(new RedisUnavailableError())), COMMAND_TIMEOUT_MS);
      });
      return Promise.race([command(client), timeout]).finally(() => clearTimeout(timer));
    },
  };
}
