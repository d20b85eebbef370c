import type { Db } from '../../db/client.ts';
import type { ListEventPayload, Realtime } from '../../realtime/pubsub.ts';
import { eventsAfter, lastSeqOf } from './event-log.ts';

/** Receives a list's events on this instance, each once and in order of their numbers. */
export type FeedListener = (event: ListEventPayload) => void;

/** One stream's hold on a list's feed. */
export interface FeedAttachment {
  /**
   * The number of the last event before those the listener will receive: it receives every
   * later one, in order, without a gap or a repeat.
   */
  start: Promise<number>;
  detach(): void;
}

/** How long a feed outlives its last listener: a client that reloads finds it still live. */
const LINGER_MS = 5_000;
/** Events read from PostgreSQL per query while a gap is filled. */
const PAGE = 500;

/**
 * A list's events on this instance, in order and complete: Redis is the fast path, PostgreSQL
 * the record. An event whose number is not the next one (a publish lost, or two instances'
 * publishes crossing) waits while the missing ones are read from `ListEvent`; after a pub/sub
 * outage everything after the last event passed on is read from there too. One feed per list
 * serves every stream of the list on the instance, so a gap costs one query, not one per
 * subscriber, and every subscriber gets the same payload object (results are shared per event).
 */
class ListFeed {
  private readonly listeners = new Set<FeedListener>();
  /** The last event passed on; unknown until the subscription is live and the number read. */
  private last: number | undefined;
  /** Events that arrived ahead of a gap, by number. */
  private readonly ahead = new Map<number, ListEventPayload>();
  private filling = false;
  private fillAgain = false;
  private closed = false;
  private readonly started: Promise<number>;
  private readonly offs: (() => void)[] = [];
  private lingering: NodeJS.Timeout | undefined;

  constructor(
    private readonly realtime: Realtime,
    private readonly db: Db,
    private readonly listId: string,
    private readonly onError: (err: Error) => void,
    private readonly onIdle: () => void,
  ) {
    this.offs.push(realtime.listen('list:events', listId, (event) => this.receive(event)));
    this.offs.push(realtime.onResync(() => this.fill()));
    this.started = this.start();
  }

  attach(listener: FeedListener): FeedAttachment {
    clearTimeout(this.lingering);
    this.listeners.add(listener);
    let detached = false;
    return {
      // Taken now: a listener attached after the start receives what comes after the current event.
      start: this.last === undefined ? this.started : Promise.resolve(this.last),
      detach: () => {
        if (detached) return;
        detached = true;
        this.listeners.delete(listener);
        if (this.listeners.size) return;
        this.lingering = setTimeout(() => {
          if (this.listeners.size) return;
          this.closed = true;
          for (const off of this.offs) off();
          this.onIdle();
        }, LINGER_MS);
        this.lingering.unref();
      },
    };
  }

  /** Once the subscription is live, the list's last event number: later events will all be heard or filled. */
  private async start(): Promise<number> {
    await this.realtime.ready();
    const last = await this.retrying(() => lastSeqOf(this.db, this.listId));
    this.last = last;
    this.drain();
    return last;
  }

  private receive(event: ListEventPayload): void {
    if (this.last === undefined) {
      this.ahead.set(event.seq, event);
      return;
    }
    if (event.seq <= this.last) return;
    if (event.seq === this.last + 1 && !this.filling) {
      this.emit(event);
      this.drain();
      return;
    }
    this.ahead.set(event.seq, event);
    this.fill();
  }

  private emit(event: ListEventPayload): void {
    this.last = event.seq;
    for (const listener of this.listeners) listener(event);
  }

  /** Passes on the events waiting right after the last one; a gap left behind is filled. */
  private drain(): void {
    if (this.last === undefined) return;
    for (let next = this.ahead.get(this.last + 1); next; next = this.ahead.get(this.last + 1)) {
      this.ahead.delete(next.seq);
      this.emit(next);
    }
    for (const seq of this.ahead.keys()) if (seq <= this.last) this.ahead.delete(seq);
    if (this.ahead.size && !this.filling) this.fill();
  }

  /** Reads from PostgreSQL every event after the last one passed on, and passes them on in order. */
  private fill(): void {
    if (this.last === undefined || this.closed) return;
    if (this.filling) {
      this.fillAgain = true;
      return;
    }
    this.filling = true;
    void (async () => {
      do {
        this.fillAgain = false;
        for (;;) {
          const from = this.last ?? 0;
          const page = await this.retrying(() => eventsAfter(this.db, this.listId, from, { limit: PAGE }));
          if (this.closed) return;
          const before = this.last;
          for (const row of page) {
            if (row.seq !== (this.last ?? 0) + 1) continue;
            // The copy that came through Redis, when there is one: it may already carry shared results.
            const event = this.ahead.get(row.seq) ?? row;
            this.ahead.delete(row.seq);
            this.emit(event);
          }
          if (page.length < PAGE || this.last === before) break;
        }
        const last = this.last ?? 0;
        // Ahead of what PostgreSQL holds: events older than the retention were pruned meanwhile.
        const lowest = Math.min(...this.ahead.keys());
        if (this.ahead.size && lowest > last + 1 && !this.fillAgain) this.last = lowest - 1;
      } while (this.fillAgain);
      this.filling = false;
      this.drain();
    })().catch((err: unknown) => {
      this.filling = false;
      this.onError(err instanceof Error ? err : new Error(String(err)));
    });
  }

  /** Runs `read` until it succeeds (PostgreSQL may be down for a moment), backing off up to 5 s. */
  private async retrying<T>(read: () => Promise<T>): Promise<T> {
    for (let delay = 100; ; delay = Math.min(delay * 2, 5_000)) {
      try {
        return await read();
      } catch (err) {
        if (this.closed) throw err;
        this.onError(err instanceof Error ? err : new Error(String(err)));
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}

const feeds = new WeakMap<Realtime, Map<string, ListFeed>>();

/**
 * Attaches `listener` to the list's feed on this instance (made on first use): from `start` on,
 * it receives every event of the list once, in order, filled from PostgreSQL where Redis lost any.
 */
export function attachToList(
  realtime: Realtime,
  db: Db,
  listId: string,
  listener: FeedListener,
  onError: (err: Error) => void,
): FeedAttachment {
  let lists = feeds.get(realtime);
  if (!lists) {
    lists = new Map();
    feeds.set(realtime, lists);
  }
  let feed = lists.get(listId);
  if (!feed) {
    const all = lists;
    const made: ListFeed = new ListFeed(realtime, db, listId, onError, () => {
      if (all.get(listId) === made) all.delete(listId);
    });
    feed = made;
    lists.set(listId, feed);
  }
  return feed.attach(listener);
}
