import { Redis, type RedisOptions } from 'ioredis';

/** Redis could not be reached: the command was not sent. Requests that needed it answer 503. */
export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
  constructor() {
    super('Redis is unavailable');
  }
}

/** An ioredis client and a way to run commands that fail at once while its connection is down. */
export interface RedisConnection {
  client: Redis;
  /**
   * Runs `command` when the connection is up (or still opening for the first time); otherwise
   * rejects with RedisUnavailableError without sending it. ioredis would keep it in its offline
   * queue until Redis returns (with `maxRetriesPerRequest: null`, forever) and then send it late.
   */
  whenUp<T>(command: (client: Redis) => Promise<T>): Promise<T>;
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
export function connectRedis(url: string, onError: (err: Error) => void, options: RedisOptions = {}): RedisConnection {
  const client = new Redis(url, { maxRetriesPerRequest: null, ...options });
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
