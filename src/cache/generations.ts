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
  close(): Promise<void>;
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
  const lastWrites = new Map<string, number>();
  const next = () => {
    generation++;
    // Every answer is dropped: the marks of accounts start again.
    lastWrites.clear();
    for (const listener of listeners) listener();
  };
  const contentWritten = (accountId: string) => {
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
    return { ...common, current: () => generation, close: async () => {} };
  }

  const channel = `${options.redisKeyPrefix}cache:writes`;
  const me = randomUUID();
  const onError = (err: Error) => log.warn({ err: err.message }, 'response cache: redis error');
  const publisher = connectRedis(options.redis, onError);
  const subscriber = connectRedis(options.redis, onError).client;
  let listening = false;
  // What this turn of the event loop wrote: anything (the generation), or the content of these accounts.
  let wroteAny = false;
  const wroteContent = new Set<string>();
  let announcing = false;
  const announce = () => {
    announcing = false;
    // A message is the sender's id, then the accounts whose lists' content alone it changed.
    const message = wroteAny ? me : `${me} ${[...wroteContent].join(' ')}`;
    wroteAny = false;
    wroteContent.clear();
    publisher.whenUp((c) => c.publish(channel, message)).catch(onError);
  };
  const announceSoon = () => {
    if (!announcing) {
      announcing = true;
      setImmediate(announce);
    }
  };
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
  subscriber.on('message', (_channel: string, message: string) => {
    const [from, ...accounts] = message.split(' ');
    if (from === me) return;
    if (!accounts.length) next();
    for (const accountId of accounts) contentWritten(accountId);
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
    ...common,
    current: () => (listening ? generation : null),
    async close() {
      listening = false;
      subscriber.disconnect();
      await publisher.client.quit().catch(() => publisher.client.disconnect());
    },
  };
}
