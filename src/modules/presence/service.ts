import { decodeGlobalID } from '@pothos/plugin-relay';
import { enforce } from '../../access/enforce.ts';
import type { Context, Viewer } from '../../context.ts';
import { ValidationError } from '../../errors.ts';
import { perEvent } from '../../realtime/per-event.ts';
import {
  type CarriedEntry,
  type CarryingPayload,
  type PresenceSession,
  type RosterEntry,
  roster,
  rosterKey,
} from '../../realtime/presence.ts';
import type { PresenceEventPayload, Realtime } from '../../realtime/pubsub.ts';
import { withReadGrant } from '../list/stream-access.ts';

type Ctx = Context & { viewer: Viewer };

/**
 * Tells every watcher of `listId` that `session` joined, left or changed; an UPDATED may carry
 * the `entry` it stored, which watchers then show without reading it.
 */
export function announce(
  realtime: Realtime,
  listId: string,
  kind: PresenceEventPayload['kind'],
  session: Pick<PresenceSession, 'sessionId' | 'userId' | 'invisible'>,
  entry?: CarriedEntry,
): void {
  const payload: CarryingPayload = {
    kind,
    sessionId: session.sessionId,
    userId: session.userId,
    ...(session.invisible ? { invisible: true } : {}),
    at: new Date().toISOString(),
    ...(entry ? { entry } : {}),
  };
  realtime.pubsub.publish('list:presence', listId, payload);
}

/**
 * The live sessions of a list. The read also drops expired sessions (an instance that crashed
 * stopped refreshing them), and only the reader that dropped one sees it, so it announces it.
 */
export async function liveSessions(realtime: Realtime, listId: string): Promise<PresenceSession[]> {
  const { live, expired } = await realtime.presence.sessions(listId);
  for (const gone of expired) announce(realtime, listId, 'LEFT', gone);
  return live;
}

/** The roster of a list, indexed by entry key. */
export interface RosterView {
  roster: RosterEntry[];
  byKey: Map<string, RosterEntry>;
}

/** Reads the roster of `listId` now. */
export async function readRoster(realtime: Realtime, listId: string): Promise<RosterView> {
  const current = roster(await liveSessions(realtime, listId));
  return { roster: current, byKey: new Map(current.map((e) => [e.key, e])) };
}

// Orders roster reads against the moments callers needed one: a read that started after a
// caller's need can serve it, whoever started it.
let clock = 0;
interface RosterReads {
  /** The last read started, with the moment it started. */
  latest?: { started: number; view: Promise<RosterView>; settled: boolean };
  /** The read that starts when `latest` settles, shared by everyone who asked meanwhile. */
  next?: Promise<RosterView>;
}
const reads = new WeakMap<Realtime, Map<string, RosterReads>>();

/** A moment to pass to `rosterSince`: take it once the change the caller must see is stored. */
export function now(): number {
  return ++clock;
}

/**
 * The roster of `listId` as read at some point after `since`: the latest read on this instance
 * when it started after `since` (finished or not); else, while a read is in flight, the one read
 * that starts when it ends; else a new read. However many join or announce at once, a list has
 * at most one read in flight and one waiting per instance, and their snapshots share it (and the
 * users it loads); one read per joiner, each a whole roster, would queue on the Redis connection.
 */
export function rosterSince(realtime: Realtime, listId: string, since: number): Promise<RosterView> {
  let lists = reads.get(realtime);
  if (!lists) {
    lists = new Map();
    reads.set(realtime, lists);
  }
  let state = lists.get(listId);
  if (!state) {
    state = {};
    lists.set(listId, state);
  }
  const { latest } = state;
  if (latest && latest.started > since) return latest.view;
  const current = state;
  const start = () => {
    const read = { started: now(), view: readRoster(realtime, listId), settled: false };
    current.latest = read;
    const settle = () => {
      read.settled = true;
    };
    read.view.then(settle, () => {
      settle();
      // A failed read serves no one who asks later.
      if (current.latest === read) current.latest = undefined;
    });
    return read.view;
  };
  if (!latest || latest.settled) return start();
  current.next ??= latest.view
    .catch(() => undefined)
    .then(() => {
      current.next = undefined;
      return start();
    });
  return current.next;
}

/**
 * The roster entry of whoever `event` is about, as stored after it (null: not shown, e.g. gone
 * or invisible): read alone, once per instance however many subscribers heard the event. A read
 * that starts after the event arrived sees at least the change it announces, which was stored
 * before it was published; reads go out in arrival order on one connection, so a later event's
 * entry is never older than an earlier one's.
 */
export function entryAfter(
  realtime: Realtime,
  listId: string,
  event: PresenceEventPayload,
): Promise<RosterEntry | null> {
  return perEvent(event, 'entry', async () => {
    const sessions = await realtime.presence.sessionsOf(listId, rosterKey(event));
    return roster(sessions)[0] ?? null;
  });
}

/**
 * The roster after `event`: read once per instance however many subscribers heard the event
 * (they all hold the same payload object), not once per subscriber. A read that starts after the
 * event arrived sees at least the change it announces, which was stored before it was published.
 */
export function rosterAfter(realtime: Realtime, listId: string, event: PresenceEventPayload): Promise<RosterView> {
  return perEvent(event, 'roster', () => rosterSince(realtime, listId, now()));
}

const watches = new WeakMap<Realtime, Map<string, { subscribers: number; release(): void }>>();

/**
 * Keeps one watch per list on this instance while anyone here subscribes to its presence; call
 * the returned function when the subscriber leaves. The watch reads the entry of whoever an
 * event is about the moment the event arrives (before any subscriber's stream has it), so that
 * every subscriber finds it ready instead of each waiting in turn for a round trip per event,
 * and every `sweepMs` it drops and announces the sessions of crashed instances (one read per
 * list, not one per subscriber).
 */
export function watchList(realtime: Realtime, listId: string, sweepMs: number, onError: (err: Error) => void) {
  let lists = watches.get(realtime);
  if (!lists) {
    lists = new Map();
    watches.set(realtime, lists);
  }
  let watch = lists.get(listId);
  if (!watch) {
    const stop = realtime.listen('list:presence', listId, (event) => {
      entryAfter(realtime, listId, event).catch(onError);
    });
    const sweeper = setInterval(() => liveSessions(realtime, listId).catch(onError), sweepMs);
    const current = {
      subscribers: 0,
      release() {
        if (--current.subscribers > 0) return;
        clearInterval(sweeper);
        stop();
        lists?.delete(listId);
        reads.get(realtime)?.delete(listId);
      },
    };
    watch = current;
    lists.set(listId, watch);
  }
  watch.subscribers++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    watch.release();
  };
}

/** The database id of an Item global id; null for anything else (answered once the list is decided). */
function itemIdOf(globalId: string): string | null {
  try {
    const { typename, id } = decodeGlobalID(globalId);
    return typename === 'Item' && id ? id : null;
  } catch {
    return null;
  }
}

/** How often one user's state changes on one list are announced at most. */
const THROTTLE_MS = 100;
const pending = new Map<string, NodeJS.Timeout>();
const lastSent = new Map<string, number>();

/**
 * Sets the viewer's state on every session they have open on the list (on any instance: the
 * store is shared), then announces it. Bursts are throttled per user and list: the last state
 * within THROTTLE_MS is announced once, so a typing user does not flood every watcher. The
 * change is on the path of every watcher's highlight, so between the decision and the
 * announcement there is one store call, which touches only the viewer's own sessions.
 */
export async function setPresence(
  ctx: Ctx,
  input: { listId: string; status: 'VIEWING' | 'EDITING'; itemId: string | null; field: string | null },
): Promise<number> {
  // The decision and the item are read at once; nothing read is used before the decision allows
  // it. The viewer's read grant on the list, held here while a stream on it is open, spares the
  // decision for the next changes of an editor moving from field to field.
  const itemId = input.itemId === null ? null : itemIdOf(input.itemId);
  const [, item] = await Promise.all([
    withReadGrant(ctx, input.listId, null, async () => {
      enforce(await ctx.access.decideList(input.listId, 'list:read'), 'The list');
      return true;
    }),
    itemId ? ctx.db.item.findFirst({ where: { id: itemId, listId: input.listId }, select: { id: true } }) : null,
  ]);
  if (input.status === 'EDITING' && !input.itemId)
    throw new ValidationError('EDITING needs an itemId', ['input', 'itemId']);
  if (input.field && input.field.length > 200)
    throw new ValidationError('The field name is too long', ['input', 'field']);
  if (input.itemId && !item) throw new ValidationError('The item is not on this list', ['input', 'itemId']);
  const state =
    input.status === 'EDITING'
      ? { status: input.status, itemId, field: input.field }
      : { status: input.status, itemId: null, field: null };
  const key = `${input.listId}:${ctx.viewer.id}`;
  // Announced now (the slot taken before the write, so a concurrent call waits its turn) or,
  // within THROTTLE_MS of the last, once when it ends with whatever is stored then.
  const announceNow = (lastSent.get(key) ?? 0) + THROTTLE_MS <= Date.now() && !pending.has(key);
  if (announceNow) lastSent.set(key, Date.now());
  const { sessions: mine, announced } = await ctx.realtime.presence.setState(
    input.listId,
    ctx.viewer.id,
    state,
    announceNow ? new Date().toISOString() : undefined,
  );
  // A visible tab speaks for the user: an invisible one's change is not shown.
  const first = mine.find((s) => !s.invisible) ?? mine[0];
  if (!first || announced) return mine.length;
  if (announceNow) {
    // Stored in this process (the store did not announce): a later write here announces after this.
    const entry = roster(mine)[0];
    announce(
      ctx.realtime,
      input.listId,
      'UPDATED',
      first,
      entry && { ...state, sessions: entry.sessions, since: entry.since },
    );
    return mine.length;
  }
  if (!pending.has(key)) {
    const wait = Math.max(0, (lastSent.get(key) ?? 0) + THROTTLE_MS - Date.now());
    pending.set(
      key,
      setTimeout(() => {
        pending.delete(key);
        lastSent.set(key, Date.now());
        announce(ctx.realtime, input.listId, 'UPDATED', first);
      }, wait),
    );
  }
  return mine.length;
}
