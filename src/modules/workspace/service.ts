import type { Context, Viewer } from '../../context.ts';
import { ForbiddenError, NotFoundError } from '../../errors.ts';
import type { Workspace, WorkspaceType } from '../../generated/prisma/client.ts';
import { audit } from '../audit/service.ts';

type Ctx = Context & { viewer: Viewer };

/** Publishes a workspace event to its account's subscribers, after the commit that caused it. */
function publishWorkspaceEvent(
  ctx: Context,
  accountId: string,
  kind: 'CREATED' | 'UPDATED' | 'DELETED',
  workspaceId: string,
) {
  ctx.realtime.pubsub.publish('account:workspaces', accountId, { kind, workspaceId, at: new Date().toISOString() });
}

/** Creates a workspace where the account allows the viewer to; the viewer becomes its owner. */
export async function createWorkspace(
  ctx: Ctx,
  input: { accountId: string; name: string; type: WorkspaceType },
): Promise<Workspace> {
  const decision = await ctx.access.decideAccount(input.accountId, 'account:create-workspace');
  if (!decision || decision.role === null) throw new NotFoundError('The account');
  if (!decision.allowed)
    throw new ForbiddenError(decision.reasons.at(-1)?.detail ?? 'You may not create workspaces here');
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
  publishWorkspaceEvent(ctx, input.accountId, 'CREATED', workspace.id);
  return workspace;
}
