import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config.ts';
import { RateLimitedError } from '../errors.ts';

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
  close(): Promise<void>;
}

export interface RateLimitsOptions {
  config: Pick<Config, 'redisUrl' | 'redisKeyPrefix' | 'rateLimits'>;
  onError?: (err: Error) => void;
}

const MINUTE = 60;

/** Budgets in Redis (with an in-memory fallback) when `redisUrl` is set, in memory otherwise. */
export function createRateLimits({ config, onError }: RateLimitsOptions): RateLimits {
  // Its own client: the limiter wants commands to fail at once while Redis is down (no offline
  // queue), so a request falls back to the in-memory budget instead of waiting.
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
    : null;
  redis?.on('error', (err) => onError?.(err));
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
    [[ipFailures, caller.ip] as const, ...(caller.userId ? [[userFailures, caller.userId] as const] : [])] as const;

  return {
    async mutation(caller) {
      await spend(ipMutations, caller.ip, 'Too many changes from this address');
      if (caller.userId) await spend(userMutations, caller.userId, 'Too many changes');
    },
    async assertNotLocked(caller) {
      for (const [budget, key] of failureKeys(caller)) {
        const res = await budget.get(key).catch(() => null);
        if (res && res.remainingPoints <= 0 && res.msBeforeNext > 0) throw tooMany('Too many failed attempts', res);
      }
    },
    async failed(caller) {
      for (const [budget, key] of failureKeys(caller)) await spend(budget, key, 'Too many failed attempts');
    },
    async close() {
      redis?.disconnect();
    },
  };
}

async function spend(budget: RateLimiterMemory | RateLimiterRedis, key: string, message: string): Promise<void> {
  try {
    await budget.consume(key);
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) throw tooMany(message, rejection);
    // The store failed and its in-memory insurance did too: let the request through.
  }
}

function tooMany(message: string, res: RateLimiterRes): RateLimitedError {
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
