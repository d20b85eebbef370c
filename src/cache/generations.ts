import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';
import { connectRedis, type RedisTarget } from '../realtime/redis.ts';

/**
 * The generation of the data, as this instance knows it: a number that moves on with every write.
 * A cached answer is stored under the generation in which it started executing, so one that
 * overlapped a write is never served again.
 */
export interface Generations {
  /** The current generation, or null while writes of other instances could go unheard (Redis down). */
  current(): number | null;
  /** Calls `listener` at each new generation (the cache drops its entries). */
  onChange(listener: () => void): void;
  close(): Promise<void>;
}

export interface GenerationOptions {
  db: Db;
  log: Logger;
  /** Other instances' writes arrive through Redis; without it this instance is the only writer. */
  redis: RedisTarget | undefined;
  redisKeyPrefix: string;
}

/** Any statement but a plain read: INSERT, UPDATE, DELETE, COMMIT, a CTE, a raw statement. */
const READ_ONLY = /^\s*SELECT\b/i;

/**
 * Moves the generation on at every statement this instance sends that could change data (Prisma's
 * query events report each one as it completes, the COMMIT of a transaction included), and at
 * every write another instance announces on Redis. Announcements are coalesced to one per turn of
 * the event loop. While the Redis subscription is down, `current()` is null: the cache is off until
 * it is back, and then a new generation starts, since announcements may have been missed.
 */
export function watchGenerations(options: GenerationOptions): Generations {
  const { db, log } = options;
  const listeners: (() => void)[] = [];
  let generation = 0;
  const next = () => {
    generation++;
    for (const listener of listeners) listener();
  };

  if (!options.redis) {
    db.$on('query', (e) => {
      if (!READ_ONLY.test(e.query)) next();
    });
    return { current: () => generation, onChange: (l) => void listeners.push(l), close: async () => {} };
  }

  const channel = `${options.redisKeyPrefix}cache:writes`;
  const me = randomUUID();
  const onError = (err: Error) => log.warn({ err: err.message }, 'response cache: redis error');
  const publisher = connectRedis(options.redis, onError);
  const subscriber = connectRedis(options.redis, onError).client;
  let listening = false;
  let announcing = false;
  const announce = () => {
    announcing = false;
    publisher.whenUp((c) => c.publish(channel, me)).catch(onError);
  };
  db.$on('query', (e) => {
    if (READ_ONLY.test(e.query)) return;
    next();
    if (!announcing) {
      announcing = true;
      setImmediate(announce);
    }
  });
  subscriber.on('message', (_channel: string, from: string) => {
    if (from !== me) next();
  });
  // Lost: answers may be missing other instances' writes from now on. Back: some may have been missed.
  subscriber.on('close', () => {
    listening = false;
    next();
  });
  subscriber.on('ready', () => {
    subscriber
      .subscribe(channel)
      .then(() => {
        listening = true;
        next();
      })
      .catch(onError);
  });
  return {
    current: () => (listening ? generation : null),
    onChange: (l) => void listeners.push(l),
    async close() {
      listening = false;
      subscriber.disconnect();
      await publisher.client.quit().catch(() => publisher.client.disconnect());
    },
  };
}
