import { Repeater } from 'graphql-yoga';
import type { Realtime } from './pubsub.ts';

/** The first value of a live stream: the subscription is acknowledged and no event will be missed. */
export const SUBSCRIBED = Symbol('subscribed');

/**
 * Opens `source` and yields SUBSCRIBED once the pub/sub has acknowledged it, then every event.
 * An event published before the acknowledgement would be lost, so callers announce presence or
 * tell the client it is live only after SUBSCRIBED.
 */
export function live<T>(realtime: Realtime, source: AsyncIterable<T>): Repeater<T | typeof SUBSCRIBED> {
  return new Repeater<T | typeof SUBSCRIBED>(async (push, stop) => {
    const iterator = source[Symbol.asyncIterator]();
    // Asking for the first event starts the underlying subscription.
    let next = iterator.next();
    const stopped = stop.then(() => ({ done: true as const, value: undefined }));
    try {
      await Promise.race([realtime.ready(), stopped]);
      await push(SUBSCRIBED);
      while (true) {
        const result = await Promise.race([next, stopped]);
        if (result.done) break;
        await push(result.value);
        next = iterator.next();
      }
    } finally {
      stop();
      await iterator.return?.();
    }
  });
}

/**
 * A subscription's event stream whose cleanup runs as soon as the client leaves. An async
 * generator cannot be stopped while it awaits its next event (its `return()` waits in line), so
 * presence would linger until the next event; a Repeater stops at once.
 */
export function stream<T>(
  run: (push: (value: T) => Promise<unknown>, stopped: Promise<unknown>) => Promise<void>,
): Repeater<T> {
  return new Repeater<T>(async (push, stop) => {
    try {
      await run(push, stop);
    } finally {
      stop();
    }
  });
}

/** The value `resyncs` yields: the pub/sub came back from an outage and events may have been lost. */
export const RESYNC = Symbol('resync');

/** Yields RESYNC each time the pub/sub recovers from an outage, to merge into a stream's sources. */
export function resyncs(realtime: Realtime): Repeater<typeof RESYNC> {
  return new Repeater<typeof RESYNC>(async (push, stop) => {
    const off = realtime.onResync(() => void push(RESYNC));
    await stop;
    off();
  });
}
