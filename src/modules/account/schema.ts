import { z } from 'zod';
import { builder } from '../../builder.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import { AccountRole, WorkspaceCreators } from '../../generated/prisma/enums.ts';
import { addAccountMember, createAccount } from './service.ts';

export const AccountRoleEnum = builder.enumType(AccountRole, {
  name: 'AccountRole',
  description: 'ADMIN manages the account; MEMBER works in it; GUEST only reaches what was shared with them.',
});

export const WorkspaceCreatorsEnum = builder.enumType(WorkspaceCreators, {
  name: 'WorkspaceCreators',
  description: 'Who may create workspaces in an account.',
});

export const AccountType = builder.prismaNode('Account', {
  description: 'An organisation: its people, policies and workspaces.',
  id: { field: 'id' },
  // node(id:) answers only for accounts the viewer belongs to (not as a guest); others look absent.
  findUnique: (id, ctx) => ({
    id,
    members: { some: { userId: ctx.viewer?.id ?? '', role: { in: ['ADMIN', 'MEMBER'] } } },
  }),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    workspaceCreators: t.expose('workspaceCreators', {
      type: WorkspaceCreatorsEnum,
      description: 'Who may create workspaces.',
    }),
    externalSharing: t.exposeBoolean('externalSharing', {
      description: 'Whether lists may be shared with people outside the account.',
    }),
    viewerRole: t.field({
      type: AccountRoleEnum,
      nullable: true,
      description: "The viewer's role in the account.",
      resolve: async (account, _args, ctx) => (await ctx.access.account(account.id))?.role ?? null,
    }),
    members: t.relation('members', {
      description: 'Everyone in the account with their role.',
      query: { orderBy: { createdAt: 'asc' } },
    }),
  }),
});

export const AccountMemberType = builder.prismaObject('AccountMember', {
  description: "A person's role in an account.",
  fields: (t) => ({
    role: t.expose('role', { type: AccountRoleEnum, description: 'Their role.' }),
    user: t.relation('user', { description: 'The person.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When they joined.' }),
  }),
});

builder.queryField('account', (t) =>
  t.prismaField({
    type: 'Account',
    nullable: true,
    description: 'An account the viewer is an admin or member of; null otherwise.',
    args: { id: t.arg.globalID({ required: true, for: AccountType, description: 'The account id.' }) },
    resolve: async (query, _root, args, ctx) => {
      const decision = await ctx.access.decideAccount(args.id.id, 'account:read');
      if (!decision?.allowed) return null;
      return ctx.db.account.findUnique({ ...query, where: { id: args.id.id } });
    },
  }),
);

const CreateAccountInput = builder.inputType('CreateAccountInput', {
  description: 'A new account; the viewer becomes its first admin.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Display name.', validate: z.string().trim().min(1).max(200) }),
  }),
});

const CreateAccountPayload = builder.simpleObject('CreateAccountPayload', {
  description: 'The account created.',
  fields: (t) => ({ account: t.field({ type: AccountType, description: 'The new account.' }) }),
});

builder.mutationField('createAccount', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: CreateAccountPayload,
    description: 'Creates an account with the viewer as its admin.',
    args: { input: t.arg({ type: CreateAccountInput, required: true }) },
    errors: { types: [ValidationError], directResult: true, union: { name: 'CreateAccountResult' } },
    resolve: async (_root, { input }, ctx) => ({ account: await createAccount(ctx, { name: input.name.trim() }) }),
  }),
);

const AddAccountMemberInput = builder.inputType('AddAccountMemberInput', {
  description: 'A person to add to an account (provisioned by email if new), or whose role to change.',
  fields: (t) => ({
    accountId: t.globalID({ required: true, for: AccountType, description: 'The account.' }),
    email: t.string({ required: true, description: 'Their email address.', validate: z.email().max(320) }),
    role: t.field({ type: AccountRoleEnum, required: true, description: 'Their role.' }),
  }),
});

const AddAccountMemberPayload = builder.simpleObject('AddAccountMemberPayload', {
  description: 'The membership added or changed.',
  fields: (t) => ({ member: t.field({ type: AccountMemberType, description: 'The membership.' }) }),
});

builder.mutationField('addAccountMember', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: AddAccountMemberPayload,
    description: 'Adds a person to an account, or changes their role (admins only).',
    args: { input: t.arg({ type: AddAccountMemberInput, required: true }) },
    errors: {
      types: [ValidationError, ForbiddenError, NotFoundError],
      directResult: true,
      union: { name: 'AddAccountMemberResult' },
    },
    resolve: async (_root, { input }, ctx) => {
      const key = await addAccountMember(ctx, { accountId: input.accountId.id, email: input.email, role: input.role });
      const member = await ctx.db.accountMember.findUniqueOrThrow({ where: { accountId_userId: key } });
      return { member };
    },
  }),
);
