import { z } from 'zod';
import { Access, visibleWorkspacesWhere } from '../../access/load.ts';
import { builder } from '../../builder.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import { WorkspaceAudience, WorkspaceRole, WorkspaceType } from '../../generated/prisma/enums.ts';
import type { WorkspaceEventPayload } from '../../realtime/pubsub.ts';
import { live, SUBSCRIBED } from '../../realtime/stream.ts';
import { AccountType } from '../account/schema.ts';
import { createWorkspace } from './service.ts';

export const WorkspaceTypeEnum = builder.enumType(WorkspaceType, {
  name: 'WorkspaceType',
  description: 'OPEN: the whole account sees it and may join. CLOSED: members only.',
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
  description: 'A team space holding lists; OPEN or CLOSED.',
  id: { field: 'id' },
  // node(id:) answers only for workspaces the viewer may know of; others look absent.
  findUnique: (id, ctx) => ({ id, AND: [visibleWorkspacesWhere(ctx.viewer?.id ?? '')] }),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name.' }),
    type: t.expose('type', { type: WorkspaceTypeEnum, description: 'OPEN or CLOSED.' }),
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
      description: 'Owners and members; null for those who only reach single lists of it.',
      cursor: 'workspaceId_userId',
      query: { orderBy: [{ createdAt: 'asc' }, { userId: 'asc' }] },
      authScopes: (ws) => ({ workspace: { id: ws.id, question: 'workspace:read' } }),
      unauthorizedResolver: () => null,
    }),
  }),
});

builder.prismaObject('WorkspaceMember', {
  description: "A person's membership of a workspace.",
  fields: (t) => ({
    role: t.expose('role', { type: WorkspaceRoleEnum, description: 'OWNER or MEMBER.' }),
    user: t.relation('user', { description: 'The member.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When they joined.' }),
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
    name: t.string({ required: true, description: 'Display name.', validate: z.string().trim().min(1).max(200) }),
    type: t.field({ type: WorkspaceTypeEnum, defaultValue: 'OPEN', description: 'OPEN (default) or CLOSED.' }),
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
    subscribe: async function* (_root, args, ctx) {
      const source = ctx.realtime.pubsub.subscribe('account:workspaces', args.accountId.id);
      for await (const event of live(ctx.realtime, source)) {
        if (event === SUBSCRIBED) {
          yield { kind: 'SUBSCRIBED' } as WorkspaceEventShape;
          continue;
        }
        // Fresh facts per event: memberships may have changed since the stream opened.
        const decision = await new Access(ctx.db, ctx.viewer).decideWorkspace(event.workspaceId, 'workspace:see');
        if (decision?.allowed) yield event;
      }
    },
    resolve: (event) => event,
  }),
);
