import { z } from 'zod';
import { readableAccountsWhere } from '../../access/load.ts';
import { ACCOUNT_ROLES, capFor, WORKSPACE_ACTIONS } from '../../access/rules.ts';
import { builder } from '../../builder.ts';
import { ForbiddenError, LastOwnerError, NotFoundError, ValidationError } from '../../errors.ts';
import { AccountRole, WorkspaceAction, WorkspaceCreators } from '../../generated/prisma/enums.ts';
import { name } from '../inputs.ts';
import { addAccountMember, createAccount, setAccountPolicy } from './service.ts';

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
  nullable: true,
  // node(id:) answers only for accounts the viewer belongs to (not as a guest); others look absent.
  findUnique: (id, ctx) => ({ id, AND: [readableAccountsWhere(ctx.viewer?.id ?? '')] }),
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
    // A guest reaches the account (by name) through a list shared with them, but not its people.
    members: t.relation('members', {
      description: 'Everyone in the account with their role.',
      deprecationReason: 'Use membersConnection: the same, a page at a time (first/after).',
      query: (_args, ctx) => ({
        where: { account: readableAccountsWhere(ctx.viewer?.id ?? '') },
        orderBy: { createdAt: 'asc' },
      }),
    }),
    // Its own query (not a relation of the loaded account): a guest reaches the account by name
    // only, and gets an empty page, as `members` gives an empty list.
    membersConnection: t.prismaConnection({
      type: 'AccountMember',
      cursor: 'accountId_userId',
      description: 'Everyone in the account with their role, a page at a time (in the order of their user ids).',
      resolve: (query, account, _args, ctx) =>
        ctx.db.accountMember.findMany({
          ...query,
          where: { accountId: account.id, account: readableAccountsWhere(ctx.viewer?.id ?? '') },
        }),
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
    name: t.string({ required: true, description: 'Display name.', validate: name(200) }),
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
      types: [ValidationError, ForbiddenError, NotFoundError, LastOwnerError],
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

export const WorkspaceActionEnum = builder.enumType(WorkspaceAction, {
  name: 'WorkspaceAction',
  description: 'What a workspace permission allows: creating lists, dashboards, automations, docs; inviting; talking.',
});

const AccountCap = builder.simpleObject('AccountCap', {
  description: 'Which account roles may ever do a workspace action, whatever a workspace allows.',
  fields: (t) => ({
    action: t.field({ type: WorkspaceActionEnum, description: 'The action.' }),
    roles: t.field({ type: [AccountRoleEnum], description: 'The account roles allowed.' }),
  }),
});

builder.prismaObjectFields('Account', (t) => ({
  caps: t.field({
    type: [AccountCap],
    description: 'The cap of every workspace action (defaults included).',
    resolve: async (account, _args, ctx) => {
      const facts = await ctx.access.account(account.id);
      if (!facts) return [];
      return WORKSPACE_ACTIONS.map((action) => ({
        action,
        roles: ACCOUNT_ROLES.filter((role) => capFor(facts.policy, action, role)),
      }));
    },
  }),
}));

const AccountCapInput = builder.inputType('AccountCapInput', {
  description: 'Exactly which account roles may ever do this workspace action.',
  fields: (t) => ({
    action: t.field({ type: WorkspaceActionEnum, required: true, description: 'The action.' }),
    roles: t.field({ type: [AccountRoleEnum], required: true, description: 'The roles allowed; others never.' }),
  }),
});

const SetAccountPolicyInput = builder.inputType('SetAccountPolicyInput', {
  description: 'The account policy; omitted parts stay as they are.',
  fields: (t) => ({
    accountId: t.globalID({ required: true, for: AccountType, description: 'The account.' }),
    workspaceCreators: t.field({ type: WorkspaceCreatorsEnum, description: 'Who may create workspaces.' }),
    externalSharing: t.boolean({ description: 'Whether lists may be shared outside the account.' }),
    caps: t.field({ type: [AccountCapInput], description: 'Caps to set, one per action.' }),
  }),
});

const SetAccountPolicyPayload = builder.simpleObject('SetAccountPolicyPayload', {
  description: 'The account with its new policy.',
  fields: (t) => ({ account: t.field({ type: AccountType, description: 'The account.' }) }),
});

builder.mutationField('setAccountPolicy', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: SetAccountPolicyPayload,
    description: 'Sets who may create workspaces, the cap of each workspace action and external sharing (admins only).',
    args: { input: t.arg({ type: SetAccountPolicyInput, required: true }) },
    errors: {
      types: [ValidationError, ForbiddenError, NotFoundError],
      directResult: true,
      union: { name: 'SetAccountPolicyResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      account: await setAccountPolicy(ctx, { ...input, accountId: input.accountId.id }),
    }),
  }),
);
