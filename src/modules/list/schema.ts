import { encodeGlobalID } from '@pothos/plugin-relay';
import { membershipWhere, readableListsWhere, sharesReachingWhere } from '../../access/load.ts';
import { builder } from '../../builder.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import type { List } from '../../generated/prisma/client.ts';
import { GeneralAccess, ListKind, ListRole } from '../../generated/prisma/enums.ts';
import { callerOf, lookUpSecret } from '../../security/rate-limits.ts';
import { futureInstant, name } from '../inputs.ts';
import { ITEM_ORDER } from '../item/page.ts';
import { WorkspaceObject } from '../workspace/schema.ts';
import { listReadPlan, openList } from './read.ts';
import { copyList, createList, deleteList, rotateListLink, setListGeneralAccess, updateList } from './service.ts';
import './explain.ts';

export const ListKindEnum = builder.enumType(ListKind, {
  name: 'ListKind',
  description:
    'MAIN (shared with the workspace), SHAREABLE (may be shared outside the account), PRIVATE (creator only).',
});

export const GeneralAccessEnum = builder.enumType(GeneralAccess, {
  name: 'GeneralAccess',
  description:
    'Who reaches a list without an explicit share: RESTRICTED (nobody), WORKSPACE (the workspace audience), ANYONE_WITH_LINK (whoever has the link token, as viewer), GLOBAL (the whole account, as viewer).',
});

export const ListRoleEnum = builder.enumType(ListRole, {
  name: 'ListRole',
  description: 'A role on a list, ordered: VIEWER < EDITOR < CO_OWNER < CREATOR.',
});

export const ListObject = builder.prismaNode('List', {
  description: 'A board, pipeline or list of items, with its own sharing.',
  id: { field: 'id' },
  // node(id:) answers only for lists the viewer can read (a link token opens a list only through
  // `list`); an invisible id resolves to null, like a missing one.
  nullable: true,
  findUnique: (id, ctx) => ({ id, AND: [readableListsWhere(ctx.viewer?.id ?? '')] }),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name.' }),
    kind: t.expose('kind', { type: ListKindEnum, description: 'MAIN, SHAREABLE or PRIVATE.' }),
    generalAccess: t.expose('generalAccess', {
      type: GeneralAccessEnum,
      description: 'Who reaches it without a share.',
    }),
    generalRole: t.expose('generalRole', {
      type: ListRoleEnum,
      description: 'The role the general-access audience gets (VIEWER or EDITOR).',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
    viewerRole: t.field({
      type: ListRoleEnum,
      nullable: true,
      description: "The viewer's effective role: the highest of every grant that applies.",
      resolve: (list, _args, ctx) => ctx.access.listRole(list.id),
    }),
    workspace: t.relation('workspace', { description: 'The workspace it belongs to.' }),
    creator: t.relation('creator', { nullable: true, description: 'Who made it (null once their account is gone).' }),
    linkToken: t.string({
      nullable: true,
      description: 'The token of its link (ANYONE_WITH_LINK); only for those who manage its access.',
      resolve: async (list, _args, ctx) =>
        (await ctx.access.decideList(list.id, 'list:manage-access'))?.allowed ? list.linkToken : null,
    }),
    linkExpiresAt: t.expose('linkExpiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When its link stops opening it (general access then falls back to RESTRICTED); null: never.',
    }),
    items: t.relatedConnection('items', {
      description: 'Its items, in order.',
      cursor: 'id',
      query: { orderBy: ITEM_ORDER },
    }),
    shares: t.relation('shares', {
      nullable: true,
      description: 'Who it is shared with, and as what; null for anonymous link viewers.',
      deprecationReason: 'Use sharesConnection: the same, a page at a time (first/after).',
      query: { orderBy: { createdAt: 'asc' } },
      authScopes: { loggedIn: true },
      unauthorizedResolver: () => null,
    }),
    sharesConnection: t.relatedConnection('shares', {
      nullable: true,
      description:
        'Who it is shared with, and as what, oldest first, a page at a time; null for anonymous link viewers.',
      cursor: 'id',
      query: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
      authScopes: { loggedIn: true },
      unauthorizedResolver: () => null,
    }),
  }),
});

builder.prismaObjectField(WorkspaceObject, 'lists', (t) =>
  t.relatedConnection('lists', {
    nullable: true,
    description:
      'Its lists the viewer can read, oldest first (filtered in SQL, so pages are full); null behind the lock of a workspace the viewer has not joined and reaches no list of.',
    cursor: 'id',
    authScopes: (ws) => ({ workspace: { id: ws.id, question: 'workspace:lists' } }),
    unauthorizedResolver: () => null,
    query: (_args, ctx) => ({ where: readableListsWhere(ctx.viewer?.id ?? ''), orderBy: { id: 'asc' } }),
  }),
);

builder.queryField('list', (t) =>
  t.prismaField({
    type: 'List',
    nullable: true,
    description:
      'A list the viewer can read, or opens with its link token; null otherwise (the same as one that does not exist).',
    args: {
      id: t.arg.globalID({ required: true, for: ListObject, description: 'The list id.' }),
      linkToken: t.arg.string({ description: "The list's link token, for ANYONE_WITH_LINK." }),
    },
    resolve: async (query, _root, args, ctx, info) => {
      const open = async () => {
        // The list, its page of items and the viewer's access facts in one statement when the
        // selection is one `readList` serves (the same rows Prisma's query would give).
        const plan = listReadPlan(query, info);
        if (plan) return (await openList(ctx, args.id.id, plan, args.linkToken)) as List | null;
        const [decision, list] = await Promise.all([
          ctx.access.decideList(args.id.id, 'list:read', args.linkToken),
          ctx.db.list.findUnique({ ...query, where: { id: args.id.id } }),
        ]);
        return decision?.allowed ? list : null;
      };
      // A presented link token is a secret: a wrong one spends from the caller's failure budget.
      return args.linkToken ? lookUpSecret(ctx.limits, callerOf(ctx), open) : open();
    },
  }),
);

builder.queryField('sharedWithMe', (t) =>
  t.prismaConnection({
    type: 'List',
    cursor: 'id',
    description:
      'Lists shared with the viewer (directly, through a group or a right) in workspaces they are not a member of, newest first.',
    resolve: (query, _root, _args, ctx) => {
      const viewerId = ctx.viewer?.id;
      if (!viewerId) return [];
      return ctx.db.list.findMany({
        ...query,
        where: {
          shares: { some: sharesReachingWhere(viewerId) },
          workspace: { members: { none: membershipWhere(viewerId) } },
          NOT: { creatorId: viewerId },
        },
        orderBy: { id: 'desc' },
      });
    },
  }),
);

const listName = name(200);
const listErrors = [ValidationError, ForbiddenError, NotFoundError] as const;

const CreateListInput = builder.inputType('CreateListInput', {
  description: 'A new list; the viewer becomes its CREATOR.',
  fields: (t) => ({
    workspaceId: t.globalID({ required: true, for: WorkspaceObject, description: 'The workspace.' }),
    name: t.string({ required: true, description: 'Display name.', validate: listName }),
    kind: t.field({ type: ListKindEnum, defaultValue: 'MAIN', description: 'MAIN (default), SHAREABLE or PRIVATE.' }),
  }),
});

const CreateListPayload = builder.simpleObject('CreateListPayload', {
  description: 'The list created.',
  fields: (t) => ({ list: t.field({ type: ListObject, description: 'The new list.' }) }),
});

builder.mutationField('createList', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: CreateListPayload,
    description:
      "Creates a list where the workspace's CREATE_<KIND>_LIST permission and the account cap allow the viewer.",
    args: { input: t.arg({ type: CreateListInput, required: true }) },
    errors: { types: [...listErrors], directResult: true, union: { name: 'CreateListResult' } },
    resolve: async (_root, { input }, ctx) => ({
      list: await createList(ctx, {
        workspaceId: input.workspaceId.id,
        name: input.name.trim(),
        kind: input.kind ?? 'MAIN',
      }),
    }),
  }),
);

const UpdateListInput = builder.inputType('UpdateListInput', {
  description: 'A new name for a list.',
  fields: (t) => ({
    listId: t.globalID({ required: true, for: ListObject, description: 'The list.' }),
    name: t.string({ required: true, description: 'Display name.', validate: listName }),
  }),
});

const UpdateListPayload = builder.simpleObject('UpdateListPayload', {
  description: 'The list changed.',
  fields: (t) => ({ list: t.field({ type: ListObject, description: 'The list.' }) }),
});

builder.mutationField('updateList', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: UpdateListPayload,
    description: 'Renames a list (editors and above).',
    args: { input: t.arg({ type: UpdateListInput, required: true }) },
    errors: { types: [...listErrors], directResult: true, union: { name: 'UpdateListResult' } },
    resolve: async (_root, { input }, ctx) => ({
      list: await updateList(ctx, { listId: input.listId.id, name: input.name.trim() }),
    }),
  }),
);

const DeleteListInput = builder.inputType('DeleteListInput', {
  description: 'The list to delete.',
  fields: (t) => ({ listId: t.globalID({ required: true, for: ListObject, description: 'The list.' }) }),
});

const DeleteListPayload = builder.simpleObject('DeleteListPayload', {
  description: 'The list deleted.',
  fields: (t) => ({ listId: t.id({ description: 'Global id of the deleted list.' }) }),
});

builder.mutationField('deleteList', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: DeleteListPayload,
    description: 'Deletes a list with its items and shares (co-owners and above).',
    args: { input: t.arg({ type: DeleteListInput, required: true }) },
    errors: { types: [...listErrors], directResult: true, union: { name: 'DeleteListResult' } },
    resolve: async (_root, { input }, ctx) => {
      await deleteList(ctx, { listId: input.listId.id });
      return { listId: encodeGlobalID('List', input.listId.id) };
    },
  }),
);

const CopyListInput = builder.inputType('CopyListInput', {
  description: 'The list to copy, and the name of the copy.',
  fields: (t) => ({
    listId: t.globalID({ required: true, for: ListObject, description: 'The list.' }),
    name: t.string({ description: 'Name of the copy (default "Copy of <name>").', validate: listName }),
  }),
});

const CopyListPayload = builder.simpleObject('CopyListPayload', {
  description: 'The copy.',
  fields: (t) => ({ list: t.field({ type: ListObject, description: 'The new list.' }) }),
});

builder.mutationField('copyList', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: CopyListPayload,
    description: 'Copies a list with its items (editors and above, never viewers); the viewer is the copy’s creator.',
    args: { input: t.arg({ type: CopyListInput, required: true }) },
    errors: { types: [...listErrors], directResult: true, union: { name: 'CopyListResult' } },
    resolve: async (_root, { input }, ctx) => ({
      list: await copyList(ctx, { listId: input.listId.id, name: input.name?.trim() ?? null }),
    }),
  }),
);

const SetListGeneralAccessInput = builder.inputType('SetListGeneralAccessInput', {
  description: 'Who reaches a list without a share, and as what.',
  fields: (t) => ({
    listId: t.globalID({ required: true, for: ListObject, description: 'The list.' }),
    access: t.field({ type: GeneralAccessEnum, required: true, description: 'The general access.' }),
    role: t.field({
      type: ListRoleEnum,
      defaultValue: 'VIEWER',
      description: 'VIEWER (default) or EDITOR; EDITOR only with WORKSPACE.',
    }),
    linkExpiresAt: t.field({
      type: 'DateTime',
      description:
        'With ANYONE_WITH_LINK: when the link stops opening the list (a future instant; access falls back to RESTRICTED); null: never.',
      validate: futureInstant(),
    }),
  }),
});

const SetListGeneralAccessPayload = builder.simpleObject('SetListGeneralAccessPayload', {
  description: 'The list with its new general access.',
  fields: (t) => ({ list: t.field({ type: ListObject, description: 'The list.' }) }),
});

builder.mutationField('setListGeneralAccess', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: SetListGeneralAccessPayload,
    description: 'Sets general access (co-owners and above; GLOBAL only for account admins).',
    args: { input: t.arg({ type: SetListGeneralAccessInput, required: true }) },
    errors: { types: [...listErrors], directResult: true, union: { name: 'SetListGeneralAccessResult' } },
    resolve: async (_root, { input }, ctx) => ({
      list: await setListGeneralAccess(ctx, {
        listId: input.listId.id,
        access: input.access,
        role: input.role ?? 'VIEWER',
        linkExpiresAt: input.linkExpiresAt ?? null,
      }),
    }),
  }),
);

const RotateListLinkInput = builder.inputType('RotateListLinkInput', {
  description: 'The list whose link to replace.',
  fields: (t) => ({ listId: t.globalID({ required: true, for: ListObject, description: 'The list.' }) }),
});

const RotateListLinkPayload = builder.simpleObject('RotateListLinkPayload', {
  description: 'The list with its new link token.',
  fields: (t) => ({ list: t.field({ type: ListObject, description: 'The list.' }) }),
});

builder.mutationField('rotateListLink', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: RotateListLinkPayload,
    description: 'Replaces the link token; the old link stops working (co-owners and above).',
    args: { input: t.arg({ type: RotateListLinkInput, required: true }) },
    errors: { types: [...listErrors], directResult: true, union: { name: 'RotateListLinkResult' } },
    resolve: async (_root, { input }, ctx) => ({ list: await rotateListLink(ctx, { listId: input.listId.id }) }),
  }),
);
