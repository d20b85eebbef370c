import { encodeGlobalID } from '@pothos/plugin-relay';
import { z } from 'zod';
import { visibleContactsWhere, visibleEmailsWhere } from '../../access/load.ts';
import { decideEmailContent } from '../../access/rules.ts';
import { builder } from '../../builder.ts';
import type { Context } from '../../context.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import { ContactObject, readsWorkspaceActivity } from '../contact/schema.ts';
import { jsonObject, text } from '../inputs.ts';
import { WorkspaceObject } from '../workspace/schema.ts';
import { deleteEmail, recordEmail, setEmailProperties } from './service.ts';

const viewerId = (ctx: Context) => ctx.viewer?.id ?? '';
const ownerOnly = (email: { ownerId: string | null }, ctx: Context) =>
  decideEmailContent(ctx.viewer?.id ?? null, email).allowed;

export const EmailObject = builder.prismaNode('Email', {
  description:
    'An email from a connected mailbox. Its metadata is visible to the workspace; its body and thread only to its owner.',
  id: { field: 'id' },
  // An invisible id resolves to null, like a missing one (not an error).
  nullable: true,
  findUnique: (id, ctx) => ({ id, AND: [visibleEmailsWhere(viewerId(ctx))] }),
  fields: (t) => ({
    subject: t.exposeString('subject', { description: 'The subject line.' }),
    sender: t.exposeString('sender', { description: 'Who sent it (an address).' }),
    participants: t.exposeStringList('participants', { description: 'Every other address on it.' }),
    sentAt: t.expose('sentAt', { type: 'DateTime', description: 'When it was sent.' }),
    properties: t.expose('properties', { type: 'JSON', description: 'Custom properties, a JSON object.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was recorded.' }),
    owner: t.relation('owner', { nullable: true, description: 'Whose mailbox it came from.' }),
    workspace: t.relation('workspace', { description: 'The workspace it was recorded in.' }),
    contact: t.prismaField({
      type: 'Contact',
      nullable: true,
      description: 'The contact it is about, when the viewer may see it.',
      resolve: (query, email, _args, ctx) =>
        email.contactId
          ? ctx.db.contact.findFirst({
              ...query,
              where: { id: email.contactId, AND: [visibleContactsWhere(viewerId(ctx))] },
            })
          : null,
    }),
    body: t.exposeString('body', {
      nullable: true,
      description: 'The content; null for everyone but its owner.',
      authScopes: (email, _args, ctx) => ownerOnly(email, ctx),
      unauthorizedResolver: () => null,
    }),
    thread: t.prismaField({
      type: ['Email'],
      nullable: true,
      description: "Every email of its thread in the owner's mailbox, oldest first; null for everyone but its owner.",
      authScopes: (email, _args, ctx) => ownerOnly(email, ctx),
      unauthorizedResolver: () => null,
      resolve: (query, email, _args, ctx) =>
        email.threadId
          ? ctx.db.email.findMany({
              ...query,
              where: { workspaceId: email.workspaceId, ownerId: email.ownerId, threadId: email.threadId },
              orderBy: [{ sentAt: 'asc' }, { id: 'asc' }],
            })
          : ctx.db.email.findMany({ ...query, where: { id: email.id } }),
    }),
  }),
});

builder.prismaObjectField('Contact', 'emails', (t) =>
  t.relatedConnection('emails', {
    nullable: true,
    description:
      'Emails about this contact, newest first (metadata; bodies for their owners); null outside the workspace.',
    cursor: 'id',
    query: { orderBy: [{ sentAt: 'desc' }, { id: 'desc' }] },
    authScopes: async (contact, _args, ctx) => readsWorkspaceActivity(ctx, contact.workspaceId),
    unauthorizedResolver: () => null,
  }),
);

builder.prismaObjectField('Workspace', 'emails', (t) =>
  t.relatedConnection('emails', {
    nullable: true,
    description: 'Emails recorded in the workspace, newest first; null for those who only reach single lists.',
    cursor: 'id',
    query: { orderBy: [{ sentAt: 'desc' }, { id: 'desc' }] },
    authScopes: async (ws, _args, ctx) => readsWorkspaceActivity(ctx, ws.id),
    unauthorizedResolver: () => null,
  }),
);

const emailErrors = [ValidationError, ForbiddenError, NotFoundError] as const;
const address = z.email().max(320);

const RecordEmailInput = builder.inputType('RecordEmailInput', {
  description: "An email as the viewer's connected mailbox stores it; the viewer owns it.",
  fields: (t) => ({
    workspaceId: t.globalID({ required: true, for: WorkspaceObject, description: 'The workspace.' }),
    contactId: t.globalID({ for: ContactObject, description: 'The contact it is about (same workspace).' }),
    threadId: t.string({ description: "The mailbox's thread key.", validate: text(500).min(1) }),
    subject: t.string({ required: true, description: 'The subject line.', validate: text(1000) }),
    sender: t.string({ required: true, description: 'Who sent it.', validate: address }),
    participants: t.stringList({
      required: true,
      description: 'Every other address on it.',
      validate: z.array(address).max(500),
    }),
    sentAt: t.field({ type: 'DateTime', required: true, description: 'When it was sent.' }),
    body: t.string({ required: true, description: 'The content.', validate: text(1_000_000) }),
    properties: t.field({ type: 'JSON', description: 'Custom properties, a JSON object.', validate: jsonObject }),
  }),
});

const EmailPayload = (typeName: string, description: string) =>
  builder.simpleObject(typeName, {
    description,
    fields: (t) => ({ email: t.field({ type: EmailObject, description: 'The email.' }) }),
  });

builder.mutationField('recordEmail', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: EmailPayload('RecordEmailPayload', 'The email recorded.'),
    description: "Records an email of the viewer's mailbox in a workspace (its members and account admins).",
    args: { input: t.arg({ type: RecordEmailInput, required: true }) },
    errors: { types: [...emailErrors], directResult: true, union: { name: 'RecordEmailResult' } },
    resolve: async (_root, { input }, ctx) => ({
      email: await recordEmail(ctx, {
        ...input,
        workspaceId: input.workspaceId.id,
        contactId: input.contactId?.id ?? null,
        properties: (input.properties as Record<string, unknown> | null | undefined) ?? null,
      }),
    }),
  }),
);

const SetEmailPropertiesInput = builder.inputType('SetEmailPropertiesInput', {
  description: 'Custom properties to set on an email, key by key; a null value removes the key.',
  fields: (t) => ({
    emailId: t.globalID({ required: true, for: EmailObject, description: 'The email.' }),
    properties: t.field({
      type: 'JSON',
      required: true,
      description: 'Keys to set, a JSON object.',
      validate: jsonObject,
    }),
  }),
});

builder.mutationField('setEmailProperties', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: EmailPayload('SetEmailPropertiesPayload', 'The email with its new properties.'),
    description: "Sets an email's custom properties (its owner only).",
    args: { input: t.arg({ type: SetEmailPropertiesInput, required: true }) },
    errors: { types: [...emailErrors], directResult: true, union: { name: 'SetEmailPropertiesResult' } },
    resolve: async (_root, { input }, ctx) => ({
      email: await setEmailProperties(ctx, {
        emailId: input.emailId.id,
        properties: input.properties as Record<string, unknown>,
      }),
    }),
  }),
);

const DeleteEmailInput = builder.inputType('DeleteEmailInput', {
  description: 'The email to delete.',
  fields: (t) => ({ emailId: t.globalID({ required: true, for: EmailObject, description: 'The email.' }) }),
});

const DeleteEmailPayload = builder.simpleObject('DeleteEmailPayload', {
  description: 'The email deleted.',
  fields: (t) => ({ emailId: t.id({ description: 'Global id of the deleted email.' }) }),
});

builder.mutationField('deleteEmail', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: DeleteEmailPayload,
    description:
      "Deletes an email (its owner only), with the sent/received activity it put in its contact's feed; the rest of its thread stays.",
    args: { input: t.arg({ type: DeleteEmailInput, required: true }) },
    errors: { types: [...emailErrors], directResult: true, union: { name: 'DeleteEmailResult' } },
    resolve: async (_root, { input }, ctx) => ({
      emailId: encodeGlobalID('Email', await deleteEmail(ctx, { emailId: input.emailId.id })),
    }),
  }),
);
