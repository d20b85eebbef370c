import type { PresenceEventPayload } from './pubsub.ts';
import type { RedisConnection } from './redis.ts';

/** One connection's presence on a list (a tab). Ids and ISO strings only: it is stored as JSON. */
export interface PresenceSession {
  sessionId: string;
  /** Null for anonymous link viewers. */
  userId: string | null;
  status: 'VIEWING' | 'EDITING';
  itemId: string | null;
  field: string | null;
  invisible: boolean;
  /** When this session joined (ISO). */
  since: string;
}

/** What `setPresence` changes on a session. */
export type PresenceState = Pick<PresenceSession, 'status' | 'itemId' | 'field'>;

/** The roster entry a session is shown under: its user, or itself when anonymous. */
export function rosterKey(session: Pick<PresenceSession, 'sessionId' | 'userId'>): string {
  return session.userId ?? `anonymous:${session.sessionId}`;
}

/**
 * The state of a user's entry after a state change, carried in its UPDATED announcement so that
 * watchers show it without a read. `sessions` and `since` count visible sessions only.
 */
export type CarriedEntry = PresenceState & { sessions: number; since: string };

/**
 * A presence announcement as it crosses the pub/sub: an UPDATED made by `setState` carries the
 * entry it stored (`PresenceEventPayload` plus `entry`).
 */
export type CarryingPayload = PresenceEventPayload & { entry?: CarriedEntry };

/** The pub/sub channel of a list's presence, as `createPubSub` names topic `list:presence`, id `listId`. */
export function presenceChannel(listId: string): string {
  return `list:presence:${listId}`;
}

/** Where presence lives: a Map in process, or Redis (hash per list + expiry sorted set) across instances. */
export interface PresenceStore {
  /** Adds or replaces a session; it expires `ttlMs` after the last write unless refreshed. */
  put(listId: string, session: PresenceSession, ttlMs: number): Promise<void>;
  /**
   * A heartbeat: pushes the session's expiry `ttlMs` ahead and keeps its stored state (set by
   * `setPresence` meanwhile); re-creates it from `session` when it is gone (expired, or lost with
   * a Redis restart) and then resolves true.
   */
  refresh(listId: string, session: PresenceSession, ttlMs: number): Promise<boolean>;
  remove(listId: string, sessionId: string): Promise<boolean>;
  /** Live sessions of a list; expired ones are dropped and returned as `expired`. */
  sessions(listId: string): Promise<{ live: PresenceSession[]; expired: PresenceSession[] }>;
  /**
   * The live sessions under one roster key (`rosterKey`: a user's tabs, or one anonymous
   * session), read alone: what one roster entry is folded from, at the cost of that entry.
   */
  sessionsOf(listId: string, key: string): Promise<PresenceSession[]>;
  /**
   * Sets the state of every live session of `userId` on the list, at once, and returns them as
   * stored now. Only sessions that exist are changed: one that left meanwhile is not re-created.
   * With `announceAt` (an ISO time), a store shared between instances also publishes the UPDATED
   * (with its entry) in the same step when a visible session changed, and says so in `announced`:
   * then the order of announcements is the order of the writes, whichever instance made them.
   */
  setState(
    listId: string,
    userId: string,
    state: PresenceState,
    announceAt?: string,
  ): Promise<{ sessions: PresenceSession[]; announced: boolean }>;
  close(): Promise<void>;
}

/** In-process presence: the embedded default. */
export function memoryPresenceStore(): PresenceStore {
  const lists = new Map<string, Map<string, { session: PresenceSession; expiresAt: number }>>();
  return {
    async put(listId, session, ttlMs) {
      let sessions = lists.get(listId);
      if (!sessions) {
        sessions = new Map();
        lists.set(listId, sessions);
      }
      sessions.set(session.sessionId, { session, expiresAt: Date.now() + ttlMs });
    },
    async refresh(listId, session, ttlMs) {
      const entry = lists.get(listId)?.get(session.sessionId);
      if (entry) {
        entry.expiresAt = Date.now() + ttlMs;
        return false;
      }
      await this.put(listId, session, ttlMs);
      return true;
    },
    async remove(listId, sessionId) {
      const sessions = lists.get(listId);
      const removed = sessions?.delete(sessionId) ?? false;
      if (sessions?.size === 0) lists.delete(listId);
      return removed;
    },
    async sessions(listId) {
      const now = Date.now();
      const live: PresenceSession[] = [];
      const expired: PresenceSession[] = [];
      for (const [id, entry] of lists.get(listId) ?? []) {
        if (entry.expiresAt > now) live.push(entry.session);
        else {
          expired.push(entry.session);
          lists.get(listId)?.delete(id);
        }
      }
      return { live, expired };
    },
    async sessionsOf(listId, key) {
      const now = Date.now();
      const live: PresenceSession[] = [];
      for (const entry of lists.get(listId)?.values() ?? [])
        if (entry.expiresAt > now && rosterKey(entry.session) === key) live.push(entry.session);
      return live;
    },
    async setState(listId, userId, state) {
      const now = Date.now();
      const changed: PresenceSession[] = [];
      for (const entry of lists.get(listId)?.values() ?? []) {
        if (entry.expiresAt <= now || entry.session.userId !== userId) continue;
        entry.session = { ...entry.session, ...state };
        changed.push(entry.session);
      }
      return { sessions: changed, announced: false };
    },
    async close() {
      lists.clear();
    },
  };
}

// Atomic prune-and-read: drops sessions whose expiry passed (from both keys) and returns the
// live ones and the expired ones, so exactly one reader announces each expiry.
const SESSIONS_SCRIPT = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local gone = {}
for _, id in ipairs(expired) do
  local v = redis.call('HGET', KEYS[1], id)
  if v then table.insert(gone, v) end
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
return { redis.call('HVALS', KEYS[1]), gone }
`;

// The live sessions named in one roster key's index (KEYS[3]); ids whose session is gone from
// the hash (left, or pruned as expired) are dropped from the index on the way. With a state
// (ARGV[2], JSON) it also sets it on each of them, in one step: a state change is stored on
// every tab of the user or on none, and a session removed meanwhile stays removed. With a
// channel (ARGV[3]) it then publishes the UPDATED of user ARGV[5] at ARGV[4], carrying the
// entry, if a visible session changed: announcements leave in the order of the writes.
const SESSIONS_OF_SCRIPT = `
local state = ARGV[2] and cjson.decode(ARGV[2])
local live = {}
local visible, first, since = 0, nil, nil
for _, id in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local v = redis.call('HGET', KEYS[1], id)
  if not v then
    redis.call('SREM', KEYS[3], id)
  else
    local at = redis.call('ZSCORE', KEYS[2], id)
    if at and tonumber(at) > tonumber(ARGV[1]) then
      if state then
        local s = cjson.decode(v)
        s.status = state.status
        s.itemId = state.itemId
        s.field = state.field
        v = cjson.encode(s)
        redis.call('HSET', KEYS[1], id, v)
        if s.invisible ~= true then
          visible = visible + 1
          first = first or id
          if not since or s.since < since then since = s.since end
        end
      end
      table.insert(live, v)
    end
  end
end
if ARGV[3] and visible > 0 then
  redis.call('PUBLISH', ARGV[3], cjson.encode({ kind = 'UPDATED', sessionId = first, userId = ARGV[5], at = ARGV[4],
    entry = { status = state.status, itemId = state.itemId, field = state.field, sessions = visible, since = since } }))
end
return live
`;

const SESSIONS_COMMAND = 'sharegraphPresenceSessions';
const SESSIONS_OF_COMMAND = 'sharegraphPresenceSessionsOf';
type Script = (...args: (string | number)[]) => Promise<unknown>;
type Commands = Record<typeof SESSIONS_COMMAND | typeof SESSIONS_OF_COMMAND, Script>;

/**
 * Presence in Redis: `<prefix>presence:{<listId>}` hash of sessions, `…:exp` sorted set of
 * expiries, and `…:k:<rosterKey>` set of the session ids shown under each roster entry (an
 * index, so that a state change or an entry is read without the whole list; the hash and the
 * expiries stay the truth). Every call fails at once with RedisUnavailableError while Redis is down.
 */
export function redisPresenceStore({ client, whenUp }: RedisConnection, prefix: string): PresenceStore {
  // `{listId}` is the hash tag: every key of a list is in one Cluster slot, as its scripts and
  // transactions need.
  const keys = (listId: string) => [`${prefix}presence:{${listId}}`, `${prefix}presence:{${listId}}:exp`] as const;
  const index = (listId: string, key: string) => `${prefix}presence:{${listId}}:k:${key}`;
  // Sent by their digest (EVALSHA), not their text, on every call.
  client.defineCommand(SESSIONS_COMMAND, { numberOfKeys: 2, lua: SESSIONS_SCRIPT });
  client.defineCommand(SESSIONS_OF_COMMAND, { numberOfKeys: 3, lua: SESSIONS_OF_SCRIPT });
  const script = (redis: unknown) => redis as Commands;
  // Every read of a busy list returns mostly the same sessions: each stored text is parsed once
  // while it stays in the list (a session is rewritten, so re-parsed, whenever it changes).
  const parsedByList = new Map<string, Map<string, PresenceSession>>();
  const parseAll = (listId: string, stored: string[]) => {
    const before = parsedByList.get(listId);
    const now = new Map<string, PresenceSession>();
    const sessions = stored.map((text) => {
      const session = before?.get(text) ?? (JSON.parse(text) as PresenceSession);
      now.set(text, session);
      return session;
    });
    if (!stored.length) parsedByList.delete(listId);
    else {
      if (!before && parsedByList.size >= 1_000) parsedByList.clear();
      parsedByList.set(listId, now);
    }
    return sessions;
  };
  /** Stores the session (`hset`), or only when it is missing (`hsetnx`), and extends its expiry. */
  const write = (listId: string, session: PresenceSession, ttlMs: number, store: 'hset' | 'hsetnx') => {
    const [hash, exp] = keys(listId);
    const byKey = index(listId, rosterKey(session));
    return whenUp((redis) =>
      redis
        .multi()
        [store](hash, session.sessionId, JSON.stringify(session))
        .zadd(exp, Date.now() + ttlMs, session.sessionId)
        .sadd(byKey, session.sessionId)
        // The keys outlive no session by much, even if no reader ever prunes them.
        .pexpire(hash, ttlMs * 2)
        .pexpire(exp, ttlMs * 2)
        .pexpire(byKey, ttlMs * 2)
        .exec(),
    );
  };
  return {
    async put(listId, session, ttlMs) {
      await write(listId, session, ttlMs, 'hset');
    },
    async refresh(listId, session, ttlMs) {
      // HSETNX answers 1 when the session was gone and it wrote it.
      const result = await write(listId, session, ttlMs, 'hsetnx');
      return Number(result?.[0]?.[1] ?? 0) === 1;
    },
    async remove(listId, sessionId) {
      const [hash, exp] = keys(listId);
      const result = await whenUp((redis) => redis.multi().hdel(hash, sessionId).zrem(exp, sessionId).exec());
      return Number(result?.[0]?.[1] ?? 0) > 0;
    },
    async sessions(listId) {
      const [hash, exp] = keys(listId);
      const [live, gone] = (await whenUp((redis) => script(redis)[SESSIONS_COMMAND](hash, exp, Date.now()))) as [
        string[],
        string[],
      ];
      return { live: parseAll(listId, live), expired: gone.map((v) => JSON.parse(v) as PresenceSession) };
    },
    async sessionsOf(listId, key) {
      const [hash, exp] = keys(listId);
      const live = (await whenUp((redis) =>
        script(redis)[SESSIONS_OF_COMMAND](hash, exp, index(listId, key), Date.now()),
      )) as string[];
      return live.map((v) => JSON.parse(v) as PresenceSession);
    },
    async setState(listId, userId, state, announceAt) {
      const [hash, exp] = keys(listId);
      const json = JSON.stringify({ status: state.status, itemId: state.itemId, field: state.field });
      const announce = announceAt ? [prefix + presenceChannel(listId), announceAt, userId] : [];
      const changed = (await whenUp((redis) =>
        script(redis)[SESSIONS_OF_COMMAND](hash, exp, index(listId, userId), Date.now(), json, ...announce),
      )) as string[];
      const sessions = changed.map((v) => JSON.parse(v) as PresenceSession);
      return { sessions, announced: announce.length > 0 && sessions.some((s) => !s.invisible) };
    },
    async close() {
      // The connection is the pub/sub's, which closes it.
    },
  };
}

/** A roster entry: one per user however many tabs (anonymous viewers one per session). */
export interface RosterEntry {
  key: string;
  userId: string | null;
  anonymous: boolean;
  status: 'VIEWING' | 'EDITING';
  itemId: string | null;
  field: string | null;
  sessions: number;
  since: string;
}

/**
 * Folds sessions into the roster: invisible sessions are left out; a user's tabs count as one
 * entry whose state is their most recent edit (EDITING wins over VIEWING) and whose `since` is
 * their first join.
 */
export function roster(sessions: readonly PresenceSession[]): RosterEntry[] {
  const byKey = new Map<string, RosterEntry>();
  for (const s of sessions) {
    if (s.invisible) continue;
    const key = rosterKey(s);
    const entry = byKey.get(key);
    if (!entry) {
      byKey.set(key, {
        key,
        userId: s.userId,
        anonymous: s.userId === null,
        status: s.status,
        itemId: s.itemId,
        field: s.field,
        sessions: 1,
        since: s.since,
      });
      continue;
    }
    entry.sessions += 1;
    if (s.since < entry.since) entry.since = s.since;
    if (s.status === 'EDITING') Object.assign(entry, { status: s.status, itemId: s.itemId, field: s.field });
  }
  // Code-unit order: ISO times sort as times, and localeCompare cost most of a 1,000-entry fold.
  return [...byKey.values()].sort((a, b) => compare(a.since, b.since) || compare(a.key, b.key));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
