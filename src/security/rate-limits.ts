import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config.ts';
import { RateLimitedError } from '../errors.ts';
import { mastersOf, newRedisClient, type RedisClient, type RedisTarget } from '../realtime/redis.ts';

/** Who is asking: the signed-in user (if any) and the client address. */
export interface Caller {
  userId: string | null;
  ip: string;
}

/** The caller a request context acts for. */
export function callerOf(ctx: { viewer: { id: string } | null; client: { ip: string } }): Caller {
  return { userId: ctx.viewer?.id ?? null, ip: ctx.client.ip };
}

/**
 * Request budgets per minute, shared by every instance through Redis when it is set (in process
 * otherwise). While Redis is unreachable each instance falls back to its own in-memory budget,
 * so limits keep holding and requests keep flowing.
 */
export interface RateLimits {
  /** Spends one mutation from the caller's budgets; throws `RateLimitedError` past either limit. */
  mutation(caller: Caller): Promise<void>;
  /** Throws `RateLimitedError` while the caller has failed authentication too often. */
  assertNotLocked(caller: Caller): Promise<void>;
  /**
   * Records a failed authentication or a wrong secret (invitation or link token); throws
   * `RateLimitedError` once the caller is over the limit.
   */
  failed(caller: Caller): Promise<void>;
  /**
   * Rejects while budgets would be counted per instance (the limiter's Redis connection is not up)
   * or lock-outs announced by other instances may go unheard: /readyz answers 503 meanwhile.
   */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface RateLimitsOptions {
  config: Pick<Config, 'redis' | 'redisKeyPrefix' | 'rateLimits'>;
  onError?: (err: Error) => void;
  /** Hears each refusal, by budget (`mutation`, `failure`): the metrics count them. */
  onRefused?: (budget: string) => void;
}

const MINUTE = 60;

/** Budgets in Redis (with an in-memory fallback) when `redis` is set, in memory otherwise. */
export function createRateLimits({ config, onError, onRefused }: RateLimitsOptions): RateLimits {
  const counted = async (budget: string, work: Promise<void>) => {
    try {
      await work;
    } catch (err) {
      if (err instanceof RateLimitedError) onRefused?.(budget);
      throw err;
    }
  };
  // Its own client: the limiter wants commands to fail at once while Redis is down (no offline
  // queue), so a request falls back to the in-memory budget instead of waiting. Commands sent in
  // the same turn of the event loop (concurrent requests' budgets) share one write.
  const redis = config.redis
    ? newRedisClient(config.redis, { enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: true })
    : null;
  redis?.on('error', (err) => onError?.(err));
  // Budgets counted per instance are not the shared ones: said out loud (at most every 10 s)
  // while it lasts, besides /readyz answering 503.
  let warnedAt = 0;
  const sayIfLocal = () => {
    if (!redis || redis.status === 'ready' || Date.now() - warnedAt < 10_000) return;
    warnedAt = Date.now();
    onError?.(new Error('Redis is unavailable: rate limits are counted per instance until it is back'));
  };
  const limiter = (name: string, points: number) => {
    const memory = new RateLimiterMemory({ points, duration: MINUTE, keyPrefix: name });
    if (!redis) return memory;
    return new RateLimiterRedis({
      storeClient: redis,
      points,
      duration: MINUTE,
      keyPrefix: `${config.redisKeyPrefix}ratelimit:${name}`,
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
    });
  };
  const { mutationsPerUser, mutationsPerIp, authFailuresPerIp } = config.rateLimits;
  const userMutations = limiter('mutation-user', mutationsPerUser);
  const ipMutations = limiter('mutation-ip', mutationsPerIp);
  const userFailures = limiter('failure-user', authFailuresPerIp);
  const ipFailures = limiter('failure-ip', authFailuresPerIp);
  const failureKeys = (caller: Caller) =>
    [
      [ipFailures, 'failure-ip', caller.ip] as const,
      ...(caller.userId ? [[userFailures, 'failure-user', caller.userId] as const] : []),
    ] as const;
  const locks = lockOuts(
    redis && config.redis ? { client: redis, target: config.redis, prefix: config.redisKeyPrefix, onError } : null,
    authFailuresPerIp,
  );

  return {
    mutation: (caller) => counted('mutation', mutation(caller)),
    assertNotLocked: (caller) => counted('failure', assertNotLocked(caller)),
    failed: (caller) => counted('failure', failed(caller)),
    async ready() {
      if (!redis) return;
      // A write, not the connection's status: a master demoted to replica still answers, but
      // refuses writes (READONLY), and the budgets would fall back to this instance's memory.
      await redis.set(`${config.redisKeyPrefix}ratelimit:ready`, '1', 'PX', 60_000);
      if (!locks.complete()) throw new Error('rate limits: lock-outs are not mirrored yet');
    },
    async close() {
      redis?.disconnect();
      locks.close();
    },
  };

  async function mutation(caller: Caller) {
    sayIfLocal();
    // Both budgets at once: one Redis write for the two (auto-pipelining), one round trip.
    const [ip, user] = await Promise.allSettled([
      spend(ipMutations, caller.ip, 'Too many changes from this address'),
      caller.userId ? spend(userMutations, caller.userId, 'Too many changes') : undefined,
    ]);
    if (ip.status === 'rejected') throw ip.reason;
    if (user.status === 'rejected') throw user.reason;
  }
  async function assertNotLocked(caller: Caller) {
    for (const [budget, name, key] of failureKeys(caller)) {
      const ms = locks.remaining(name, key);
      if (ms > 0) throw tooMany('Too many failed attempts', { msBeforeNext: ms });
      // Every lock-out is announced to every instance: none known means none, unless
      // announcements may have gone unheard (then the store is asked, as each request did).
      if (locks.complete()) continue;
      const res = await budget.get(key).catch(() => null);
      if (res && res.remainingPoints <= 0 && res.msBeforeNext > 0) throw tooMany('Too many failed attempts', res);
    }
  }
  async function failed(caller: Caller) {
    sayIfLocal();
    // The last point spent: the caller is locked out from now on, here and on every instance.
    for (const [budget, name, key] of failureKeys(caller)) {
      await spend(budget, key, 'Too many failed attempts', (ms) => locks.lock(name, key, ms));
    }
  }
}

/** Spends a point of `key`'s budget; `spent` hears when none is left (for how long), before a refusal. */
async function spend(
  budget: RateLimiterMemory | RateLimiterRedis,
  key: string,
  message: string,
  spent?: (ms: number) => void,
): Promise<void> {
  let res: RateLimiterRes;
  try {
    res = await budget.consume(key);
  } catch (rejection) {
    // Otherwise the store failed and its in-memory insurance did too: let the request through.
    if (!(rejection instanceof RateLimiterRes)) return;
    spent?.(rejection.msBeforeNext);
    throw tooMany(message, rejection);
  }
  if (res.remainingPoints <= 0) spent?.(res.msBeforeNext);
}

/**
 * The failed-attempt lock-outs in force, mirrored in every instance's memory so that checking a
 * request costs no Redis round trip (it was a quarter of a cached answer's CPU): the instance whose
 * failure spends a budget's last point announces the lock-out on Redis, every instance keeps it
 * until it ends, and one that (re)subscribes first reads the lock-outs already in the store.
 * `complete()` is false until then and while the subscription is down: the caller asks the store.
 * In memory (no Redis) every failure happens here, so the mirror is complete from the start.
 */
function lockOuts(
  redis: { client: RedisClient; target: RedisTarget; prefix: string; onError?: (err: Error) => void } | null,
  points: number,
) {
  // Each lock-out is dropped when it ends, looked at again or not (many addresses may be locked).
  const until = new LRUCache<string, number>({ max: 100_000 });
  const lock = (name: string, key: string, ms: number) => {
    const id = `${name}:${key}`;
    const end = Date.now() + ms;
    if (ms > 0 && end > (until.get(id) ?? 0)) until.set(id, end, { ttl: Math.ceil(ms) });
  };
  const remaining = (name: string, key: string) => {
    const end = until.get(`${name}:${key}`);
    return end === undefined ? 0 : end - Date.now();
  };
  if (!redis) return { lock, remaining, complete: () => true, close() {} };

  const onError = (err: Error) => redis.onError?.(err);
  const channel = `${redis.prefix}ratelimit:lock-outs`;
  // The limiter's own client announces and reads the store; a subscriber needs a connection of its own.
  const publisher = redis.client;
  const subscriber = newRedisClient(redis.target, { maxRetriesPerRequest: null });
  subscriber.on('error', onError);
  let complete = false;
  subscriber.on('message', (_channel: string, message: string) => {
    const { name, key, ms } = JSON.parse(message) as { name: string; key: string; ms: number };
    lock(name, key, ms);
  });
  subscriber.on('close', () => {
    complete = false;
  });
  subscriber.on('ready', () => {
    subscriber
      .subscribe(channel)
      .then(() => readyOf(publisher))
      .then(() => readStore(publisher, `${redis.prefix}ratelimit:failure-`, points, lock))
      .then(() => {
        complete = subscriber.status === 'ready';
      })
      .catch(onError);
  });
  return {
    lock(name: string, key: string, ms: number) {
      lock(name, key, ms);
      publisher.publish(channel, JSON.stringify({ name, key, ms })).catch(onError);
    },
    remaining,
    complete: () => complete,
    close() {
      complete = false;
      subscriber.disconnect();
    },
  };
}

/** Resolves once `redis` is connected (it queues no commands before). */
function readyOf(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => redis.once('ready', () => resolve()));
}

/** Reads the lock-outs in force from the store: the failure budgets whose points are all spent. */
async function readStore(
  redis: RedisClient,
  prefix: string,
  points: number,
  lock: (name: string, key: string, ms: number) => void,
): Promise<void> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  // A Cluster's keys are spread over its masters: each is scanned, and read, on its own.
  for (const node of mastersOf(redis)) await readNode(node, pattern, prefix, points, lock);
}

async function readNode(
  redis: Redis,
  pattern: string,
  prefix: string,
  points: number,
  lock: (name: string, key: string, ms: number) => void,
): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (!keys.length) continue;
    const pipeline = redis.pipeline();
    for (const k of keys) pipeline.get(k).pttl(k);
    const replies = (await pipeline.exec()) ?? [];
    keys.forEach((k, i) => {
      const spent = Number(replies[2 * i]?.[1]);
      const ms = Number(replies[2 * i + 1]?.[1]);
      // `<prefix>failure-ip:<key>`: the budget's name, then the key (which may hold colons).
      const rest = k.slice(prefix.length - 'failure-'.length);
      const colon = rest.indexOf(':');
      if (spent >= points && ms > 0 && colon > 0) lock(rest.slice(0, colon), rest.slice(colon + 1), ms);
    });
  } while (cursor !== '0');
}

function tooMany(message: string, res: Pick<RateLimiterRes, 'msBeforeNext'>): RateLimitedError {
  const retryAfterSeconds = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  return new RateLimitedError(`${message}; try again in ${retryAfterSeconds} s`, retryAfterSeconds);
}

/**
 * Runs a look-up by secret token (an invitation token, a list link token) under the caller's
 * failed-attempt budget: a miss spends from it, and a caller who missed too often is refused
 * before looking, so guessing tokens, even many per request with aliases, gains nothing.
 */
export async function lookUpSecret<T>(
  limits: RateLimits,
  caller: Caller,
  find: () => Promise<T | null>,
): Promise<T | null> {
  await limits.assertNotLocked(caller);
  const found = await find();
  if (found === null) await limits.failed(caller);
  return found;
}
