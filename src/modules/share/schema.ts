import { z } from 'zod';
import { readableAccountsWhere, readableListsWhere } from '../../access/load.ts';
import { builder } from '../../builder.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import { GroupObject, RightObject } from '../group/schema.ts';
import { futureInstant } from '../inputs.ts';
import { ListObject, ListRoleEnum } from '../list/schema.ts';
import { UserType } from '../user/schema.ts';
import { removeShare, shareList, shareTarget, updateShare } from './service.ts';

export const ShareObject = builder.prismaNode('Share', {
  description: 'A role on a list given to exactly one of a user, a group, a right or an external email.',
  id: { field: 'id' },
  // An invisible id resolves to null, like a missing one (not an error).
  nullable: true,
  findUnique: (id, ctx) => ({ id, list: readableListsWhere(ctx.viewer?.id ?? '') }),
  fields: (t) => ({
    role: t.expose('role', { type: ListRoleEnum, description: 'The role it gives.' }),
    user: t.relation('user', { nullable: true, description: 'The person it names, if a user share.' }),
    // Groups and rights are the account's own: a guest reading the list sees that a share names
    // one (its role), but not which.
    group: t.prismaField({
      type: 'Group',
      nullable: true,
      description: 'The group it names (direct members only); null for guests.',
      resolve: (query, share, _args, ctx) =>
        share.groupId
          ? ctx.db.group.findFirst({
              ...query,
              where: { id: share.groupId, account: readableAccountsWhere(ctx.viewer?.id ?? '') },
            })
          : null,
    }),
    right: t.prismaField({
      type: 'Right',
      nullable: true,
      description: 'The right it names (every holder); null for guests.',
      resolve: (query, share, _args, ctx) =>
        share.rightId
          ? ctx.db.right.findFirst({
              ...query,
              where: { id: share.rightId, account: readableAccountsWhere(ctx.viewer?.id ?? '') },
            })
          : null,
    }),
    email: t.exposeString('email', {
      nullable: true,
      description: 'The external address it names, until the invitation is accepted.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was given.' }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it ends (it grants nothing from that instant); null: it does not.',
    }),
    list: t.relation('list', { description: 'The list.' }),
  }),
});

const ShareListInput = builder.inputType('ShareListInput', {
  description: 'A role to give on a list, to exactly one of userId, groupId, rightId or email.',
  fields: (t) => ({
    listId: t.globalID({ required: true, for: ListObject, description: 'The list.' }),
    role: t.field({ type: ListRoleEnum, required: true, description: 'VIEWER, EDITOR or CO_OWNER.' }),
    userId: t.globalID({ for: UserType, description: 'A person.' }),
    groupId: t.globalID({ for: GroupObject, description: 'A group (its direct members).' }),
    rightId: t.globalID({ for: RightObject, description: 'A right (its holders).' }),
    email: t.string({
      description: 'An address; someone outside the account gets a mailed invitation.',
      validate: z.email().max(320),
    }),
    expiresAt: t.field({
      type: 'DateTime',
      description: 'When the share ends (a future instant); null: never. An email share keeps it once accepted.',
      validate: futureInstant(),
    }),
  }),
});

const ShareListPayload = builder.simpleObject('ShareListPayload', {
  description: 'The share given.',
  fields: (t) => ({ share: t.field({ type: ShareObject, description: 'The new share.' }) }),
});

const shareErrors = [ValidationError, ForbiddenError, NotFoundError, ConflictError] as const;

builder.mutationField('shareList', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: ShareListPayload,
    description: 'Shares a list (co-owners and above, within the sharing rules); applies at once.',
    args: { input: t.arg({ type: ShareListInput, required: true }) },
    errors: { types: [...shareErrors], directResult: true, union: { name: 'ShareListResult' } },
    resolve: async (_root, { input }, ctx) => ({
      share: await shareList(ctx, {
        listId: input.listId.id,
        role: input.role,
        expiresAt: input.expiresAt ?? null,
        target: shareTarget({
          userId: input.userId?.id ?? null,
          groupId: input.groupId?.id ?? null,
          rightId: input.rightId?.id ?? null,
          email: input.email ?? null,
        }),
      }),
    }),
  }),
);

const UpdateShareInput = builder.inputType('UpdateShareInput', {
  description: 'A new role for a share.',
  fields: (t) => ({
    shareId: t.globalID({ required: true, for: ShareObject, description: 'The share.' }),
    role: t.field({ type: ListRoleEnum, required: true, description: 'VIEWER, EDITOR or CO_OWNER.' }),
    expiresAt: t.field({
      type: 'DateTime',
      description: 'A new end (a future instant); null: the share no longer ends; omitted: unchanged.',
      validate: futureInstant(),
    }),
  }),
});

const UpdateSharePayload = builder.simpleObject('UpdateSharePayload', {
  description: 'The share changed.',
  fields: (t) => ({ share: t.field({ type: ShareObject, description: 'The share.' }) }),
});

builder.mutationField('updateShare', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: UpdateSharePayload,
    description: "Changes a share's role (co-owners and above; never the creator's).",
    args: { input: t.arg({ type: UpdateShareInput, required: true }) },
    errors: { types: [...shareErrors], directResult: true, union: { name: 'UpdateShareResult' } },
    resolve: async (_root, { input }, ctx) => ({
      share: await updateShare(ctx, {
        shareId: input.shareId.id,
        role: input.role,
        ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
      }),
    }),
  }),
);

const RemoveShareInput = builder.inputType('RemoveShareInput', {
  description: 'The share to remove.',
  fields: (t) => ({ shareId: t.globalID({ required: true, for: ShareObject, description: 'The share.' }) }),
});

const RemoveSharePayload = builder.simpleObject('RemoveSharePayload', {
  description: 'The share removed, and its list.',
  fields: (t) => ({ list: t.field({ type: ListObject, description: 'The list, without the share.' }) }),
});

builder.mutationField('removeShare', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: RemoveSharePayload,
    description: 'Removes a share (co-owners and above); a pending invitation for it is revoked.',
    args: { input: t.arg({ type: RemoveShareInput, required: true }) },
    errors: { types: [...shareErrors], directResult: true, union: { name: 'RemoveShareResult' } },
    resolve: async (_root, { input }, ctx) => {
      const share = await removeShare(ctx, { shareId: input.shareId.id });
      return { list: await ctx.db.list.findUniqueOrThrow({ where: { id: share.listId } }) };
    },
  }),
);
