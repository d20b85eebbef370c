import { enforce } from '../../access/enforce.ts';
import type { WorkspaceFacts } from '../../access/facts.ts';
import { contactReachedThroughList } from '../../access/load.ts';
import { type ContactQuestion, decideContact } from '../../access/rules.ts';
import type { Context, Viewer } from '../../context.ts';
import type { DbTx } from '../../db/client.ts';
import { NotFoundError, ValidationError } from '../../errors.ts';
import type { ActivityKind, Contact, ContactKind, Prisma } from '../../generated/prisma/client.ts';
import { audit } from '../audit/service.ts';

type Ctx = Context & { viewer: Viewer };

/** The viewer's facts in a workspace; NOT_FOUND when it does not exist. */
export async function workspaceFacts(ctx: Context, workspaceId: string): Promise<WorkspaceFacts> {
  const facts = await ctx.access.workspace(workspaceId);
  if (!facts) throw new NotFoundError('The workspace');
  return facts;
}

/** Asks the contact rules about a workspace and turns a refusal into NOT_FOUND or FORBIDDEN. */
export async function requireWorkspaceContacts(
  ctx: Context,
  workspaceId: string,
  question: ContactQuestion,
): Promise<WorkspaceFacts> {
  const facts = await workspaceFacts(ctx, workspaceId);
  enforce(decideContact(facts, question), 'The workspace');
  return facts;
}

/** Loads a contact the viewer may read and asks the rules; an unreadable contact is NOT_FOUND. */
async function requireContact(
  ctx: Ctx,
  contactId: string,
  question: ContactQuestion,
): Promise<{ contact: Contact; facts: WorkspaceFacts }> {
  const contact = await ctx.db.contact.findUnique({ where: { id: contactId } });
  if (!contact) throw new NotFoundError('The contact');
  const facts = await workspaceFacts(ctx, contact.workspaceId);
  const throughList = await contactReachedThroughList(ctx.db, ctx.viewer.id, contact.id);
  const visible = decideContact(facts, 'contact:read', throughList).allowed;
  enforce(decideContact(facts, question, throughList), 'The contact', visible);
  return { contact, facts };
}

/** Runs a contact-data change in one transaction with its audit row. */
export async function contactChange<T>(
  ctx: Ctx,
  facts: WorkspaceFacts,
  action: string,
  resource: (value: T) => { type: string; id: string; data: Record<string, unknown> },
  work: (tx: DbTx) => Promise<T>,
): Promise<T> {
  return ctx.db.$transaction(async (tx) => {
    const value = await work(tx);
    const { type, id, data } = resource(value);
    await audit(tx, {
      accountId: facts.account.accountId,
      actorId: ctx.viewer.id,
      action,
      resourceType: type,
      resourceId: id,
      data: { workspaceId: facts.workspaceId, ...data },
    });
    return value;
  });
}

/** Checks that `companyId` names a company of the same workspace. */
async function checkCompany(db: DbTx, workspaceId: string, companyId: string | null | undefined, self?: string) {
  if (!companyId) return;
  const company = await db.contact.findUnique({ where: { id: companyId }, select: { workspaceId: true, kind: true } });
  if (!company || company.workspaceId !== workspaceId || company.kind !== 'COMPANY' || companyId === self) {
    throw new ValidationError('companyId must name a company of the same workspace', ['input', 'companyId']);
  }
}

/** Merges a JSON object patch key by key; a null value removes the key. */
export function mergeObject(before: unknown, patch: Record<string, unknown>): Prisma.InputJsonObject {
  const base = before && typeof before === 'object' && !Array.isArray(before) ? { ...before } : {};
  const merged: Record<string, unknown> = base;
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged as Prisma.InputJsonObject;
}

export interface ContactInput {
  workspaceId: string;
  kind: ContactKind;
  name: string;
  email?: string | null;
  companyId?: string | null;
  enrichment?: Record<string, unknown> | null;
  connectionStrength?: number | null;
  lastContactAt?: Date | null;
}

/** Adds a person or company to a workspace (its members and account admins). */
export async function createContact(ctx: Ctx, input: ContactInput): Promise<Contact> {
  const facts = await requireWorkspaceContacts(ctx, input.workspaceId, 'contact:write');
  await checkCompany(ctx.db, input.workspaceId, input.companyId);
  return contactChange(
    ctx,
    facts,
    'contact.create',
    (c) => ({ type: 'Contact', id: c.id, data: { kind: c.kind } }),
    (tx) =>
      tx.contact.create({
        data: {
          workspaceId: input.workspaceId,
          kind: input.kind,
          name: input.name,
          email: input.email ?? null,
          companyId: input.companyId ?? null,
          enrichment: mergeObject({}, input.enrichment ?? {}),
          connectionStrength: input.connectionStrength ?? null,
          lastContactAt: input.lastContactAt ?? null,
          createdById: ctx.viewer.id,
        },
      }),
  );
}

export interface ContactPatch {
  contactId: string;
  name?: string | null;
  email?: string | null;
  companyId?: string | null;
  /** Merged key by key; a null value removes the key. */
  enrichment?: Record<string, unknown> | null;
  connectionStrength?: number | null;
  lastContactAt?: Date | null;
}

/** Changes a contact; omitted parts stay, enrichment merges key by key. */
export async function updateContact(ctx: Ctx, input: ContactPatch): Promise<Contact> {
  const { contact, facts } = await requireContact(ctx, input.contactId, 'contact:write');
  await checkCompany(ctx.db, contact.workspaceId, input.companyId, contact.id);
  const data: Prisma.ContactUpdateInput = {
    ...(input.name ? { name: input.name } : {}),
    ...(input.email !== undefined ? { email: input.email } : {}),
    ...(input.companyId !== undefined
      ? { company: input.companyId ? { connect: { id: input.companyId } } : { disconnect: true } }
      : {}),
    ...(input.enrichment ? { enrichment: mergeObject(contact.enrichment, input.enrichment) } : {}),
    ...(input.connectionStrength !== undefined ? { connectionStrength: input.connectionStrength } : {}),
    ...(input.lastContactAt !== undefined ? { lastContactAt: input.lastContactAt } : {}),
  };
  const changed = Object.keys(data);
  if (!changed.length) return contact;
  return contactChange(
    ctx,
    facts,
    'contact.update',
    (c) => ({ type: 'Contact', id: c.id, data: { fields: changed } }),
    (tx) => tx.contact.update({ where: { id: contact.id }, data }),
  );
}

/** Records that something happened with a contact (a meeting, a call, a note), without content. */
export async function recordActivity(
  ctx: Ctx,
  input: { contactId: string; kind: ActivityKind; occurredAt: Date },
): Promise<{ id: string }> {
  const { contact, facts } = await requireContact(ctx, input.contactId, 'contact:write');
  return contactChange(
    ctx,
    facts,
    'activity.record',
    (a) => ({ type: 'Contact', id: contact.id, data: { activityId: a.id, kind: input.kind } }),
    async (tx) => {
      const activity = await tx.activity.create({
        data: {
          workspaceId: contact.workspaceId,
          contactId: contact.id,
          actorId: ctx.viewer.id,
          kind: input.kind,
          occurredAt: input.occurredAt,
        },
      });
      await touchContact(tx, contact.id, input.occurredAt);
      return activity;
    },
  );
}

/** Moves a contact's `lastContactAt` forward to `at` (never back). */
export async function touchContact(tx: DbTx, contactId: string, at: Date): Promise<void> {
  await tx.contact.updateMany({
    where: { id: contactId, OR: [{ lastContactAt: null }, { lastContactAt: { lt: at } }] },
    data: { lastContactAt: at },
  });
}

/**
 * Deletes a contact (workspace members and account admins) with its activity feed; emails about
 * it and items linking to it stay, without the link.
 */
export async function deleteContact(ctx: Ctx, input: { contactId: string }): Promise<string> {
  const { contact, facts } = await requireContact(ctx, input.contactId, 'contact:write');
  await contactChange(
    ctx,
    facts,
    'contact.delete',
    () => ({ type: 'Contact', id: contact.id, data: { kind: contact.kind, name: contact.name } }),
    (tx) => tx.contact.delete({ where: { id: contact.id } }),
  );
  return contact.id;
}
