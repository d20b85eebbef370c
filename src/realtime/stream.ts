import type { Realtime } from './pubsub.ts';

/** The first value of a live stream: the subscription is acknowledged and no event will be missed. */
export const SUBSCRIBED = Symbol('subscribed');

/**
 * Opens `source` and yields SUBSCRIBED once the pub/sub has acknowledged it, then every event.
 * An event published before the acknowledgement would be lost, so callers announce presence or
 * tell the client it is live only after SUBSCRIBED.
 */
export async function* live<T>(realtime: Realtime, source: AsyncIterable<T>): AsyncGenerator<T | typeof SUBSCRIBED> {
  const iterator = source[Symbol.asyncIterator]();
  // Asking for the first event starts the underlying subscription.
  let next = iterator.next();
  try {
    await realtime.ready();
    yield SUBSCRIBED;
    while (true) {
      const result = await next;
      if (result.done) return;
      yield result.value;
      next = iterator.next();
    }
  } finally {
    await iterator.return?.();
  }
}
