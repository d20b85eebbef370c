import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import { AccountType } from '../account/schema.ts';
import { name } from '../inputs.ts';
import { UserType } from '../user/schema.ts';
import {
  addGroupMember,
  createGroup,
  createRight,
  deleteGroup,
  deleteRight,
  grantRight,
  removeGroupMember,
  revokeRight,
} from './service.ts';

/** Groups and rights are visible to the account's admins and members (not to guests). */
const inAccount = (viewerId: string) => ({
  account: { members: { some: { userId: viewerId, role: { in: ['ADMIN' as const, 'MEMBER' as const] } } } },
});

export const GroupObject = builder.prismaNode('Group', {
  description: 'A set of people of an account, to share lists with. Only direct members get its shares.',
  id: { field: 'id' },
  // An invisible id resolves to null, like a missing one (not an error).
  nullable: true,
  findUnique: (id, ctx) => ({ id, ...inAccount(ctx.viewer?.id ?? '') }),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name, unique in the account.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    account: t.relation('account', { description: 'The account it belongs to.' }),
    parent: t.relation('parent', { nullable: true, description: 'The group it sits in, if any.' }),
    subgroups: t.relation('subgroups', {
      description: 'Groups inside it; their members do not get this group’s shares.',
      query: { orderBy: { name: 'asc' } },
    }),
    members: t.field({
      type: [UserType],
      description: 'Its direct members.',
      deprecationReason: 'Use membersConnection: the same, a page at a time (first/after).',
      select: { members: { select: { user: true }, orderBy: { createdAt: 'asc' } } },
      resolve: (group) => group.members.map((m) => m.user),
    }),
    membersConnection: t.prismaConnection({
      type: 'User',
      cursor: 'id',
      description: 'Its direct members, a page at a time (in the order of their ids).',
      resolve: (query, group, _args, ctx) =>
        ctx.db.user.findMany({ ...query, where: { groups: { some: { groupId: group.id } } } }),
    }),
  }),
});

export const RightObject = builder.prismaNode('Right', {
  description: 'A capability people of an account hold; sharing a list with a right reaches every holder.',
  id: { field: 'id' },
  // An invisible id resolves to null, like a missing one (not an error).
  nullable: true,
  findUnique: (id, ctx) => ({ id, ...inAccount(ctx.viewer?.id ?? '') }),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name, unique in the account.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    account: t.relation('account', { description: 'The account it belongs to.' }),
    holders: t.field({
      type: [UserType],
      description: 'The people holding it.',
      deprecationReason: 'Use holdersConnection: the same, a page at a time (first/after).',
      select: { holders: { select: { user: true }, orderBy: { createdAt: 'asc' } } },
      resolve: (right) => right.holders.map((h) => h.user),
    }),
    holdersConnection: t.prismaConnection({
      type: 'User',
      cursor: 'id',
      description: 'The people holding it, a page at a time (in the order of their ids).',
      resolve: (query, right, _args, ctx) =>
        ctx.db.user.findMany({ ...query, where: { rights: { some: { rightId: right.id } } } }),
    }),
  }),
});

const CreateGroupInput = builder.inputType('CreateGroupInput', {
  description: 'A new group of an account, optionally a subgroup.',
  fields: (t) => ({
    accountId: t.globalID({ required: true, for: AccountType, description: 'The account.' }),
    name: t.string({ required: true, description: 'Display name.', validate: name(200) }),
    parentId: t.globalID({ for: GroupObject, description: 'The parent group, for a subgroup.' }),
  }),
});

const CreateGroupPayload = builder.simpleObject('CreateGroupPayload', {
  description: 'The group created.',
  fields: (t) => ({ group: t.field({ type: GroupObject, description: 'The new group.' }) }),
});

builder.mutationField('createGroup', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: CreateGroupPayload,
    description: 'Creates a group (account admins only).',
    args: { input: t.arg({ type: CreateGroupInput, required: true }) },
    errors: {
      types: [ValidationError, ForbiddenError, NotFoundError, ConflictError],
      directResult: true,
      union: { name: 'CreateGroupResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      group: await createGroup(ctx, {
        accountId: input.accountId.id,
        name: input.name.trim(),
        parentId: input.parentId?.id ?? null,
      }),
    }),
  }),
);

const AddGroupMemberInput = builder.inputType('AddGroupMemberInput', {
  description: 'A person of the account to add to a group.',
  fields: (t) => ({
    groupId: t.globalID({ required: true, for: GroupObject, description: 'The group.' }),
    userId: t.globalID({ required: true, for: UserType, description: 'The person.' }),
  }),
});

const AddGroupMemberPayload = builder.simpleObject('AddGroupMemberPayload', {
  description: 'The group, with the new member.',
  fields: (t) => ({ group: t.field({ type: GroupObject, description: 'The group.' }) }),
});

builder.mutationField('addGroupMember', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: AddGroupMemberPayload,
    description: 'Adds a person to a group (account admins only).',
    args: { input: t.arg({ type: AddGroupMemberInput, required: true }) },
    errors: {
      types: [ValidationError, ForbiddenError, NotFoundError],
      directResult: true,
      union: { name: 'AddGroupMemberResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      group: await addGroupMember(ctx, { groupId: input.groupId.id, userId: input.userId.id }),
    }),
  }),
);

const CreateRightInput = builder.inputType('CreateRightInput', {
  description: 'A new right of an account.',
  fields: (t) => ({
    accountId: t.globalID({ required: true, for: AccountType, description: 'The account.' }),
    name: t.string({ required: true, description: 'Display name.', validate: name(200) }),
  }),
});

const CreateRightPayload = builder.simpleObject('CreateRightPayload', {
  description: 'The right created.',
  fields: (t) => ({ right: t.field({ type: RightObject, description: 'The new right.' }) }),
});

builder.mutationField('createRight', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: CreateRightPayload,
    description: 'Creates a right (account admins only).',
    args: { input: t.arg({ type: CreateRightInput, required: true }) },
    errors: {
      types: [ValidationError, ForbiddenError, NotFoundError, ConflictError],
      directResult: true,
      union: { name: 'CreateRightResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      right: await createRight(ctx, { accountId: input.accountId.id, name: input.name.trim() }),
    }),
  }),
);

const GrantRightInput = builder.inputType('GrantRightInput', {
  description: 'A right to grant to a person of the account.',
  fields: (t) => ({
    rightId: t.globalID({ required: true, for: RightObject, description: 'The right.' }),
    userId: t.globalID({ required: true, for: UserType, description: 'The person.' }),
  }),
});

const GrantRightPayload = builder.simpleObject('GrantRightPayload', {
  description: 'The right, with the new holder.',
  fields: (t) => ({ right: t.field({ type: RightObject, description: 'The right.' }) }),
});

builder.mutationField('grantRight', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: GrantRightPayload,
    description: 'Grants a right to a person (account admins only).',
    args: { input: t.arg({ type: GrantRightInput, required: true }) },
    errors: {
      types: [ValidationError, ForbiddenError, NotFoundError],
      directResult: true,
      union: { name: 'GrantRightResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      right: await grantRight(ctx, { rightId: input.rightId.id, userId: input.userId.id }),
    }),
  }),
);

const RemoveGroupMemberInput = builder.inputType('RemoveGroupMemberInput', {
  description: 'A person to take out of a group.',
  fields: (t) => ({
    groupId: t.globalID({ required: true, for: GroupObject, description: 'The group.' }),
    userId: t.globalID({ required: true, for: UserType, description: 'The person (of the account).' }),
  }),
});

const RemoveGroupMemberPayload = builder.simpleObject('RemoveGroupMemberPayload', {
  description: 'The group, without the person.',
  fields: (t) => ({ group: t.field({ type: GroupObject, description: 'The group.' }) }),
});

builder.mutationField('removeGroupMember', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: RemoveGroupMemberPayload,
    description:
      "Takes a person out of a group (account admins only): the group's shares stop reaching them, and their open streams on those lists end at once. Removing someone who is not in the group changes nothing.",
    args: { input: t.arg({ type: RemoveGroupMemberInput, required: true }) },
    errors: {
      types: [ValidationError, ForbiddenError, NotFoundError],
      directResult: true,
      union: { name: 'RemoveGroupMemberResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      group: await removeGroupMember(ctx, { groupId: input.groupId.id, userId: input.userId.id }),
    }),
  }),
);

const DeleteGroupInput = builder.inputType('DeleteGroupInput', {
  description: 'The group to delete.',
  fields: (t) => ({ groupId: t.globalID({ required: true, for: GroupObject, description: 'The group.' }) }),
});

const DeleteGroupPayload = builder.simpleObject('DeleteGroupPayload', {
  description: 'The group deleted.',
  fields: (t) => ({ groupId: t.id({ description: 'Global id of the deleted group.' }) }),
});

builder.mutationField('deleteGroup', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: DeleteGroupPayload,
    description:
      'Deletes a group with its memberships and every share it carries (account admins only); its subgroups stay, at the top level.',
    args: { input: t.arg({ type: DeleteGroupInput, required: true }) },
    errors: {
      types: [ValidationError, ForbiddenError, NotFoundError],
      directResult: true,
      union: { name: 'DeleteGroupResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      groupId: encodeGlobalID('Group', await deleteGroup(ctx, { groupId: input.groupId.id })),
    }),
  }),
);

const RevokeRightInput = builder.inputType('RevokeRightInput', {
  description: 'A right to take back from a person.',
  fields: (t) => ({
    rightId: t.globalID({ required: true, for: RightObject, description: 'The right.' }),
    userId: t.globalID({ required: true, for: UserType, description: 'The person (of the account).' }),
  }),
});

const RevokeRightPayload = builder.simpleObject('RevokeRightPayload', {
  description: 'The right, without the holder.',
  fields: (t) => ({ right: t.field({ type: RightObject, description: 'The right.' }) }),
});

builder.mutationField('revokeRight', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: RevokeRightPayload,
    description:
      "Takes a right back from a person (account admins only): the right's shares stop reaching them, and their open streams on those lists end at once. Revoking from someone who does not hold it changes nothing.",
    args: { input: t.arg({ type: RevokeRightInput, required: true }) },
    errors: {
      types: [ValidationError, ForbiddenError, NotFoundError],
      directResult: true,
      union: { name: 'RevokeRightResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      right: await revokeRight(ctx, { rightId: input.rightId.id, userId: input.userId.id }),
    }),
  }),
);

const DeleteRightInput = builder.inputType('DeleteRightInput', {
  description: 'The right to delete.',
  fields: (t) => ({ rightId: t.globalID({ required: true, for: RightObject, description: 'The right.' }) }),
});

const DeleteRightPayload = builder.simpleObject('DeleteRightPayload', {
  description: 'The right deleted.',
  fields: (t) => ({ rightId: t.id({ description: 'Global id of the deleted right.' }) }),
});

builder.mutationField('deleteRight', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: DeleteRightPayload,
    description: 'Deletes a right with its grants and every share made to it (account admins only).',
    args: { input: t.arg({ type: DeleteRightInput, required: true }) },
    errors: {
      types: [ValidationError, ForbiddenError, NotFoundError],
      directResult: true,
      union: { name: 'DeleteRightResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      rightId: encodeGlobalID('Right', await deleteRight(ctx, { rightId: input.rightId.id })),
    }),
  }),
);
