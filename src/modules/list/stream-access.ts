import { Access } from '../../access/load.ts';
import type { Context } from '../../context.ts';
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
 * A stream's first decision. A presented link token that opens nothing spends from the caller's
 * failed-attempt budget, as in `list(id, linkToken)`, so guessing link tokens over WS gains nothing.
 */
export async function canOpenList(
  ctx: Context,
  listId: string,
  linkToken: string | null | undefined,
): Promise<boolean> {
  if (!linkToken) return canReadList(ctx, listId, linkToken);
  const opened = await lookUpSecret(ctx.limits, callerOf(ctx), async () =>
    (await canReadList(ctx, listId, linkToken)) ? true : null,
  );
  return opened === true;
}
