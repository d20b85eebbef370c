import { encodeGlobalID } from '@pothos/plugin-relay';
import { z } from 'zod';
import { visibleContactsWhere } from '../../access/load.ts';
import { decideContact } from '../../access/rules.ts';
import { builder } from '../../builder.ts';
import type { Context } from '../../context.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import { ActivityKind, ContactKind } from '../../generated/prisma/enums.ts';
import { isStorableText, jsonObject, name } from '../inputs.ts';
import { WorkspaceObject } from '../workspace/schema.ts';
import { createContact, deleteContact, recordActivity, updateContact } from './service.ts';

export const ContactKindEnum = builder.enumType(ContactKind, {
  name: 'ContactKind',
  description: 'A PERSON or a COMPANY.',
});

export const ActivityKindEnum = builder.enumType(ActivityKind, {
  name: 'ActivityKind',
  description: 'What happened with a contact: an email sent or received, a meeting, a call, a note.',
});

/**
 * Whether the viewer may read a workspace's activity and email metadata; field scopes ask this so
 * that those outside the workspace get null, not an error.
 */
export async function readsWorkspaceActivity(ctx: Context, workspaceId: string): Promise<boolean> {
  const facts = await ctx.access.workspace(workspaceId);
  return !!facts && decideContact(facts, 'contact:read-activity').allowed;
}

const viewerId = (ctx: Context) => ctx.viewer?.id ?? '';

export const ContactObject = builder.prismaNode('Contact', {
  description:
    'A person or company of a workspace, with enrichment and relationship data. Visible to the workspace, and to whoever reads a list holding it.',
  id: { field: 'id' },
  // An invisible id resolves to null, like a missing one (not an error).
  nullable: true,
  findUnique: (id, ctx) => ({ id, AND: [visibleContactsWhere(viewerId(ctx))] }),
  fields: (t) => ({
    kind: t.expose('kind', { type: ContactKindEnum, description: 'PERSON or COMPANY.' }),
    name: t.exposeString('name', { description: 'Display name.' }),
    email: t.exposeString('email', { nullable: true, description: 'Email address, when known.' }),
    enrichment: t.expose('enrichment', {
      type: 'JSON',
      description: 'Enrichment data (title, location, company size…), a JSON object.',
    }),
    connectionStrength: t.exposeInt('connectionStrength', {
      nullable: true,
      description: 'How strong the relationship is, 0 (none) to 100.',
    }),
    lastContactAt: t.expose('lastContactAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When someone of the workspace last had contact with them.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was added.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
    workspace: t.relation('workspace', { description: 'The workspace it belongs to.' }),
    company: t.prismaField({
      type: 'Contact',
      nullable: true,
      description: "A person's company, when the viewer may see it.",
      resolve: (query, contact, _args, ctx) =>
        contact.companyId
          ? ctx.db.contact.findFirst({
              ...query,
              where: { id: contact.companyId, AND: [visibleContactsWhere(viewerId(ctx))] },
            })
          : null,
    }),
    people: t.relatedConnection('people', {
      description: "A company's people that the viewer may see, by name.",
      cursor: 'id',
      query: (_args, ctx) => ({
        where: visibleContactsWhere(viewerId(ctx)),
        orderBy: [{ name: 'asc' }, { id: 'asc' }],
      }),
    }),
    activities: t.relatedConnection('activities', {
      nullable: true,
      description:
        'What happened with them, newest first ("sent an email", "had a meeting"); null outside the workspace.',
      cursor: 'id',
      query: { orderBy: [{ occurredAt: 'desc' }, { id: 'desc' }] },
      authScopes: async (contact, _args, ctx) => readsWorkspaceActivity(ctx, contact.workspaceId),
      unauthorizedResolver: () => null,
    }),
  }),
});

const ACTIVITY_SUMMARY: Record<ActivityKind, string> = {
  EMAIL_SENT: 'sent an email',
  EMAIL_RECEIVED: 'received an email',
  MEETING: 'had a meeting',
  CALL: 'had a call',
  NOTE: 'wrote a note',
};

builder.prismaObject('Activity', {
  description: 'One high-level thing that happened with a contact; never its content.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Activity id.' }),
    kind: t.expose('kind', { type: ActivityKindEnum, description: 'What happened.' }),
    summary: t.string({
      description: 'The activity in words, e.g. "sent an email", "had a meeting".',
      resolve: (a) => ACTIVITY_SUMMARY[a.kind],
    }),
    occurredAt: t.expose('occurredAt', { type: 'DateTime', description: 'When it happened.' }),
    actor: t.relation('actor', { nullable: true, description: 'Who of the workspace it was.' }),
  }),
});

builder.prismaObjectField('Workspace', 'contacts', (t) =>
  t.relatedConnection('contacts', {
    nullable: true,
    description:
      "The workspace's contacts the viewer may see, by name; `search` matches name or email. Null behind the lock of a workspace the viewer has not joined and reaches no list of.",
    cursor: 'id',
    authScopes: (ws) => ({ workspace: { id: ws.id, question: 'workspace:lists' } }),
    unauthorizedResolver: () => null,
    args: { search: t.arg.string({ description: 'Part of a name or email, any case.' }) },
    query: (args, ctx) => {
      const search = args.search?.trim();
      // PostgreSQL refuses NUL and unpaired surrogates in a pattern, and no stored name holds one:
      // such a search matches nothing.
      const matches = !search
        ? {}
        : isStorableText(search)
          ? {
              OR: [
                { name: { contains: search, mode: 'insensitive' as const } },
                { email: { contains: search, mode: 'insensitive' as const } },
              ],
            }
          : { id: { in: [] } };
      return {
        where: { AND: [visibleContactsWhere(viewerId(ctx)), matches] },
        orderBy: [{ name: 'asc' }, { id: 'asc' }],
      };
    },
  }),
);

const contactErrors = [ValidationError, ForbiddenError, NotFoundError] as const;
const contactName = name(300);
const email = z.email().max(320);
const strength = z.number().int().min(0).max(100);

const CreateContactInput = builder.inputType('CreateContactInput', {
  description: 'A new person or company in a workspace.',
  fields: (t) => ({
    workspaceId: t.globalID({ required: true, for: WorkspaceObject, description: 'The workspace.' }),
    kind: t.field({ type: ContactKindEnum, defaultValue: 'PERSON', description: 'PERSON (default) or COMPANY.' }),
    name: t.string({ required: true, description: 'Display name.', validate: contactName }),
    email: t.string({ description: 'Email address.', validate: email }),
    companyId: t.globalID({ for: ContactObject, description: 'Their company (a COMPANY of the same workspace).' }),
    enrichment: t.field({ type: 'JSON', description: 'Enrichment data, a JSON object.', validate: jsonObject }),
    connectionStrength: t.int({ description: 'Relationship strength, 0 to 100.', validate: strength }),
    lastContactAt: t.field({ type: 'DateTime', description: 'When they were last in contact.' }),
  }),
});

const ContactPayload = (typeName: string, description: string) =>
  builder.simpleObject(typeName, {
    description,
    fields: (t) => ({ contact: t.field({ type: ContactObject, description: 'The contact.' }) }),
  });

builder.mutationField('createContact', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: ContactPayload('CreateContactPayload', 'The contact added.'),
    description: 'Adds a person or company to a workspace (its members and account admins).',
    args: { input: t.arg({ type: CreateContactInput, required: true }) },
    errors: { types: [...contactErrors], directResult: true, union: { name: 'CreateContactResult' } },
    resolve: async (_root, { input }, ctx) => ({
      contact: await createContact(ctx, {
        workspaceId: input.workspaceId.id,
        kind: input.kind ?? 'PERSON',
        name: input.name.trim(),
        email: input.email?.toLowerCase() ?? null,
        companyId: input.companyId?.id ?? null,
        enrichment: (input.enrichment as Record<string, unknown> | null | undefined) ?? null,
        connectionStrength: input.connectionStrength ?? null,
        lastContactAt: input.lastContactAt ?? null,
      }),
    }),
  }),
);

const UpdateContactInput = builder.inputType('UpdateContactInput', {
  description: 'Changes to a contact; omitted fields stay, null clears, enrichment merges key by key.',
  fields: (t) => ({
    contactId: t.globalID({ required: true, for: ContactObject, description: 'The contact.' }),
    name: t.string({ description: 'New name.', validate: contactName }),
    email: t.string({ description: 'New email; null clears it.', validate: email.nullable() }),
    companyId: t.globalID({ for: ContactObject, description: 'New company; null clears it.' }),
    enrichment: t.field({
      type: 'JSON',
      description: 'Keys to set; a null value removes the key.',
      validate: jsonObject,
    }),
    connectionStrength: t.int({
      description: 'Relationship strength, 0 to 100; null clears it.',
      validate: strength.nullable(),
    }),
    lastContactAt: t.field({ type: 'DateTime', description: 'When they were last in contact; null clears it.' }),
  }),
});

builder.mutationField('updateContact', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: ContactPayload('UpdateContactPayload', 'The contact after the change.'),
    description: 'Changes a contact (workspace members and account admins).',
    args: { input: t.arg({ type: UpdateContactInput, required: true }) },
    errors: { types: [...contactErrors], directResult: true, union: { name: 'UpdateContactResult' } },
    resolve: async (_root, { input }, ctx) => ({
      contact: await updateContact(ctx, {
        contactId: input.contactId.id,
        name: input.name?.trim(),
        email: input.email === undefined ? undefined : (input.email?.toLowerCase() ?? null),
        companyId: input.companyId === undefined ? undefined : (input.companyId?.id ?? null),
        enrichment: (input.enrichment as Record<string, unknown> | null | undefined) ?? null,
        connectionStrength: input.connectionStrength,
        lastContactAt: input.lastContactAt,
      }),
    }),
  }),
);

const RecordActivityInput = builder.inputType('RecordActivityInput', {
  description: 'Something that happened with a contact: a meeting, a call or a note (emails come with recordEmail).',
  fields: (t) => ({
    contactId: t.globalID({ required: true, for: ContactObject, description: 'The contact.' }),
    kind: t.field({
      type: ActivityKindEnum,
      required: true,
      description: 'MEETING, CALL or NOTE.',
      validate: z.enum(['MEETING', 'CALL', 'NOTE'], { message: 'Emails are recorded with recordEmail' }),
    }),
    occurredAt: t.field({ type: 'DateTime', required: true, description: 'When it happened.' }),
  }),
});

builder.mutationField('recordActivity', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: ContactPayload('RecordActivityPayload', 'The contact, with the activity in its feed.'),
    description: 'Records a meeting, call or note with a contact (workspace members and account admins).',
    args: { input: t.arg({ type: RecordActivityInput, required: true }) },
    errors: { types: [...contactErrors], directResult: true, union: { name: 'RecordActivityResult' } },
    resolve: async (_root, { input }, ctx) => {
      await recordActivity(ctx, { contactId: input.contactId.id, kind: input.kind, occurredAt: input.occurredAt });
      return { contact: await ctx.db.contact.findUniqueOrThrow({ where: { id: input.contactId.id } }) };
    },
  }),
);

const DeleteContactInput = builder.inputType('DeleteContactInput', {
  description: 'The contact to delete.',
  fields: (t) => ({ contactId: t.globalID({ required: true, for: ContactObject, description: 'The contact.' }) }),
});

const DeleteContactPayload = builder.simpleObject('DeleteContactPayload', {
  description: 'The contact deleted.',
  fields: (t) => ({ contactId: t.id({ description: 'Global id of the deleted contact.' }) }),
});

builder.mutationField('deleteContact', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: DeleteContactPayload,
    description:
      'Deletes a contact with its activity feed (workspace members and account admins); emails about it and items linking to it stay, unlinked.',
    args: { input: t.arg({ type: DeleteContactInput, required: true }) },
    errors: { types: [...contactErrors], directResult: true, union: { name: 'DeleteContactResult' } },
    resolve: async (_root, { input }, ctx) => ({
      contactId: encodeGlobalID('Contact', await deleteContact(ctx, { contactId: input.contactId.id })),
    }),
  }),
);
