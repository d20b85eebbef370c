import { encodeGlobalID } from '@pothos/plugin-relay';
import { Access, visibleJoinRequestsWhere, visibleWorkspacesWhere } from '../../access/load.ts';
import {
  capFor,
  couldSeeDeletedWorkspace,
  decideWorkspace,
  ruleFor,
  WORKSPACE_ACTIONS,
  WORKSPACE_AUDIENCES,
} from '../../access/rules.ts';
import { builder } from '../../builder.ts';
import type { Context } from '../../context.ts';
import {
  CappedByAccountPolicy,
  ConflictError,
  ForbiddenError,
  LastOwnerError,
  NotFoundError,
  ValidationError,
} from '../../errors.ts';
import { JoinRequestStatus, WorkspaceAudience, WorkspaceRole, WorkspaceType } from '../../generated/prisma/enums.ts';
import type { WorkspaceEventPayload } from '../../realtime/pubsub.ts';
import { live, SUBSCRIBED, stream } from '../../realtime/stream.ts';
import { AccountType, WorkspaceActionEnum } from '../account/schema.ts';
import { name, text } from '../inputs.ts';
import { UserType } from '../user/schema.ts';
import {
  createWorkspace,
  decideJoinRequest,
  deleteWorkspace,
  joinWorkspace,
  leaveWorkspace,
  removeWorkspaceMember,
  requestToJoinWorkspace,
  setWorkspaceMemberRole,
  setWorkspacePermission,
  updateWorkspace,
} from './service.ts';

export const WorkspaceTypeEnum = builder.enumType(WorkspaceType, {
  name: 'WorkspaceType',
  description:
    'OPEN: the whole account sees it and may join. CLOSED: listed to the account with a lock (name, owners, member count), content for members; join by invitation or request. PRIVATE: invisible but to its members; join by invitation.',
});

export const WorkspaceRoleEnum = builder.enumType(WorkspaceRole, {
  name: 'WorkspaceRole',
  description: 'A member is an OWNER or a MEMBER.',
});

export const WorkspaceViewerRoleEnum = builder.enumType(WorkspaceAudience, {
  name: 'WorkspaceViewerRole',
  description: 'How a person stands in a workspace: OWNER, MEMBER, or NON_MEMBER (reaches it without membership).',
});

export const WorkspaceObject = builder.prismaNode('Workspace', {
  description: 'A team space holding lists; OPEN, CLOSED or PRIVATE.',
  id: { field: 'id' },
  nullable: true,
  // node(id:) answers only for workspaces the viewer may know of; others look absent.
  findUnique: (id, ctx) => ({ id, AND: [visibleWorkspacesWhere(ctx.viewer?.id ?? '')] }),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name.' }),
    type: t.expose('type', { type: WorkspaceTypeEnum, description: 'OPEN, CLOSED or PRIVATE.' }),
    locked: t.boolean({
      description:
        'Whether its content is hidden from the viewer: true until they join a closed or private workspace (account admins included), or when they only reach single lists of it; false for members and for the account in an open one.',
      resolve: async (ws, _args, ctx) => !(await ctx.access.decideWorkspace(ws.id, 'workspace:read'))?.allowed,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    account: t.relation('account', { description: 'The account it belongs to.' }),
    viewerRole: t.field({
      type: WorkspaceViewerRoleEnum,
      nullable: true,
      description: "The viewer's role: OWNER, MEMBER or NON_MEMBER.",
      resolve: (ws, _args, ctx) => ctx.access.workspaceRole(ws.id),
    }),
    members: t.relatedConnection('members', {
      nullable: true,
      description:
        'Owners and members: for those who read it, and for account admins; null behind the lock and for those who only reach single lists of it.',
      cursor: 'workspaceId_userId',
      query: { orderBy: [{ createdAt: 'asc' }, { userId: 'asc' }] },
      authScopes: (ws) => ({ workspace: { id: ws.id, question: 'workspace:people' } }),
      unauthorizedResolver: () => null,
    }),
    memberCount: t.int({
      nullable: true,
      resolve: (ws, _args, ctx) => ctx.db.workspaceMember.count({ where: { workspaceId: ws.id } }),
      description:
        'How many owners and members it has (shown with the lock too); null for those who only reach single lists of it.',
      authScopes: (ws) => ({ workspace: { id: ws.id, question: 'workspace:overview' } }),
      unauthorizedResolver: () => null,
    }),
    owners: t.prismaField({
      type: ['User'],
      nullable: true,
      description: 'Its owners (shown with the lock too); null for those who only reach single lists of it.',
      authScopes: (ws) => ({ workspace: { id: ws.id, question: 'workspace:overview' } }),
      unauthorizedResolver: () => null,
      resolve: (query, ws, _args, ctx) =>
        ctx.db.user.findMany({
          ...query,
          where: { workspaces: { some: { workspaceId: ws.id, role: 'OWNER' } } },
          orderBy: { id: 'asc' },
        }),
    }),
  }),
});

export const WorkspaceMemberObject = builder.prismaObject('WorkspaceMember', {
  description: "A person's membership of a workspace.",
  fields: (t) => ({
    role: t.expose('role', { type: WorkspaceRoleEnum, description: 'OWNER or MEMBER.' }),
    user: t.relation('user', { description: 'The member.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When they joined.' }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the membership ends (from `inviteToWorkspace(expiresAt)`); null: never.',
    }),
  }),
});

builder.queryField('workspace', (t) =>
  t.prismaField({
    type: 'Workspace',
    nullable: true,
    description: 'A workspace the viewer may know of; null otherwise (the same as one that does not exist).',
    args: { id: t.arg.globalID({ required: true, for: WorkspaceObject, description: 'The workspace id.' }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db.workspace.findFirst({
        ...query,
        where: { id: args.id.id, ...visibleWorkspacesWhere(ctx.viewer?.id ?? '') },
      }),
  }),
);

builder.queryField('workspaces', (t) =>
  t.prismaConnection({
    type: 'Workspace',
    cursor: 'id',
    description: "The account's workspaces the viewer may know of, oldest first.",
    args: { accountId: t.arg.globalID({ required: true, for: AccountType, description: 'The account.' }) },
    resolve: (query, _root, args, ctx) =>
      ctx.viewer
        ? ctx.db.workspace.findMany({
            ...query,
            where: { accountId: args.accountId.id, ...visibleWorkspacesWhere(ctx.viewer.id) },
            orderBy: { id: 'asc' },
          })
        : [],
  }),
);

const CreateWorkspaceInput = builder.inputType('CreateWorkspaceInput', {
  description: 'A new workspace; the viewer becomes its owner.',
  fields: (t) => ({
    accountId: t.globalID({ required: true, for: AccountType, description: 'The account.' }),
    name: t.string({ required: true, description: 'Display name.', validate: name(200) }),
    type: t.field({
      type: WorkspaceTypeEnum,
      defaultValue: 'OPEN',
      description: 'OPEN (default), CLOSED or PRIVATE.',
    }),
  }),
});

const CreateWorkspacePayload = builder.simpleObject('CreateWorkspacePayload', {
  description: 'The workspace created.',
  fields: (t) => ({ workspace: t.field({ type: WorkspaceObject, description: 'The new workspace.' }) }),
});

builder.mutationField('createWorkspace', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: CreateWorkspacePayload,
    description: "Creates a workspace, where the account's `workspaceCreators` policy allows the viewer.",
    args: { input: t.arg({ type: CreateWorkspaceInput, required: true }) },
    errors: {
      types: [ValidationError, ForbiddenError, NotFoundError],
      directResult: true,
      union: { name: 'CreateWorkspaceResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      workspace: await createWorkspace(ctx, {
        accountId: input.accountId.id,
        name: input.name.trim(),
        type: input.type ?? 'OPEN',
      }),
    }),
  }),
);

const WorkspaceEventKind = builder.enumType('WorkspaceEventKind', {
  description: 'SUBSCRIBED comes first, once the stream is live; then what happened.',
  values: ['SUBSCRIBED', 'CREATED', 'UPDATED', 'DELETED'] as const,
});

type WorkspaceEventShape = { kind: 'SUBSCRIBED' } | WorkspaceEventPayload;

const WorkspaceEvent = builder.objectRef<WorkspaceEventShape>('WorkspaceEvent').implement({
  description: 'Something happened to a workspace of the account.',
  fields: (t) => ({
    kind: t.field({ type: WorkspaceEventKind, description: 'What happened.', resolve: (e) => e.kind }),
    workspaceId: t.globalID({
      nullable: true,
      description: 'Global id of the workspace (null on SUBSCRIBED).',
      resolve: (e) => ('workspaceId' in e ? { type: 'Workspace', id: e.workspaceId } : null),
    }),
    workspace: t.prismaField({
      type: 'Workspace',
      nullable: true,
      description: 'The workspace as it is now (null on SUBSCRIBED and DELETED).',
      resolve: (query, e, _args, ctx) =>
        'workspaceId' in e && e.kind !== 'DELETED'
          ? ctx.db.workspace.findUnique({ ...query, where: { id: e.workspaceId } })
          : null,
    }),
  }),
});

builder.subscriptionField('workspaceEvents', (t) =>
  t.field({
    type: WorkspaceEvent,
    description: 'Workspaces of an account created, changed or deleted, as far as the viewer may see them.',
    args: { accountId: t.arg.globalID({ required: true, for: AccountType, description: 'The account.' }) },
    authScopes: (_root, args) => ({ accountMember: args.accountId.id }),
    subscribe: (_root, args, ctx) =>
      stream<WorkspaceEventShape>(async (push, stopped) => {
        const feed = live(ctx.realtime, ctx.realtime.pubsub.subscribe('account:workspaces', args.accountId.id));
        void stopped.then(() => feed.return());
        for await (const event of feed) {
          if (event === SUBSCRIBED) {
            await push({ kind: 'SUBSCRIBED' });
            continue;
          }
          if (event.kind === 'DELETED') {
            if (await sawDeleted(ctx, args.accountId.id, event)) await push(event);
            continue;
          }
          // Fresh facts per event: memberships may have changed since the stream opened.
          const decision = await new Access(ctx.db, ctx.viewer).decideWorkspace(event.workspaceId, 'workspace:see');
          if (decision?.allowed) await push(event);
        }
      }),
    resolve: (event) => event,
  }),
);

const WorkspacePermissionEntry = builder.simpleObject('WorkspacePermission', {
  description: 'One cell of the permission table: the setting for an audience and action, and what applies.',
  fields: (t) => ({
    role: t.field({ type: WorkspaceViewerRoleEnum, description: 'The audience: OWNER, MEMBER or NON_MEMBER.' }),
    action: t.field({ type: WorkspaceActionEnum, description: 'The action.' }),
    setting: t.boolean({ description: "The workspace owner's setting (or the default)." }),
    effective: t.boolean({
      description: 'Whether account members of this audience may do it: the setting AND the account cap.',
    }),
    cappedByAccount: t.boolean({ description: 'The account policy forbids it for account members.' }),
  }),
});

builder.prismaObjectFields('Workspace', (t) => ({
  permissions: t.field({
    type: [WorkspacePermissionEntry],
    nullable: true,
    description: 'The permission table, per audience and action; null for those who only reach single lists.',
    authScopes: (ws) => ({ workspace: { id: ws.id, question: 'workspace:read' } }),
    unauthorizedResolver: () => null,
    resolve: async (ws, _args, ctx) => {
      const facts = await ctx.access.workspace(ws.id);
      if (!facts) return null;
      return WORKSPACE_AUDIENCES.flatMap((role) =>
        WORKSPACE_ACTIONS.map((action) => {
          const setting = ruleFor(facts.rules, role, action);
          const cap = capFor(facts.account.policy, action, 'MEMBER');
          return { role, action, setting, effective: setting && cap, cappedByAccount: !cap };
        }),
      );
    },
  }),
  viewerCan: t.field({
    type: [WorkspaceActionEnum],
    description: 'The workspace actions the viewer may do now: which buttons to show.',
    resolve: async (ws, _args, ctx) => {
      const facts = await ctx.access.workspace(ws.id);
      return facts ? WORKSPACE_ACTIONS.filter((action) => decideWorkspace(facts, action).allowed) : [];
    },
  }),
  viewerCanManage: t.boolean({
    description: 'Whether the viewer may rename, retype, delete it and manage its members and permissions.',
    resolve: async (ws, _args, ctx) => (await ctx.access.decideWorkspace(ws.id, 'workspace:manage'))?.allowed ?? false,
  }),
  joinRequests: t.relation('joinRequests', {
    nullable: true,
    description: 'Pending requests to join; owners and account admins only.',
    deprecationReason: 'Use joinRequestsConnection: the same, a page at a time (first/after).',
    query: { where: { status: 'PENDING' }, orderBy: { createdAt: 'asc' } },
    authScopes: (ws) => ({ workspace: { id: ws.id, question: 'workspace:manage' } }),
    unauthorizedResolver: () => null,
  }),
  joinRequestsConnection: t.relatedConnection('joinRequests', {
    nullable: true,
    description: 'Pending requests to join, oldest first, a page at a time; owners and account admins only.',
    cursor: 'id',
    query: { where: { status: 'PENDING' }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
    authScopes: (ws) => ({ workspace: { id: ws.id, question: 'workspace:manage' } }),
    unauthorizedResolver: () => null,
  }),
  invitations: t.relation('invitations', {
    nullable: true,
    description: 'Pending invitations; owners and account admins only.',
    deprecationReason: 'Use invitationsConnection: the same, a page at a time (first/after).',
    query: { where: { status: 'PENDING' }, orderBy: { createdAt: 'asc' } },
    authScopes: (ws) => ({ workspace: { id: ws.id, question: 'workspace:manage' } }),
    unauthorizedResolver: () => null,
  }),
  invitationsConnection: t.relatedConnection('invitations', {
    nullable: true,
    description: 'Pending invitations, oldest first, a page at a time; owners and account admins only.',
    cursor: 'id',
    query: { where: { status: 'PENDING' }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
    authScopes: (ws) => ({ workspace: { id: ws.id, question: 'workspace:manage' } }),
    unauthorizedResolver: () => null,
  }),
}));

const JoinRequestStatusEnum = builder.enumType(JoinRequestStatus, {
  name: 'JoinRequestStatus',
  description: 'PENDING until an owner approves or declines.',
});

export const JoinRequestObject = builder.prismaNode('JoinRequest', {
  description: 'A request to join a closed workspace.',
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, AND: [visibleJoinRequestsWhere(ctx.viewer?.id ?? '')] }),
  fields: (t) => ({
    status: t.expose('status', { type: JoinRequestStatusEnum, description: 'Where it stands.' }),
    message: t.exposeString('message', { nullable: true, description: 'What the requester wrote.' }),
    user: t.relation('user', { description: 'Who asks.' }),
    workspace: t.relation('workspace', { description: 'Where to.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When they asked.' }),
  }),
});

/**
 * People who reach a list of the workspace by a share (to them, a group they are in or a right
 * they hold) without being its members.
 */
function subscribersWhere(workspaceId: string) {
  const shareHere = { shares: { some: { list: { workspaceId } } } };
  return {
    workspaces: { none: { workspaceId } },
    OR: [
      { shares: { some: { list: { workspaceId } } } },
      { groups: { some: { group: shareHere } } },
      { rights: { some: { right: shareHere } } },
    ],
  };
}

builder.prismaObjectFields('Workspace', (t) => ({
  subscribers: t.prismaConnection({
    type: 'User',
    cursor: 'id',
    nullable: true,
    description:
      'People who reach one of its lists by a share without being members (Micro and monday call them subscribers); for its owners and account admins, null for others.',
    authScopes: (ws) => ({ workspace: { id: ws.id, question: 'workspace:subscribers' } }),
    unauthorizedResolver: () => null,
    resolve: (query, ws, _args, ctx) =>
      ctx.db.user.findMany({ ...query, where: subscribersWhere(ws.id), orderBy: { id: 'asc' } }),
  }),
  subscriberCount: t.int({
    nullable: true,
    description: 'How many subscribers it has; for its owners and account admins, null for others.',
    authScopes: (ws) => ({ workspace: { id: ws.id, question: 'workspace:subscribers' } }),
    unauthorizedResolver: () => null,
    resolve: (ws, _args, ctx) => ctx.db.user.count({ where: subscribersWhere(ws.id) }),
  }),
}));

builder.queryField('contentDirectory', (t) =>
  t.prismaField({
    type: ['Workspace'],
    nullable: true,
    description:
      'For account admins: every workspace of the account (closed and private ones included) with its name, type, creation date, members, subscribers and their counts. Null for others. It gives no content: a workspace the admin has not joined stays locked to them (`locked: true`, content fields null) until they `joinWorkspace` it (audited, visible to its owners).',
    args: { accountId: t.arg.globalID({ required: true, for: AccountType, description: 'The account.' }) },
    authScopes: (_root, args) => ({ accountAdmin: args.accountId.id }),
    unauthorizedResolver: () => null,
    deprecationReason: 'Use contentDirectoryConnection: the same, a page at a time (first/after).',
    resolve: (query, _root, args, ctx) =>
      ctx.db.workspace.findMany({ ...query, where: { accountId: args.accountId.id }, orderBy: { createdAt: 'asc' } }),
  }),
);

builder.queryField('contentDirectoryConnection', (t) =>
  t.prismaConnection({
    type: 'Workspace',
    cursor: 'id',
    nullable: true,
    description:
      "For account admins: every workspace's name, members and creation date, closed ones included, oldest first, a page at a time. Null for others.",
    args: { accountId: t.arg.globalID({ required: true, for: AccountType, description: 'The account.' }) },
    authScopes: (_root, args) => ({ accountAdmin: args.accountId.id }),
    unauthorizedResolver: () => null,
    resolve: (query, _root, args, ctx) =>
      ctx.db.workspace.findMany({ ...query, where: { accountId: args.accountId.id } }),
  }),
);

const workspaceErrors = [ValidationError, ForbiddenError, NotFoundError] as const;

const WorkspaceIdInput = (name: string, description: string) =>
  builder.inputType(name, {
    description,
    fields: (t) => ({
      workspaceId: t.globalID({ required: true, for: WorkspaceObject, description: 'The workspace.' }),
    }),
  });

const UpdateWorkspaceInput = builder.inputType('UpdateWorkspaceInput', {
  description: 'A new name and/or type; omitted parts stay.',
  fields: (t) => ({
    workspaceId: t.globalID({ required: true, for: WorkspaceObject, description: 'The workspace.' }),
    name: t.string({ description: 'New name.', validate: name(200) }),
    type: t.field({ type: WorkspaceTypeEnum, description: 'OPEN, CLOSED or PRIVATE.' }),
  }),
});

const WorkspacePayload = (name: string) =>
  builder.simpleObject(name, {
    description: 'The workspace after the change.',
    fields: (t) => ({ workspace: t.field({ type: WorkspaceObject, description: 'The workspace.' }) }),
  });

builder.mutationField('updateWorkspace', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: WorkspacePayload('UpdateWorkspacePayload'),
    description: 'Renames a workspace or changes its type (owners and account admins).',
    args: { input: t.arg({ type: UpdateWorkspaceInput, required: true }) },
    errors: { types: [...workspaceErrors], directResult: true, union: { name: 'UpdateWorkspaceResult' } },
    resolve: async (_root, { input }, ctx) => ({
      workspace: await updateWorkspace(ctx, {
        workspaceId: input.workspaceId.id,
        name: input.name?.trim(),
        type: input.type,
      }),
    }),
  }),
);

const DeleteWorkspacePayload = builder.simpleObject('DeleteWorkspacePayload', {
  description: 'The workspace is gone, with its lists.',
  fields: (t) => ({ deletedWorkspaceId: t.id({ description: 'Global id of the deleted workspace.' }) }),
});

builder.mutationField('deleteWorkspace', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: DeleteWorkspacePayload,
    description: 'Deletes a workspace and everything in it (owners and account admins).',
    args: {
      input: t.arg({ type: WorkspaceIdInput('DeleteWorkspaceInput', 'The workspace to delete.'), required: true }),
    },
    errors: { types: [...workspaceErrors], directResult: true, union: { name: 'DeleteWorkspaceResult' } },
    resolve: async (_root, { input }, ctx) => {
      const id = await deleteWorkspace(ctx, { workspaceId: input.workspaceId.id });
      return { deletedWorkspaceId: encodeGlobalID('Workspace', id) };
    },
  }),
);

const SetWorkspacePermissionInput = builder.inputType('SetWorkspacePermissionInput', {
  description: 'One rule: may this audience do this action? A workspace can only be stricter than its account.',
  fields: (t) => ({
    workspaceId: t.globalID({ required: true, for: WorkspaceObject, description: 'The workspace.' }),
    role: t.field({ type: WorkspaceViewerRoleEnum, required: true, description: 'OWNER, MEMBER or NON_MEMBER.' }),
    action: t.field({ type: WorkspaceActionEnum, required: true, description: 'The action.' }),
    allowed: t.boolean({ required: true, description: 'Allow or forbid.' }),
  }),
});

builder.mutationField('setWorkspacePermission', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: WorkspacePayload('SetWorkspacePermissionPayload'),
    description: 'Sets who may do what in a workspace (owners and account admins); refused when the account caps it.',
    args: { input: t.arg({ type: SetWorkspacePermissionInput, required: true }) },
    errors: {
      types: [...workspaceErrors, CappedByAccountPolicy],
      directResult: true,
      union: { name: 'SetWorkspacePermissionResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      workspace: await setWorkspacePermission(ctx, { ...input, workspaceId: input.workspaceId.id }),
    }),
  }),
);

const MembershipPayload = (name: string, description: string) =>
  builder.simpleObject(name, {
    description,
    fields: (t) => ({
      workspace: t.field({ type: WorkspaceObject, description: 'The workspace.' }),
      member: t.field({
        type: WorkspaceMemberObject,
        nullable: true,
        description: 'The membership, when there still is one.',
      }),
    }),
  });

builder.mutationField('joinWorkspace', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: MembershipPayload('JoinWorkspacePayload', 'The viewer is now a member.'),
    description:
      'Joins an open workspace at once. Account admins join closed and private ones too, without approval (audited, visible to its owners).',
    args: {
      input: t.arg({ type: WorkspaceIdInput('JoinWorkspaceInput', 'The workspace to join.'), required: true }),
    },
    errors: { types: [...workspaceErrors], directResult: true, union: { name: 'JoinWorkspaceResult' } },
    resolve: async (_root, { input }, ctx) => {
      const member = await joinWorkspace(ctx, { workspaceId: input.workspaceId.id });
      return { workspace: await workspaceById(ctx, member.workspaceId), member };
    },
  }),
);

const RequestToJoinWorkspaceInput = builder.inputType('RequestToJoinWorkspaceInput', {
  description: 'A request to join a closed workspace.',
  fields: (t) => ({
    workspaceId: t.globalID({ required: true, for: WorkspaceObject, description: 'The closed workspace.' }),
    message: t.string({ description: 'A note for the owners.', validate: text(1000) }),
  }),
});

const JoinRequestPayload = (name: string) =>
  builder.simpleObject(name, {
    description: 'The join request.',
    fields: (t) => ({ request: t.field({ type: JoinRequestObject, description: 'The request.' }) }),
  });

builder.mutationField('requestToJoinWorkspace', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: JoinRequestPayload('RequestToJoinWorkspacePayload'),
    description: 'Asks the owners of a closed workspace (that the viewer can see) to let them in.',
    args: { input: t.arg({ type: RequestToJoinWorkspaceInput, required: true }) },
    errors: { types: [...workspaceErrors], directResult: true, union: { name: 'RequestToJoinWorkspaceResult' } },
    resolve: async (_root, { input }, ctx) => ({
      request: await requestToJoinWorkspace(ctx, { workspaceId: input.workspaceId.id, message: input.message }),
    }),
  }),
);

const DecideJoinRequestInput = builder.inputType('DecideJoinRequestInput', {
  description: 'Approve or decline a pending request.',
  fields: (t) => ({
    requestId: t.globalID({ required: true, for: JoinRequestObject, description: 'The request.' }),
    approve: t.boolean({ required: true, description: 'true lets them in as MEMBER.' }),
  }),
});

builder.mutationField('decideJoinRequest', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: JoinRequestPayload('DecideJoinRequestPayload'),
    description: 'Approves or declines a request to join (owners and account admins).',
    args: { input: t.arg({ type: DecideJoinRequestInput, required: true }) },
    errors: {
      types: [...workspaceErrors, ConflictError],
      directResult: true,
      union: { name: 'DecideJoinRequestResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      request: await decideJoinRequest(ctx, { requestId: input.requestId.id, approve: input.approve }),
    }),
  }),
);

const MemberInput = (name: string, description: string) =>
  builder.inputType(name, {
    description,
    fields: (t) => ({
      workspaceId: t.globalID({ required: true, for: WorkspaceObject, description: 'The workspace.' }),
      userId: t.globalID({ required: true, for: UserType, description: 'The member.' }),
    }),
  });

builder.mutationField('removeWorkspaceMember', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: MembershipPayload('RemoveWorkspaceMemberPayload', 'The member is out.'),
    description: 'Removes a member (owners and account admins); never the last owner.',
    args: { input: t.arg({ type: MemberInput('RemoveWorkspaceMemberInput', 'Who to remove.'), required: true }) },
    errors: {
      types: [...workspaceErrors, LastOwnerError],
      directResult: true,
      union: { name: 'RemoveWorkspaceMemberResult' },
    },
    resolve: async (_root, { input }, ctx) => {
      await removeWorkspaceMember(ctx, { workspaceId: input.workspaceId.id, userId: input.userId.id });
      return { workspace: await workspaceById(ctx, input.workspaceId.id), member: null };
    },
  }),
);

const LeaveWorkspacePayload = builder.simpleObject('LeaveWorkspacePayload', {
  description: 'The viewer left.',
  fields: (t) => ({ workspaceId: t.id({ description: 'Global id of the workspace left.' }) }),
});

builder.mutationField('leaveWorkspace', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: LeaveWorkspacePayload,
    description: 'Leaves a workspace; the last owner must crown another owner first.',
    args: {
      input: t.arg({ type: WorkspaceIdInput('LeaveWorkspaceInput', 'The workspace to leave.'), required: true }),
    },
    errors: {
      types: [...workspaceErrors, LastOwnerError],
      directResult: true,
      union: { name: 'LeaveWorkspaceResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      workspaceId: encodeGlobalID('Workspace', await leaveWorkspace(ctx, { workspaceId: input.workspaceId.id })),
    }),
  }),
);

const SetWorkspaceMemberRoleInput = builder.inputType('SetWorkspaceMemberRoleInput', {
  description: 'Crown a member owner, or demote an owner.',
  fields: (t) => ({
    workspaceId: t.globalID({ required: true, for: WorkspaceObject, description: 'The workspace.' }),
    userId: t.globalID({ required: true, for: UserType, description: 'The member.' }),
    role: t.field({ type: WorkspaceRoleEnum, required: true, description: 'OWNER or MEMBER.' }),
  }),
});

builder.mutationField('setWorkspaceMemberRole', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: MembershipPayload('SetWorkspaceMemberRolePayload', 'The membership with its new role.'),
    description: 'Crowns or demotes an owner (owners and account admins); the last owner stays.',
    args: { input: t.arg({ type: SetWorkspaceMemberRoleInput, required: true }) },
    errors: {
      types: [...workspaceErrors, LastOwnerError],
      directResult: true,
      union: { name: 'SetWorkspaceMemberRoleResult' },
    },
    resolve: async (_root, { input }, ctx) => {
      const member = await setWorkspaceMemberRole(ctx, {
        workspaceId: input.workspaceId.id,
        userId: input.userId.id,
        role: input.role,
      });
      return { workspace: await workspaceById(ctx, member.workspaceId), member };
    },
  }),
);

async function workspaceById(ctx: Context, id: string) {
  return ctx.db.workspace.findUniqueOrThrow({ where: { id } });
}

/** A deleted workspace's facts are gone; its event says who could see it. */
async function sawDeleted(ctx: Context, accountId: string, event: WorkspaceEventPayload): Promise<boolean> {
  if (!ctx.viewer || !event.audience) return false;
  const account = await new Access(ctx.db, ctx.viewer).account(accountId);
  return couldSeeDeletedWorkspace(account, event.audience, ctx.viewer.id);
}
