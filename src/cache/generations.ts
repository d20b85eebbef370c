import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';
import { Prisma } from '../generated/prisma/client.ts';
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
  /**
   * The sequence of list-content writes (`writeListContent`) this instance has seen, its own and
   * other instances': an answer started at `contentSeq()` is stale for an account whose
   * `lastContentWrite` is above it.
   */
  contentSeq(): number;
  lastContentWrite(accountId: string): number;
  /** Calls `listener` with the account of each list-content write (the cache drops its answers). */
  onContentChange(listener: (accountId: string) => void): void;
  /** Where this instance stands in the sequence of announced writes (src/cache/revisions.ts). */
  revisions: RevisionBus;
  close(): Promise<void>;
}

/**
 * A point in the sequence of writes announced on the bus: `n` counts them, `epoch` names the
 * counter (a Redis that lost its data, or an instance without Redis that restarted, starts another).
 */
export interface Revision {
  epoch: string;
  n: number;
}

/**
 * The bus's side of access revisions. Every announcement takes the next revision, atomically with
 * its publication (one Redis script), so every subscriber hears revisions in order: an instance
 * that has applied revision n has ended every answer that a write announced up to n could change.
 */
export interface RevisionBus {
  /** The last revision this instance has applied (heard, and ended the answers it concerns); null before it knows one. */
  applied(): Revision | null;
  /** The revision of the latest announcement of this instance's own writes so far; rejects when it could not be made. */
  announced(): Promise<Revision>;
  /**
   * Reads the latest revision from Redis and returns once every announcement up to it is applied
   * here (missed ones end every answer instead). Rejects while the bus is down.
   */
  sync(): Promise<Revision>;
}

export interface GenerationOptions {
  db: Db;
  log: Logger;
  /** Other instances' writes arrive through Redis; without it this instance is the only writer. */
  redis: RedisTarget | undefined;
  redisKeyPrefix: string;
}

/**
 * Statements sent inside `unheard.run(true, …)` move no generation: a transaction that is always
 * rolled back (`previewAccessChange`) changes nothing another request could read, so it must not
 * end the answers the cache keeps.
 */
export const unheard = new AsyncLocalStorage<boolean>();

/**
 * Any statement but a plain read (background work's reads included, see `BACKGROUND`): INSERT,
 * UPDATE, DELETE, COMMIT, a CTE, a raw statement.
 */
const READ_ONLY = /^\s*(\/\* background \*\/\s*)?SELECT\b/i;

/**
 * Opens a statement that changes only the content of lists of one account (items, their updates,
 * the audit rows of those changes): such a statement does not end a generation, only the answers
 * that could read that account's lists (`writeListContent` announces it).
 */
const LIST_CONTENT = '/* list-content */';
const isListContent = (query: string) => query.startsWith(LIST_CONTENT);

const contentListeners = new WeakMap<Db, Set<(accountId: string) => void>>();

/**
 * Runs one autocommitted statement (no transaction around it: it commits when it returns) that
 * changes the content of lists of `accountId` and nothing else (no access fact: shares, members,
 * policies, lists' own rows), then announces the account to every watcher of `db`, and through
 * them to other instances, before the caller answers. Other writes end every kept answer; these
 * end only the answers of viewers who could read the account's lists.
 */
export async function writeListContent<T>(db: Db, accountId: string, statement: Prisma.Sql): Promise<T[]> {
  try {
    return await db.$queryRaw<T[]>(Prisma.sql([`${LIST_CONTENT} `, ''], statement));
  } finally {
    for (const listener of contentListeners.get(db) ?? []) listener(accountId);
  }
}

function onListContent(db: Db, listener: (accountId: string) => void): void {
  let listeners = contentListeners.get(db);
  if (!listeners) {
    listeners = new Set();
    contentListeners.set(db, listeners);
  }
  listeners.add(listener);
}

/**
 * Moves the generation on at every statement this instance sends that could change data (Prisma's
 * query events report each one as it completes, the COMMIT of a transaction included), and at
 * every write another instance announces on Redis, except list-content writes (`writeListContent`),
 * which move only their account's mark. Announcements are coalesced to one per turn of the event
 * loop. While the Redis subscription is down, `current()` is null: the cache is off until it is
 * back, and then a new generation starts, since announcements may have been missed.
 */
export function watchGenerations(options: GenerationOptions): Generations {
  const { db, log } = options;
  const listeners: (() => void)[] = [];
  const contentListeners: ((accountId: string) => void)[] = [];
  let generation = 0;
  let contentSeq = 0;
  // Without Redis every write is this instance's, applied as it completes: its count is the revision.
  let written = 0;
  const lastWrites = new Map<string, number>();
  const next = () => {
    generation++;
    if (!options.redis) written++;
    // Every answer is dropped: the marks of accounts start again.
    lastWrites.clear();
    for (const listener of listeners) listener();
  };
  const contentWritten = (accountId: string) => {
    if (!options.redis) written++;
    lastWrites.set(accountId, ++contentSeq);
    for (const listener of contentListeners) listener(accountId);
  };
  const common = {
    onChange: (l: () => void) => void listeners.push(l),
    contentSeq: () => contentSeq,
    lastContentWrite: (accountId: string) => lastWrites.get(accountId) ?? 0,
    onContentChange: (l: (accountId: string) => void) => void contentListeners.push(l),
  };

  if (!options.redis) {
    db.$on('query', (e) => {
      if (!READ_ONLY.test(e.query) && !isListContent(e.query) && !unheard.getStore()) next();
    });
    onListContent(db, contentWritten);
    const epoch = newEpoch();
    const now = () => ({ epoch, n: written });
    return {
      ...common,
      current: () => generation,
      revisions: { applied: now, announced: async () => now(), sync: async () => now() },
      close: async () => {},
    };
  }

  const channel = `${options.redisKeyPrefix}cache:writes`;
  const counter = `${options.redisKeyPrefix}cache:revision`;
  const me = randomUUID();
  const onError = (err: Error) => log.warn({ err: err.message }, 'response cache: redis error');
  const publisher = connectRedis(options.redis, onError);
  const subscriber = connectRedis(options.redis, onError).client;
  let listening = false;
  let applied: Revision | null = null;
  // What this turn of the event loop wrote: anything (the generation), or the content of these accounts.
  let wroteAny = false;
  const wroteContent = new Set<string>();
  // The announcement being gathered (sent at the end of this turn), and the last one sent.
  let gathering: Deferred<Revision> | null = null;
  let lastSent: Promise<Revision> | null = null;
  const announce = () => {
    const batch = gathering;
    gathering = null;
    if (!batch) return;
    // The accounts whose lists' content alone was changed (none: anything was).
    const accounts = wroteAny ? [] : [...wroteContent];
    const all = wroteAny;
    wroteAny = false;
    wroteContent.clear();
    lastSent = batch.promise;
    publisher
      .whenUp((c) => c.eval(ANNOUNCE, 1, counter, channel, me, newEpoch(), accounts.join(' ')))
      .then((reply) => batch.resolve(revisionOf(reply)))
      .catch((err: Error) => {
        onError(err);
        batch.reject(err);
        // Told with the next announcement (at the latest when Redis is back): other instances
        // must still end what these writes changed.
        wroteAny ||= all;
        for (const accountId of accounts) wroteContent.add(accountId);
      });
  };
  const announceSoon = () => {
    if (!gathering) {
      gathering = deferred();
      setImmediate(announce);
    }
  };
  publisher.client.on('ready', () => {
    if (wroteAny || wroteContent.size) announceSoon();
  });
  db.$on('query', (e) => {
    if (READ_ONLY.test(e.query) || isListContent(e.query) || unheard.getStore()) return;
    next();
    wroteAny = true;
    announceSoon();
  });
  onListContent(db, (accountId) => {
    contentWritten(accountId);
    wroteContent.add(accountId);
    announceSoon();
  });
  // Heard in the order Redis took them: ends what the write changed, then counts it as applied.
  const apply = (revision: Revision) => {
    if (applied && applied.epoch !== revision.epoch) next();
    if (!applied || applied.epoch !== revision.epoch || applied.n < revision.n) applied = revision;
  };
  subscriber.on('message', (_channel: string, message: string) => {
    const [sender = '', ...accounts] = message.split(' ');
    const [from, revision = ''] = sender.split('/');
    if (from !== me) {
      if (!accounts.length) next();
      for (const accountId of accounts) contentWritten(accountId);
    }
    const [epoch = '', n] = revision.split('.');
    if (Number.isSafeInteger(Number(n))) apply({ epoch, n: Number(n) });
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
  const catchUp = async (): Promise<Revision> => {
    // Taken once this instance listens: every announcement up to it reaches the subscriber
    // before the answer to a PING sent after it (on a Cluster, perhaps not: then it ends every answer).
    const latest = revisionOf(
      await publisher.whenUp((c) => c.eval(LATEST, 1, counter, newEpoch(), applied?.epoch ?? '', applied?.n ?? 0)),
    );
    await subscriber.ping();
    if (!listening) throw new Error('the bus is down');
    if (!applied || applied.epoch !== latest.epoch || applied.n < latest.n) {
      // Some announcements were not heard (before this instance listened, or from a Redis that
      // lost its data): every answer ends instead.
      next();
      applied = latest;
    }
    return latest;
  };
  const sync = async (): Promise<Revision> => {
    if (!listening) throw new Error('the bus is down');
    // A bus that answers nothing, its connections open (a link cut off without a close), is not
    // trusted any longer: the subscriber reconnects, and the caches are off until it listens again.
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        subscriber.disconnect(true);
        reject(new Error('the bus is silent'));
      }, SILENT_BUS_MS);
    });
    return Promise.race([catchUp(), silent]).finally(() => clearTimeout(timer));
  };
  const revisions: RevisionBus = {
    applied: () => (listening ? applied : null),
    announced: () => gathering?.promise ?? lastSent ?? sync(),
    sync,
  };
  return {
    ...common,
    current: () => (listening ? generation : null),
    revisions,
    async close() {
      listening = false;
      subscriber.disconnect();
      await publisher.client.quit().catch(() => publisher.client.disconnect());
    },
  };
}

/**
 * Takes the next revision and publishes the announcement with it, in one step: subscribers hear
 * the revisions in order. The counter's epoch is set once (a Redis that lost its data makes
 * another). An announcement is `<sender>/<epoch>.<n>`, then the accounts whose lists' content
 * alone was written (none: anything was); an instance of the version before revisions reads the
 * sender's part as a sender's id, so a rolling deploy loses no announcement.
 */
const ANNOUNCE = `
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[3])
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local accounts = ARGV[4] ~= '' and (' ' .. ARGV[4]) or ''
redis.call('PUBLISH', ARGV[1], ARGV[2] .. '/' .. epoch .. '.' .. n .. accounts)
return {epoch, n}`;

/**
 * The latest revision. A counter behind what this instance applied in the same epoch (a failover
 * lost its last increments) is raised to it, so no revision is handed out twice.
 */
const LATEST = `
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
if epoch == ARGV[2] and n < tonumber(ARGV[3]) then
  n = tonumber(ARGV[3])
  redis.call('HSET', KEYS[1], 'n', n)
end
return {epoch, n}`;

/** How long catching up may go unanswered before the subscriber's connection is replaced. */
const SILENT_BUS_MS = 5_000;

/** A name for a revision counter that starts now. */
const newEpoch = () => randomUUID().slice(0, 8);

function revisionOf(reply: unknown): Revision {
  const [epoch, n] = reply as [string, number];
  return { epoch: String(epoch), n: Number(n) };
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: Error): void;
}

function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => {};
  let reject: (err: Error) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may ask for it: a failed announcement is logged where it fails.
  promise.catch(() => {});
  return { promise, resolve, reject };
}
