import { encodeGlobalID } from '@pothos/plugin-relay';
import { z } from 'zod';
import { readableAccountsWhere } from '../../access/load.ts';
import { ACCOUNT_ROLES, capFor, WORKSPACE_ACTIONS } from '../../access/rules.ts';
import { builder } from '../../builder.ts';
import { ForbiddenError, LastOwnerError, NotFoundError, ValidationError } from '../../errors.ts';
import { AccountRole, MemberInviters, WorkspaceAction, WorkspaceCreators } from '../../generated/prisma/enums.ts';
import { AnonymizationStepObject } from '../anonymize/schema.ts';
import { name } from '../inputs.ts';
import { UserType } from '../user/schema.ts';
import {
  addAccountMember,
  createAccount,
  removeAccountMember,
  setAccountMemberRole,
  setAccountPolicy,
} from './service.ts';

export const AccountRoleEnum = builder.enumType(AccountRole, {
  name: 'AccountRole',
  description: 'ADMIN manages the account; MEMBER works in it; GUEST only reaches what was shared with them.',
});

export const WorkspaceCreatorsEnum = builder.enumType(WorkspaceCreators, {
  name: 'WorkspaceCreators',
  description: 'Who may create workspaces in an account.',
});

export const MemberInvitersEnum = builder.enumType(MemberInviters, {
  name: 'MemberInviters',
  description:
    'Who may bring a person from outside the account in as MEMBER: ADMINS_ONLY (the default; members may still for an address of a member domain) or ALL_MEMBERS.',
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
    memberInviters: t.expose('memberInviters', {
      type: MemberInvitersEnum,
      description: 'Who may bring a person from outside the account in as MEMBER.',
    }),
    memberDomains: t.exposeStringList('memberDomains', {
      description: 'Email domains whose people any member may bring in as MEMBER (lower case).',
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
    id: t.id({
      description: 'Global id of the membership (the account and the person).',
      resolve: (m) => encodeGlobalID('AccountMember', `${m.accountId}:${m.userId}`),
    }),
    account: t.relation('account', { description: 'The account.' }),
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
    memberInviters: t.field({
      type: MemberInvitersEnum,
      description: 'Who may bring a person from outside the account in as MEMBER.',
    }),
    memberDomains: t.stringList({
      description: 'Email domains (e.g. `acme.com`) whose people any member may bring in as MEMBER; replaces the list.',
      validate: z
        .array(
          z
            .string()
            .trim()
            .toLowerCase()
            .regex(
              /^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/,
              'Must be a domain name such as acme.com',
            ),
        )
        .max(100),
    }),
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
    description:
      'Sets who may create workspaces, the cap of each workspace action, external sharing and who may bring in new members (admins only).',
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

const SetAccountMemberRoleInput = builder.inputType('SetAccountMemberRoleInput', {
  description: 'A new account role for someone in the account; the last admin stays.',
  fields: (t) => ({
    accountId: t.globalID({ required: true, for: AccountType, description: 'The account.' }),
    userId: t.globalID({ required: true, for: UserType, description: 'The person.' }),
    role: t.field({ type: AccountRoleEnum, required: true, description: 'ADMIN, MEMBER or GUEST.' }),
  }),
});

const SetAccountMemberRolePayload = builder.simpleObject('SetAccountMemberRolePayload', {
  description: 'The membership with its new role.',
  fields: (t) => ({ member: t.field({ type: AccountMemberType, description: 'The membership.' }) }),
});

builder.mutationField('setAccountMemberRole', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: SetAccountMemberRolePayload,
    description:
      "Changes someone's account role (admins only); the last admin stays. Their open streams re-decide at once.",
    args: { input: t.arg({ type: SetAccountMemberRoleInput, required: true }) },
    errors: {
      types: [ValidationError, ForbiddenError, NotFoundError, LastOwnerError],
      directResult: true,
      union: { name: 'SetAccountMemberRoleResult' },
    },
    resolve: async (_root, { input }, ctx) => {
      const key = await setAccountMemberRole(ctx, {
        accountId: input.accountId.id,
        userId: input.userId.id,
        role: input.role,
      });
      return { member: await ctx.db.accountMember.findUniqueOrThrow({ where: { accountId_userId: key } }) };
    },
  }),
);

const RemoveAccountMemberInput = builder.inputType('RemoveAccountMemberInput', {
  description: 'Whom to take out of an account; `dryRun: true` returns the plan and changes nothing.',
  fields: (t) => ({
    accountId: t.globalID({ required: true, for: AccountType, description: 'The account.' }),
    userId: t.globalID({ required: true, for: UserType, description: 'The person.' }),
    transferTo: t.globalID({
      for: UserType,
      description: 'Who receives the lists they created and the workspaces they alone own (default: the viewer).',
    }),
    dryRun: t.boolean({ defaultValue: false, description: 'Only return the plan.' }),
  }),
});

const RemoveAccountMemberPayload = builder.simpleObject('RemoveAccountMemberPayload', {
  description: 'What removal did, or would do in a dry run; empty once the person is out.',
  fields: (t) => ({
    userId: t.id({ description: 'Global id of the person.' }),
    accountId: t.id({ description: 'Global id of the account.' }),
    dryRun: t.boolean({ description: 'Whether nothing was changed.' }),
    steps: t.field({ type: [AnonymizationStepObject], description: 'Every change, in the order made.' }),
  }),
});

builder.mutationField('removeAccountMember', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: RemoveAccountMemberPayload,
    description:
      'Takes a person out of an account (admins only): their memberships, shares, groups and rights there end; what they created or alone own passes to `transferTo`; their open streams end. The last admin stays. Idempotent; every step audited.',
    args: { input: t.arg({ type: RemoveAccountMemberInput, required: true }) },
    errors: {
      types: [ValidationError, ForbiddenError, NotFoundError, LastOwnerError],
      directResult: true,
      union: { name: 'RemoveAccountMemberResult' },
    },
    resolve: async (_root, { input }, ctx) => {
      const dryRun = input.dryRun ?? false;
      const result = await removeAccountMember(ctx, {
        accountId: input.accountId.id,
        userId: input.userId.id,
        transferTo: input.transferTo?.id ?? null,
        dryRun,
      });
      return {
        userId: encodeGlobalID('User', result.userId),
        accountId: encodeGlobalID('Account', input.accountId.id),
        dryRun,
        steps: result.steps,
      };
    },
  }),
);
