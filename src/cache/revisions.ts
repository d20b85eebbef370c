import { RevisionNotReachedError, ValidationError } from '../errors.ts';
import type { Generations, Revision } from './generations.ts';

export type { Revision };

/**
 * Read your writes across instances (Zanzibar's zookies, at the API). Every mutation's payload
 * carries `accessRevision`, a token naming the writes made so far; a request that hands it back
 * (`minRevision`, or the `X-Access-Revision` header) is answered only by caches that have applied
 * those writes, here or on any other instance.
 *
 * The token is `<epoch>.<n>`: the n-th write announced on the invalidation bus
 * (`watchGenerations`) under that counter. Its format is not a contract: clients store it and hand
 * it back. `none.<n>`, given when no bus vouches for the writes (the response cache is off, or
 * the announcement could not be made), asks every instance to answer from PostgreSQL.
 */
export interface Revisions {
  /** The token for a mutation's payload: covers every write this instance has made (the caller's committed). */
  issued(): Promise<string>;
  /**
   * What a request that handed back `token` needs from the caches it uses: a revision they must
   * have applied (after waiting for this instance to apply it), or `FROM_DATABASE` (none of them
   * can vouch: every cache is bypassed).
   * @throws ValidationError for a malformed token or one ahead of every write made (from the future)
   * @throws RevisionNotReachedError when this instance could not catch up within the bounded wait
   */
  require(token: string, path?: string[]): Promise<Revision>;
  /** The revision this instance has applied now, to stamp what a cache keeps; null while it cannot know. */
  applied(): Revision | null;
}

/** The requirement no cache meets: the request is answered from PostgreSQL. */
export const FROM_DATABASE: Revision = Object.freeze({ epoch: '', n: Number.POSITIVE_INFINITY });

/** Whether something kept at revision `kept` may serve a request that needs `needed` (null: nothing). */
export function serves(kept: Revision | null, needed: Revision | null): boolean {
  return !needed || (!!kept && kept.epoch === needed.epoch && kept.n >= needed.n);
}

/** The stricter of two requirements. */
export function stricter(a: Revision | null, b: Revision | null): Revision | null {
  if (!a || !b) return a ?? b;
  if (a === FROM_DATABASE || b === FROM_DATABASE || a.epoch !== b.epoch) return FROM_DATABASE;
  return a.n >= b.n ? a : b;
}

const TOKEN = /^([0-9a-z]{1,32})\.(\d{1,15})$/;
const NO_BUS = 'none';

/** Reads a token handed back by a client; `path` names where it came from, for the error. */
export function parseRevision(token: string, path: string[]): Revision {
  const m = TOKEN.exec(token);
  if (!m) throw new ValidationError('Not an access revision (hand back an accessRevision as it was given)', path);
  return { epoch: m[1] as string, n: Number(m[2]) };
}

const format = (r: Revision) => `${r.epoch}.${r.n}`;

/**
 * The revisions of this instance's bus (`generations`), or, when there is none (the response
 * cache is off), tokens that make every instance answer from PostgreSQL. `waitMs` bounds how long
 * a request waits for this instance to catch up (ACCESS_REVISION_WAIT_MS).
 */
export function createRevisions(generations: Generations | null, waitMs: number): Revisions {
  if (!generations) {
    return {
      issued: async () => format({ epoch: NO_BUS, n: 0 }),
      async require(token, path = ['minRevision']) {
        parseRevision(token, path);
        return FROM_DATABASE;
      },
      applied: () => null,
    };
  }
  const bus = generations.revisions;
  // One look-up of the counter at a time. A request joins the next one to start, never one already
  // under way (it could have read the counter before the write the request asks for): however many
  // requests wait, at most two look-ups are asked for.
  let running: Promise<Revision> | null = null;
  let next: Promise<Revision> | null = null;
  const start = (): Promise<Revision> => {
    const done = bus.sync();
    running = done;
    const settled = () => {
      if (running === done) running = null;
    };
    done.then(settled, settled);
    return done;
  };
  const syncAfterNow = (): Promise<Revision> => {
    if (!running) return start();
    if (!next) {
      const after = running.then(
        () => undefined,
        () => undefined,
      );
      next = after.then(() => {
        next = null;
        return start();
      });
      next.catch(() => {});
    }
    return next;
  };
  return {
    async issued() {
      try {
        return format(await bus.announced());
      } catch {
        return format({ epoch: NO_BUS, n: bus.applied()?.n ?? 0 });
      }
    },
    async require(token, path = ['minRevision']) {
      const needed = parseRevision(token, path);
      if (needed.epoch === NO_BUS) return FROM_DATABASE;
      const now = bus.applied();
      // The bus is down: this instance cannot know what it missed, and its caches are off meanwhile.
      if (!now) return FROM_DATABASE;
      if (serves(now, needed)) return needed;
      let counter: Revision;
      try {
        counter = await withTimeout(syncAfterNow(), waitMs);
      } catch (err) {
        if (err === TIMED_OUT) throw new RevisionNotReachedError(Math.max(1, Math.ceil(waitMs / 1000)));
        return FROM_DATABASE;
      }
      // A counter Redis no longer has (it lost its data): every instance has ended its answers since.
      if (counter.epoch !== needed.epoch) return bus.applied() ?? FROM_DATABASE;
      if (needed.n > counter.n) {
        throw new ValidationError('This access revision is ahead of every write made', path);
      }
      return needed;
    },
    applied: () => bus.applied(),
  };
}

const TIMED_OUT = new Error('timed out');

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(TIMED_OUT), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
