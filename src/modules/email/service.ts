import { enforce } from '../../access/enforce.ts';
import { decideContact } from '../../access/rules.ts';
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

/** Sets an email's custom properties, key by key (a null value removes the key). */
export async function setEmailProperties(
  ctx: Ctx,
  input: { emailId: string; properties: Record<string, unknown> },
): Promise<Email> {
  const email = await ctx.db.email.findUnique({ where: { id: input.emailId } });
  if (!email) throw new NotFoundError('The email');
  const facts = await workspaceFacts(ctx, email.workspaceId);
  const visible = decideContact(facts, 'contact:read-activity').allowed;
  enforce(decideContact(facts, 'contact:write'), 'The email', visible);
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
