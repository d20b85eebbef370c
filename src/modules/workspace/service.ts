import { enforce } from '../../access/enforce.ts';
import { decideWorkspaceRuleChange, leavesNoOwner, seesJoinRequest } from '../../access/rules.ts';
import type { Context, Viewer } from '../../context.ts';
import type { DbTx } from '../../db/client.ts';
import { CappedByAccountPolicy, ConflictError, LastOwnerError, NotFoundError } from '../../errors.ts';
import type {
  JoinRequest,
  Workspace,
  WorkspaceAction,
  WorkspaceAudience,
  WorkspaceMember,
  WorkspaceRole,
  WorkspaceType,
} from '../../generated/prisma/client.ts';
import type { WorkspaceEventPayload } from '../../realtime/pubsub.ts';
import { audit } from '../audit/service.ts';
import { type ListEventRecord, recordListEvents } from '../list/event-log.ts';
import { publishListEvents } from '../list/service.ts';

type Ctx = Context & { viewer: Viewer };

/** Publishes a workspace event to its account's subscribers, after the commit that caused it. */
function publish(ctx: Context, accountId: string, event: Omit<WorkspaceEventPayload, 'at'>) {
  ctx.realtime.pubsub.publish('account:workspaces', accountId, { ...event, at: new Date().toISOString() });
}

/**
 * Runs a workspace change in one transaction with its audit row, then clears cached access facts.
 * With `listEvent` (access may have changed, or the lists are deleted), it is recorded on every
 * list the workspace had before the change, in the same transaction, and published after commit:
 * their live streams re-decide, and a revoked one ends.
 */
async function change<T>(
  ctx: Ctx,
  workspace: { id: string; accountId: string },
  action: string,
  data: Record<string, unknown>,
  work: (tx: DbTx) => Promise<T>,
  listEvent?: ListEventRecord,
): Promise<T> {
  const [result, events] = await ctx.db.$transaction(async (tx) => {
    const lists = listEvent
      ? await tx.list.findMany({ where: { workspaceId: workspace.id }, select: { id: true } })
      : [];
    const value = await work(tx);
    await audit(tx, {
      accountId: workspace.accountId,
      actorId: ctx.viewer.id,
      action,
      resourceType: 'Workspace',
      resourceId: workspace.id,
      data,
    });
    const recorded = listEvent
      ? await recordListEvents(
          tx,
          lists.map((l) => l.id),
          listEvent,
        )
      : [];
    return [value, recorded] as const;
  });
  ctx.access.clear();
  publishListEvents(ctx, events);
  return result;
}

async function load(ctx: Ctx, workspaceId: string): Promise<Workspace> {
  const ws = await ctx.db.workspace.findUnique({ where: { id: workspaceId } });
  if (!ws) throw new NotFoundError('The workspace');
  return ws;
}

/**
 * Refuses a change that would leave the workspace without an owner. Locks the owner rows first,
 * so two owners demoting each other at once cannot both succeed.
 */
async function keepAnOwner(tx: DbTx, workspaceId: string, member: WorkspaceMember) {
  const owners = await tx.$queryRaw<{ userId: string }[]>`
    SELECT "userId" FROM "WorkspaceMember" WHERE "workspaceId" = ${workspaceId} AND "role" = 'OWNER' FOR UPDATE`;
  if (
    leavesNoOwner(
      owners.map((o) => o.userId),
      member,
    )
  )
    throw new LastOwnerError();
}

/** Creates a workspace where the account allows the viewer to; the viewer becomes its owner. */
export async function createWorkspace(
  ctx: Ctx,
  input: { accountId: string; name: string; type: WorkspaceType },
): Promise<Workspace> {
  enforce(await ctx.access.decideAccount(input.accountId, 'account:create-workspace'), 'The account');
  const workspace = await ctx.db.$transaction(async (tx) => {
    const ws = await tx.workspace.create({
      data: {
        accountId: input.accountId,
        name: input.name,
        type: input.type,
        createdById: ctx.viewer.id,
        members: { create: { userId: ctx.viewer.id, role: 'OWNER' } },
      },
    });
    await audit(tx, {
      accountId: input.accountId,
      actorId: ctx.viewer.id,
      action: 'workspace.create',
      resourceType: 'Workspace',
      resourceId: ws.id,
      data: { name: ws.name, type: ws.type },
    });
    return ws;
  });
  ctx.access.clear();
  publish(ctx, input.accountId, { kind: 'CREATED', workspaceId: workspace.id });
  return workspace;
}

/** Renames a workspace or changes its type (owners and account admins). */
export async function updateWorkspace(
  ctx: Ctx,
  input: { workspaceId: string; name?: string | null; type?: WorkspaceType | null },
): Promise<Workspace> {
  enforce(await ctx.access.decideWorkspace(input.workspaceId, 'workspace:manage'), 'The workspace');
  const before = await load(ctx, input.workspaceId);
  const data = {
    ...(input.name && input.name !== before.name ? { name: input.name } : {}),
    ...(input.type && input.type !== before.type ? { type: input.type } : {}),
  };
  if (!Object.keys(data).length) return before;
  const action = data.type ? 'workspace.type' : 'workspace.rename';
  const after = await change(
    ctx,
    before,
    action,
    { before: { name: before.name, type: before.type }, after: data },
    (tx) => tx.workspace.update({ where: { id: before.id }, data }),
    data.type ? { kind: 'ACCESS_CHANGED', userIds: [] } : undefined,
  );
  publish(ctx, before.accountId, { kind: 'UPDATED', workspaceId: before.id });
  return after;
}

/** Deletes a workspace with its lists (owners and account admins). */
export async function deleteWorkspace(ctx: Ctx, input: { workspaceId: string }): Promise<string> {
  enforce(await ctx.access.decideWorkspace(input.workspaceId, 'workspace:manage'), 'The workspace');
  const ws = await load(ctx, input.workspaceId);
  const members = await ctx.db.workspaceMember.findMany({ where: { workspaceId: ws.id }, select: { userId: true } });
  await change(
    ctx,
    ws,
    'workspace.delete',
    { name: ws.name, type: ws.type },
    (tx) => tx.workspace.delete({ where: { id: ws.id } }),
    { kind: 'LIST_DELETED' },
  );
  publish(ctx, ws.accountId, {
    kind: 'DELETED',
    workspaceId: ws.id,
    // `open`: listed to the account's members (open and closed workspaces), who saw it in `workspaces`.
    audience: { open: ws.type !== 'PRIVATE', memberIds: members.map((m) => m.userId) },
  });
  return ws.id;
}

/** Sets an owner's rule for one audience and action; a workspace may only be stricter than its account. */
export async function setWorkspacePermission(
  ctx: Ctx,
  input: { workspaceId: string; role: WorkspaceAudience; action: WorkspaceAction; allowed: boolean },
): Promise<Workspace> {
  enforce(await ctx.access.decideWorkspace(input.workspaceId, 'workspace:manage'), 'The workspace');
  const facts = await ctx.access.workspace(input.workspaceId);
  const ws = await load(ctx, input.workspaceId);
  if (!facts) throw new NotFoundError('The workspace');
  const change_ = decideWorkspaceRuleChange(facts.account.policy, input.action, input.allowed);
  if (!change_.allowed) {
    throw new CappedByAccountPolicy(
      `The account policy does not allow ${input.action}; a workspace can only be stricter`,
    );
  }
  const key = { workspaceId: ws.id, audience: input.role, action: input.action };
  await change(ctx, ws, 'workspace.permission', { ...key, allowed: input.allowed }, (tx) =>
    tx.workspacePermission.upsert({
      where: { workspaceId_audience_action: key },
      create: { ...key, allowed: input.allowed },
      update: { allowed: input.allowed },
    }),
  );
  return ws;
}

/** Joins an open workspace at once, as a MEMBER. */
export async function joinWorkspace(ctx: Ctx, input: { workspaceId: string }): Promise<WorkspaceMember> {
  enforce(await ctx.access.decideWorkspace(input.workspaceId, 'workspace:join'), 'The workspace');
  const ws = await load(ctx, input.workspaceId);
  // An admin entering a closed or private workspace without approval leaves a mark its owners see.
  const asAdmin = ws.type !== 'OPEN';
  const member = await change(
    ctx,
    ws,
    asAdmin ? 'member.admin-join' : 'member.join',
    { userId: ctx.viewer.id },
    (tx) => tx.workspaceMember.create({ data: { workspaceId: ws.id, userId: ctx.viewer.id, role: 'MEMBER' } }),
    { kind: 'ACCESS_CHANGED', userIds: [ctx.viewer.id] },
  );
  if (asAdmin) publish(ctx, ws.accountId, { kind: 'UPDATED', workspaceId: ws.id });
  return member;
}

/** Asks the owners of a closed workspace to let the viewer in; one pending request at a time. */
export async function requestToJoinWorkspace(
  ctx: Ctx,
  input: { workspaceId: string; message?: string | null },
): Promise<JoinRequest> {
  enforce(await ctx.access.decideWorkspace(input.workspaceId, 'workspace:request-join'), 'The workspace');
  const ws = await load(ctx, input.workspaceId);
  const pending = await ctx.db.joinRequest.findFirst({
    where: { workspaceId: ws.id, userId: ctx.viewer.id, status: 'PENDING' },
  });
  if (pending) return pending;
  return change(ctx, ws, 'member.request', { userId: ctx.viewer.id }, (tx) =>
    tx.joinRequest.create({ data: { workspaceId: ws.id, userId: ctx.viewer.id, message: input.message ?? null } }),
  );
}

/** Approves (the requester becomes a MEMBER) or declines a pending join request. */
export async function decideJoinRequest(
  ctx: Ctx,
  input: { requestId: string; approve: boolean },
): Promise<JoinRequest> {
  const request = await ctx.db.joinRequest.findUnique({ where: { id: input.requestId } });
  if (!request) throw new NotFoundError('The join request');
  const decide = await ctx.access.decideWorkspace(request.workspaceId, 'workspace:manage');
  enforce(decide, 'The join request', !!decide && seesJoinRequest(ctx.viewer.id, request, decide));
  if (request.status !== 'PENDING') throw new ConflictError(`The request was already ${request.status.toLowerCase()}`);
  const ws = await load(ctx, request.workspaceId);
  const status = input.approve ? 'APPROVED' : 'DECLINED';
  return change(
    ctx,
    ws,
    input.approve ? 'member.approve' : 'member.decline',
    { userId: request.userId },
    async (tx) => {
      const decided = await tx.joinRequest.updateMany({
        where: { id: request.id, status: 'PENDING' },
        data: { status, decidedById: ctx.viewer.id, decidedAt: new Date() },
      });
      if (decided.count !== 1) throw new ConflictError('The request was decided meanwhile');
      if (input.approve) {
        await tx.workspaceMember.upsert({
          where: { workspaceId_userId: { workspaceId: ws.id, userId: request.userId } },
          create: { workspaceId: ws.id, userId: request.userId, role: 'MEMBER' },
          update: {},
        });
      }
      return tx.joinRequest.findUniqueOrThrow({ where: { id: request.id } });
    },
  );
}

async function membership(ctx: Ctx, workspaceId: string, userId: string) {
  const member = await ctx.db.workspaceMember.findUnique({ where: { workspaceId_userId: { workspaceId, userId } } });
  if (!member) throw new NotFoundError('The member');
  return member;
}

/** Takes `member` out of the workspace (the last owner stays); their lists' streams re-decide. */
function removeMember(ctx: Ctx, ws: Workspace, member: WorkspaceMember, action: 'member.remove' | 'member.leave') {
  return change(
    ctx,
    ws,
    action,
    { userId: member.userId, role: member.role },
    async (tx) => {
      await keepAnOwner(tx, ws.id, member);
      await tx.workspaceMember.delete({ where: { workspaceId_userId: { workspaceId: ws.id, userId: member.userId } } });
    },
    { kind: 'ACCESS_CHANGED', userIds: [member.userId] },
  );
}

/** Removes a member (owners and account admins); the last owner stays. */
export async function removeWorkspaceMember(ctx: Ctx, input: { workspaceId: string; userId: string }): Promise<string> {
  enforce(await ctx.access.decideWorkspace(input.workspaceId, 'workspace:manage'), 'The workspace');
  const ws = await load(ctx, input.workspaceId);
  const member = await membership(ctx, ws.id, input.userId);
  await removeMember(ctx, ws, member, 'member.remove');
  return member.userId;
}

/** Leaves a workspace; the last owner must crown another first. */
export async function leaveWorkspace(ctx: Ctx, input: { workspaceId: string }): Promise<string> {
  enforce(await ctx.access.decideWorkspace(input.workspaceId, 'workspace:leave'), 'The workspace');
  const ws = await load(ctx, input.workspaceId);
  const member = await membership(ctx, ws.id, ctx.viewer.id);
  await removeMember(ctx, ws, member, 'member.leave');
  return ws.id;
}

/** Crowns a member owner or demotes an owner to member; the last owner cannot be demoted. */
export async function setWorkspaceMemberRole(
  ctx: Ctx,
  input: { workspaceId: string; userId: string; role: WorkspaceRole },
): Promise<WorkspaceMember> {
  enforce(await ctx.access.decideWorkspace(input.workspaceId, 'workspace:manage'), 'The workspace');
  const ws = await load(ctx, input.workspaceId);
  const member = await membership(ctx, ws.id, input.userId);
  if (member.role === input.role) return member;
  return change(ctx, ws, 'member.role', { userId: member.userId, from: member.role, to: input.role }, async (tx) => {
    await keepAnOwner(tx, ws.id, member);
    return tx.workspaceMember.update({
      where: { workspaceId_userId: { workspaceId: ws.id, userId: member.userId } },
      // An owner's membership does not end: crowning one ends its expiry.
      data: { role: input.role, ...(input.role === 'OWNER' ? { expiresAt: null } : {}) },
    });
  });
}
