import { randomBytes } from 'node:crypto';
import { enforce } from '../../access/enforce.ts';
import type { ListFacts } from '../../access/facts.ts';
import {
  createListAction,
  decideGeneralAccess,
  decideList,
  defaultGeneralAccess,
  type ListQuestion,
} from '../../access/rules.ts';
import { noteExpiry } from '../../cache/expiries.ts';
import type { Context, Viewer } from '../../context.ts';
import type { DbTx } from '../../db/client.ts';
import { NotFoundError, ValidationError } from '../../errors.ts';
import type { GeneralAccess, List, ListKind, ListRole } from '../../generated/prisma/client.ts';
import type { ListEventPayload } from '../../realtime/pubsub.ts';
import { type AuditEntry, audit } from '../audit/service.ts';
import { type ListEventRecord, recordListEvents } from './event-log.ts';

type Ctx = Context & { viewer: Viewer };

/** Publishes recorded list events to the lists' subscribers, after the commit that recorded them. */
export function publishListEvents(ctx: Context, events: readonly ListEventPayload[]): void {
  for (const event of events) ctx.realtime.pubsub.publish('list:events', event.listId, event);
}

/** The viewer's facts on a list; NOT_FOUND when it does not exist. */
export async function listFacts(ctx: Context, listId: string): Promise<ListFacts> {
  const facts = await ctx.access.list(listId);
  if (!facts) throw new NotFoundError('The list');
  return facts;
}

/** Asks the rules and turns a refusal into NOT_FOUND (cannot read it) or FORBIDDEN. */
export async function requireList(ctx: Context, listId: string, question: ListQuestion): Promise<ListFacts> {
  const facts = await listFacts(ctx, listId);
  enforce(decideList(facts, question), 'The list');
  return facts;
}

/**
 * Runs a list change in one transaction with its audit row and its list event, then forgets
 * cached access facts (the change may be to access itself) and publishes the event.
 */
export async function listChange<T>(
  ctx: Ctx,
  facts: ListFacts,
  action: string,
  data: Record<string, unknown>,
  work: (tx: DbTx) => Promise<T>,
  event: ListEventRecord,
  resource: { type: string; id: string } = { type: 'List', id: facts.listId },
): Promise<T> {
  const [result, events] = await ctx.db.$transaction(async (tx) => {
    const value = await work(tx);
    await audit(tx, listAuditEntry(ctx, facts, action, resource, data));
    return [value, await recordListEvents(tx, [facts.listId], event)] as const;
  });
  ctx.access.clear();
  publishListEvents(ctx, events);
  return result;
}

/** The audit row of a change on a list or on something in it (the list's id goes in its data). */
export function listAuditEntry(
  ctx: { viewer: Viewer },
  facts: ListFacts,
  action: string,
  resource: { type: string; id: string },
  data: Record<string, unknown>,
): AuditEntry {
  return {
    accountId: facts.workspace.account.accountId,
    actorId: ctx.viewer.id,
    action,
    resourceType: resource.type,
    resourceId: resource.id,
    data: { listId: facts.listId, ...data },
  };
}

function newLinkToken(): string {
  return randomBytes(18).toString('base64url');
}

/** Creates a list where the workspace (and the account cap) lets the viewer create that kind. */
export async function createList(
  ctx: Ctx,
  input: { workspaceId: string; name: string; kind: ListKind },
): Promise<List> {
  enforce(await ctx.access.decideWorkspace(input.workspaceId, createListAction(input.kind)), 'The workspace');
  const ws = await ctx.access.workspace(input.workspaceId);
  if (!ws) throw new NotFoundError('The workspace');
  const list = await ctx.db.$transaction(async (tx) => {
    const created = await tx.list.create({
      data: {
        workspaceId: input.workspaceId,
        name: input.name,
        kind: input.kind,
        ...defaultGeneralAccess(input.kind),
        creatorId: ctx.viewer.id,
      },
    });
    await audit(tx, {
      accountId: ws.account.accountId,
      actorId: ctx.viewer.id,
      action: 'list.create',
      resourceType: 'List',
      resourceId: created.id,
      data: { workspaceId: input.workspaceId, name: input.name, kind: input.kind },
    });
    return created;
  });
  ctx.access.clear();
  return list;
}

/** Renames a list (editors and above). */
export async function updateList(ctx: Ctx, input: { listId: string; name: string }): Promise<List> {
  const facts = await requireList(ctx, input.listId, 'list:edit');
  const before = await ctx.db.list.findUniqueOrThrow({ where: { id: facts.listId } });
  if (before.name === input.name) return before;
  const list = await listChange(
    ctx,
    facts,
    'list.rename',
    { from: before.name, to: input.name },
    (tx) => tx.list.update({ where: { id: facts.listId }, data: { name: input.name } }),
    { kind: 'LIST_RENAMED' },
  );
  return list;
}

/** Deletes a list with its items and shares (co-owners and above). */
export async function deleteList(ctx: Ctx, input: { listId: string }): Promise<string> {
  const facts = await requireList(ctx, input.listId, 'list:delete');
  const list = await ctx.db.list.findUniqueOrThrow({ where: { id: facts.listId } });
  await listChange(
    ctx,
    facts,
    'list.delete',
    { name: list.name, kind: list.kind },
    (tx) => tx.list.delete({ where: { id: list.id } }),
    { kind: 'LIST_DELETED' },
  );
  return list.id;
}

/**
 * Copies a list with its items into the same workspace (editors and above, where the workspace
 * lets them create that kind of list). The copier is its creator; shares are not copied.
 */
export async function copyList(ctx: Ctx, input: { listId: string; name?: string | null }): Promise<List> {
  const facts = await requireList(ctx, input.listId, 'list:copy');
  const source = await ctx.db.list.findUniqueOrThrow({
    where: { id: facts.listId },
    include: { items: { orderBy: [{ position: 'asc' }, { id: 'asc' }] } },
  });
  enforce(await ctx.access.decideWorkspace(source.workspaceId, createListAction(source.kind)), 'The workspace');
  const name = input.name ?? `Copy of ${source.name}`;
  const copy = await ctx.db.$transaction(async (tx) => {
    const created = await tx.list.create({
      data: {
        workspaceId: source.workspaceId,
        name,
        kind: source.kind,
        ...defaultGeneralAccess(source.kind),
        creatorId: ctx.viewer.id,
      },
    });
    if (source.items.length) {
      await tx.item.createMany({
        data: source.items.map((item) => ({
          listId: created.id,
          title: item.title,
          fields: item.fields ?? {},
          position: item.position,
          createdById: ctx.viewer.id,
          updatedById: ctx.viewer.id,
        })),
      });
    }
    await audit(tx, {
      accountId: facts.workspace.account.accountId,
      actorId: ctx.viewer.id,
      action: 'list.copy',
      resourceType: 'List',
      resourceId: created.id,
      data: { from: source.id, name, items: source.items.length },
    });
    return created;
  });
  ctx.access.clear();
  return copy;
}

/** Sets who reaches the list without an explicit share; a link token is made for ANYONE_WITH_LINK. */
export async function setListGeneralAccess(
  ctx: Ctx,
  input: { listId: string; access: GeneralAccess; role: ListRole; linkExpiresAt?: Date | null },
): Promise<List> {
  const facts = await listFacts(ctx, input.listId);
  enforce(decideGeneralAccess(facts, input.access, input.role), 'The list');
  const linkExpiresAt = input.linkExpiresAt ?? null;
  if (linkExpiresAt && input.access !== 'ANYONE_WITH_LINK')
    throw new ValidationError('Only a link (ANYONE_WITH_LINK) expires', ['input', 'linkExpiresAt']);
  const before = await ctx.db.list.findUniqueOrThrow({ where: { id: facts.listId } });
  const list = await listChange(
    ctx,
    facts,
    'list.general-access',
    {
      from: { access: before.generalAccess, role: before.generalRole },
      to: { access: input.access, role: input.role, ...(linkExpiresAt ? { linkExpiresAt } : {}) },
    },
    (tx) =>
      tx.list.update({
        where: { id: facts.listId },
        data: {
          generalAccess: input.access,
          generalRole: input.role,
          linkExpiresAt,
          ...(input.access === 'ANYONE_WITH_LINK' && !before.linkToken ? { linkToken: newLinkToken() } : {}),
        },
      }),
    { kind: 'ACCESS_CHANGED', userIds: [] },
  );
  noteExpiry(ctx.db, linkExpiresAt);
  return list;
}

/** Replaces the list's link token: the old link stops working at once (co-owners and above). */
export async function rotateListLink(ctx: Ctx, input: { listId: string }): Promise<List> {
  const facts = await requireList(ctx, input.listId, 'list:manage-access');
  const list = await listChange(
    ctx,
    facts,
    'list.link-rotate',
    {},
    (tx) => tx.list.update({ where: { id: facts.listId }, data: { linkToken: newLinkToken() } }),
    { kind: 'ACCESS_CHANGED', userIds: [] },
  );
  return list;
}
