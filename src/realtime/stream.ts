import { Repeater } from 'graphql-yoga';
import type { Realtime, Topics } from './pubsub.ts';

/** The first value of a live stream: the subscription is acknowledged and no event will be missed. */
export const SUBSCRIBED = Symbol('subscribed');

/** The value a stream yields when the pub/sub came back from an outage and events may have been lost. */
export const RESYNC = Symbol('resync');

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * What one consumer reads with `for await`: values pushed by a producer, in order. Its `return()`
 * ends it at once, even while the consumer waits for the next value, and runs `onReturn`. A
 * subscription holds one or two of these for as long as it is open, so it is a queue and a
 * waiter, not a chain of promises per value.
 */
export class Queue<T> implements AsyncIterableIterator<T> {
  private values: T[] | undefined;
  private waiter: { resolve(result: IteratorResult<T>): void; reject(error: unknown): void } | undefined;
  private ending: { error?: unknown } | undefined;
  private returned = false;

  constructor(private onReturn?: () => void) {}

  push(value: T): void {
    if (this.returned || this.ending) return;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.resolve({ done: false, value });
    } else if (this.values) this.values.push(value);
    else this.values = [value];
  }

  /** Ends the queue once the values pushed so far are read; with `error`, the last read rejects with it. */
  finish(error?: unknown): void {
    if (this.returned || this.ending) return;
    this.ending = error === undefined ? {} : { error };
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      this.settleEnd(waiter);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.values?.length) return Promise.resolve({ done: false, value: this.values.shift() as T });
    if (this.returned) return Promise.resolve(DONE);
    if (this.ending) return new Promise((resolve, reject) => this.settleEnd({ resolve, reject }));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.returned) {
      this.returned = true;
      this.values = undefined;
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter?.resolve(DONE);
      const onReturn = this.onReturn;
      this.onReturn = undefined;
      onReturn?.();
    }
    return Promise.resolve(DONE);
  }

  async throw(error: unknown): Promise<IteratorResult<T>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  private settleEnd(waiter: { resolve(result: IteratorResult<T>): void; reject(error: unknown): void }) {
    const error = this.ending && 'error' in this.ending ? this.ending.error : undefined;
    this.returned = true;
    this.onReturn = undefined;
    if (error !== undefined) waiter.reject(error);
    else waiter.resolve(DONE);
  }
}

/**
 * The events of `topics` about `id` on this instance: SUBSCRIBED once the pub/sub has
 * acknowledged the subscription, then every event in arrival order (those that arrived before
 * the acknowledgement right after SUBSCRIBED), and with `resync`, RESYNC each time the pub/sub
 * recovered from an outage. An event published before the acknowledgement would be lost, so
 * callers announce presence or tell the client it is live only after SUBSCRIBED.
 */
export function liveTopics<K extends keyof Topics, R extends boolean = false>(
  realtime: Realtime,
  id: string,
  topics: readonly K[],
  options: { resync?: R } = {},
): Queue<Topics[K][1] | typeof SUBSCRIBED | (R extends true ? typeof RESYNC : never)> {
  type Value = Topics[K][1] | typeof SUBSCRIBED | (R extends true ? typeof RESYNC : never);
  let early: Value[] | undefined = [];
  const offs: (() => void)[] = [];
  const queue = new Queue<Value>(() => {
    for (const off of offs) off();
  });
  const take = (value: Value) => {
    if (early) early.push(value);
    else queue.push(value);
  };
  for (const topic of topics) offs.push(realtime.listen(topic, id, take));
  if (options.resync) offs.push(realtime.onResync(() => queue.push(RESYNC as Value)));
  void realtime.ready().then(() => {
    const arrived = early ?? [];
    early = undefined;
    queue.push(SUBSCRIBED);
    for (const value of arrived) queue.push(value);
  });
  return queue;
}

/**
 * Opens `source` and yields SUBSCRIBED once the pub/sub has acknowledged it, then every event.
 * An event published before the acknowledgement would be lost, so callers announce presence or
 * tell the client it is live only after SUBSCRIBED. (`liveTopics` does the same for topics
 * without a Repeater per subscriber.)
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

const PUSHED = Promise.resolve();

/**
 * A subscription's event stream: `run` pushes what the subscriber is sent, in order, and is told
 * through `stopped` when the client leaves. The stream ends when `run` returns, with its error
 * when it throws; its cleanup runs as soon as the client leaves, even while `run` waits for its
 * next event (an async generator's `return()` would wait in line, so presence would linger until
 * the next event).
 */
export function stream<T>(
  run: (push: (value: T) => Promise<unknown>, stopped: Promise<unknown>) => Promise<void>,
): AsyncIterableIterator<T> {
  let stop = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const queue = new Queue<T>(() => stop());
  const push = (value: T) => {
    queue.push(value);
    return PUSHED;
  };
  run(push, stopped).then(
    () => {
      queue.finish();
      stop();
    },
    (error: unknown) => {
      queue.finish(error ?? new Error('stream failed'));
      stop();
    },
  );
  return queue;
}
