import { enforce } from '../../access/enforce.ts';
import type { WorkspaceFacts } from '../../access/facts.ts';
import { decideEmail } from '../../access/rules.ts';
import type { Context, Viewer } from '../../context.ts';
import { NotFoundError, ValidationError } from '../../errors.ts';
import type { Email } from '../../generated/prisma/client.ts';
import {
  contactChange,
  mergeObject,
  requireWorkspaceContacts,
  touchContact,
  workspaceFacts,
} from '../contact/service.ts';
import { normalizeEmail } from '../user/service.ts';

type Ctx = Context & { viewer: Viewer };

export interface RecordEmailInput {
  workspaceId: string;
  contactId?: string | null;
  /** The mailbox's thread key; emails sharing it form one thread. */
  threadId?: string | null;
  subject: string;
  sender: string;
  participants: string[];
  sentAt: Date;
  body: string;
  properties?: Record<string, unknown> | null;
}

/**
 * Stores an email of the viewer's connected mailbox in a workspace: the viewer owns it (only they
 * read its body and thread); its contact's feed shows that an email was sent or received.
 */
export async function recordEmail(ctx: Ctx, input: RecordEmailInput): Promise<Email> {
  const facts = await requireWorkspaceContacts(ctx, input.workspaceId, 'contact:write');
  if (input.contactId) {
    const contact = await ctx.db.contact.findUnique({ where: { id: input.contactId }, select: { workspaceId: true } });
    if (contact?.workspaceId !== input.workspaceId) {
      throw new ValidationError('contactId must name a contact of the same workspace', ['input', 'contactId']);
    }
  }
  const sender = normalizeEmail(input.sender);
  const direction = sender === normalizeEmail(ctx.viewer.email) ? 'EMAIL_SENT' : 'EMAIL_RECEIVED';
  return contactChange(
    ctx,
    facts,
    'email.record',
    (e) => ({ type: 'Email', id: e.id, data: { contactId: e.contactId } }),
    async (tx) => {
      const email = await tx.email.create({
        data: {
          workspaceId: input.workspaceId,
          ownerId: ctx.viewer.id,
          contactId: input.contactId ?? null,
          threadId: input.threadId ?? null,
          subject: input.subject,
          sender,
          participants: input.participants.map(normalizeEmail),
          sentAt: input.sentAt,
          body: input.body,
          properties: mergeObject({}, input.properties ?? {}),
        },
      });
      if (email.contactId) {
        await tx.activity.create({
          data: {
            workspaceId: email.workspaceId,
            contactId: email.contactId,
            actorId: ctx.viewer.id,
            emailId: email.id,
            kind: direction,
            occurredAt: email.sentAt,
          },
        });
        await touchContact(tx, email.contactId, email.sentAt);
      }
      return email;
    },
  );
}

/**
 * Loads an email the viewer may change: NOT_FOUND when it does not exist or they cannot see it
 * (as for a random id), FORBIDDEN when they see it but do not own it.
 */
async function ownEmail(ctx: Ctx, emailId: string): Promise<{ email: Email; facts: WorkspaceFacts }> {
  const email = await ctx.db.email.findUnique({ where: { id: emailId } });
  if (!email) throw new NotFoundError('The email');
  const facts = await workspaceFacts(ctx, email.workspaceId);
  const visible = decideEmail(facts, ctx.viewer.id, email, 'email:see').allowed;
  enforce(decideEmail(facts, ctx.viewer.id, email, 'email:write'), 'The email', visible);
  return { email, facts };
}

/** Sets an email's custom properties, key by key (a null value removes the key): its owner only. */
export async function setEmailProperties(
  ctx: Ctx,
  input: { emailId: string; properties: Record<string, unknown> },
): Promise<Email> {
  const { email, facts } = await ownEmail(ctx, input.emailId);
  return contactChange(
    ctx,
    facts,
    'email.properties',
    () => ({ type: 'Email', id: email.id, data: { keys: Object.keys(input.properties).sort() } }),
    (tx) =>
      tx.email.update({
        where: { id: email.id },
        data: { properties: mergeObject(email.properties, input.properties) },
      }),
  );
}

/**
 * Deletes an email: its owner only. Its contact's feed forgets it was sent or received (that
 * activity was the email's own), and the rest of its thread stays.
 */
export async function deleteEmail(ctx: Ctx, input: { emailId: string }): Promise<string> {
  const { email, facts } = await ownEmail(ctx, input.emailId);
  await contactChange(
    ctx,
    facts,
    'email.delete',
    () => ({ type: 'Email', id: email.id, data: { contactId: email.contactId, subject: email.subject } }),
    async (tx) => {
      await tx.activity.deleteMany({ where: { emailId: email.id } });
      return tx.email.delete({ where: { id: email.id } });
    },
  );
  return email.id;
}
