import { enforce } from '../../access/enforce.ts';
import type { Context, Viewer } from '../../context.ts';
import { ValidationError } from '../../errors.ts';

type Ctx = Context & { viewer: Viewer };

/** How often one user's state changes on one list are announced at most. */
const THROTTLE_MS = 100;
const pending = new Map<string, NodeJS.Timeout>();
const lastSent = new Map<string, number>();

/**
 * Sets the viewer's state on every session they have open on the list (on any instance: the
 * store is shared), then announces it. Bursts are throttled per user and list: the last state
 * within THROTTLE_MS is announced once, so a typing user does not flood every watcher.
 */
export async function setPresence(
  ctx: Ctx,
  input: { listId: string; status: 'VIEWING' | 'EDITING'; itemId: string | null; field: string | null },
): Promise<number> {
  enforce(await ctx.access.decideList(input.listId, 'list:read'), 'The list');
  if (input.status === 'EDITING' && !input.itemId)
    throw new ValidationError('EDITING needs an itemId', ['input', 'itemId']);
  if (input.field && input.field.length > 200)
    throw new ValidationError('The field name is too long', ['input', 'field']);
  if (input.itemId) {
    const item = await ctx.db.item.findFirst({
      where: { id: input.itemId, listId: input.listId },
      select: { id: true },
    });
    if (!item) throw new ValidationError('The item is not on this list', ['input', 'itemId']);
  }
  const { presence, pubsub } = ctx.realtime;
  const ttl = ctx.config.presenceTtlMs;
  const { live } = await presence.sessions(input.listId);
  const mine = live.filter((s) => s.userId === ctx.viewer.id);
  const state =
    input.status === 'EDITING'
      ? { status: input.status, itemId: input.itemId, field: input.field }
      : { status: input.status, itemId: null, field: null };
  await Promise.all(mine.map((s) => presence.put(input.listId, { ...s, ...state }, ttl)));
  const first = mine[0];
  if (!first) return 0;
  const key = `${input.listId}:${ctx.viewer.id}`;
  const announce = () => {
    pending.delete(key);
    lastSent.set(key, Date.now());
    pubsub.publish('list:presence', input.listId, {
      kind: 'UPDATED',
      sessionId: first.sessionId,
      userId: ctx.viewer.id,
      at: new Date().toISOString(),
    });
  };
  const wait = (lastSent.get(key) ?? 0) + THROTTLE_MS - Date.now();
  if (wait <= 0) announce();
  else if (!pending.has(key)) pending.set(key, setTimeout(announce, wait));
  return mine.length;
}
