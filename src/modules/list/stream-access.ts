import { Access } from '../../access/load.ts';
import { keepFor } from '../../cache/expiries.ts';
import { type Revision, serves } from '../../cache/revisions.ts';
import type { Context } from '../../context.ts';
import type { Realtime } from '../../realtime/pubsub.ts';
import { callerOf, lookUpSecret } from '../../security/rate-limits.ts';

/**
 * Whether the viewer may read the list, decided with fresh facts (a new loader, not the stream's
 * stale one): a long-lived stream asks again when access may have changed.
 */
export async function canReadList(
  ctx: Context,
  listId: string,
  linkToken: string | null | undefined,
): Promise<boolean> {
  return (await new Access(ctx.db, ctx.viewer).decideList(listId, 'list:read', linkToken))?.allowed ?? false;
}

/**
 * A stream's first decision, asked once the stream is live. A presented link token that opens
 * nothing spends from the caller's failed-attempt budget, as in `list(id, linkToken)`, so
 * guessing link tokens over WS gains nothing. A grant decided for the same viewer, list and link
 * token within READ_GRANT_TTL_MS on this instance is reused (see `holdReadGrants`).
 */
export function canOpenList(ctx: Context, listId: string, linkToken: string | null | undefined): Promise<boolean> {
  return withReadGrant(ctx, listId, linkToken, async () =>
    linkToken
      ? (await lookUpSecret(ctx.limits, callerOf(ctx), async () =>
          (await canReadList(ctx, listId, linkToken)) ? true : null,
        )) === true
      : canReadList(ctx, listId, linkToken),
  );
}

/**
 * True when a read grant of the viewer (and link token) on the list is held on this instance;
 * otherwise `decide()`, whose `true` is kept as a grant for READ_GRANT_TTL_MS while a stream on
 * the list holds its grants here (`holdReadGrants`). For a stream's subscribe, and for what a
 * viewer on the list does again and again with only `list:read` (their presence).
 */
export async function withReadGrant(
  ctx: Context,
  listId: string,
  linkToken: string | null | undefined,
  decide: () => Promise<boolean>,
): Promise<boolean> {
  const grants = heldGrants(ctx.realtime, listId);
  const key = `${ctx.viewer?.id ?? ''}\u0000${linkToken ?? ''}`;
  const now = Date.now();
  const held = grants?.until.get(key);
  // A grant serves only a request whose access revision it had applied when it was decided.
  if (held && held.until > now && serves(held.revision, ctx.minRevision)) return true;
  const generation = grants?.generation;
  const revision = ctx.revisions.applied();
  const allowed = await decide();
  // Kept only when nothing that may change access arrived while it was decided.
  if (allowed && grants && heldGrants(ctx.realtime, listId) === grants && grants.generation === generation) {
    if (grants.until.size >= 10_000) for (const [k, g] of grants.until) if (g.until <= now) grants.until.delete(k);
    // Never past the next expiry of a grant: the sweeper's ACCESS_CHANGED comes a moment after it.
    const life = keepFor(ctx.db, READ_GRANT_TTL_MS);
    if (life > 0) grants.until.set(key, { until: now + life, revision });
  }
  return allowed;
}

/** How long a read grant decided at subscribe serves later subscribes of the same viewer. */
const READ_GRANT_TTL_MS = 2_000;

interface Grants {
  /** Streams on the list holding these grants. */
  holders: number;
  /** Bumped by every event that may change access, and on pub/sub recovery. */
  generation: number;
  /** Viewer and link token → until when their grant serves, and the access revision applied when it was decided. */
  until: Map<string, { until: number; revision: Revision | null }>;
  hold(): void;
  release(): void;
}

/** How long a list's grants (and so its channel) outlive the last stream on it. */
const LINGER_MS = 5_000;

const grantsByList = new WeakMap<Realtime, Map<string, Grants>>();

function heldGrants(realtime: Realtime, listId: string): Grants | undefined {
  return grantsByList.get(realtime)?.get(listId);
}

/**
 * Keeps the recent read grants of `listId` on this instance while a stream on it is open, and
 * LINGER_MS after the last one ends (call the returned function when the stream ends), so that a
 * subscribe+complete churn on a list costs neither a database decision nor a Redis subscription
 * per subscribe.
 *
 * A grant is as good as a fresh decision for a stream that is live before it asks: the grants
 * are forgotten the moment an ACCESS_CHANGED or LIST_DELETED of the list reaches this instance,
 * which is subscribed to the list's events for as long as the grants exist, and the stream,
 * being live, hears that event too and re-decides. A grant decided while such an event arrived
 * is not kept; pub/sub recovery (events may have been lost) forgets every grant. A change of who
 * reaches a list that published no list event would reach a new subscriber only after
 * READ_GRANT_TTL_MS: so shares, general access, memberships, group members and rights all publish one.
 */
export function holdReadGrants(realtime: Realtime, listId: string): () => void {
  let lists = grantsByList.get(realtime);
  if (!lists) {
    lists = new Map();
    grantsByList.set(realtime, lists);
  }
  let grants = lists.get(listId);
  if (!grants) {
    const forget = () => {
      held.generation++;
      held.until.clear();
    };
    const unlisten = realtime.listen('list:events', listId, (event) => {
      if (event.kind === 'ACCESS_CHANGED' || event.kind === 'LIST_DELETED') forget();
    });
    const unresync = realtime.onResync(forget);
    const all = lists;
    let lingering: NodeJS.Timeout | undefined;
    const held: Grants = {
      holders: 0,
      generation: 0,
      until: new Map(),
      hold() {
        clearTimeout(lingering);
        held.holders++;
      },
      release() {
        if (--held.holders > 0) return;
        // Kept a moment after the last stream ends: a client that reloads the page finds the
        // list's channel still subscribed (no wait for Redis) and its grant still good.
        lingering = setTimeout(() => {
          if (held.holders > 0) return;
          forget();
          unlisten();
          unresync();
          all.delete(listId);
        }, LINGER_MS);
        lingering.unref();
      },
    };
    grants = held;
    lists.set(listId, grants);
  }
  const current = grants;
  current.hold();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    current.release();
  };
}
