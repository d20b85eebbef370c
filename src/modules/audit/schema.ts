import { builder } from '../../builder.ts';
import type { Context } from '../../context.ts';
import type { Prisma } from '../../generated/prisma/client.ts';
import { UserType } from '../user/schema.ts';

builder.prismaObject('AuditEvent', {
  description: 'One audited change: who did what to which resource, and when.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Event id.' }),
    action: t.exposeString('action', { description: '`resource.verb`, e.g. `member.remove`, `share.create`.' }),
    resourceType: t.exposeString('resourceType', { description: 'Account, Workspace, List, User…' }),
    resourceId: t.globalID({
      description: 'Global id of the resource.',
      resolve: (e) => ({ type: e.resourceType, id: e.resourceId }),
    }),
    actor: t.relation('actor', { nullable: true, description: 'Who did it (null once anonymised away).' }),
    data: t.expose('data', { type: 'JSON', description: 'What changed: ids, roles, names; never content.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When.' }),
  }),
});

/**
 * Who may read a resource's audit log: workspace owners and account admins for workspaces (and
 * their lists), account admins for accounts and users. Returns the filter, or null when refused.
 */
async function auditScope(ctx: Context, type: string, id: string): Promise<Prisma.AuditEventWhereInput | null> {
  switch (type) {
    case 'Account':
      return (await ctx.access.decideAccount(id, 'account:manage'))?.allowed ? { accountId: id } : null;
    case 'Workspace':
      return (await ctx.access.decideWorkspace(id, 'workspace:manage'))?.allowed ? { resourceId: id } : null;
    case 'List': {
      const list = await ctx.db.list.findUnique({ where: { id }, select: { workspaceId: true } });
      if (!list) return null;
      return (await ctx.access.decideWorkspace(list.workspaceId, 'workspace:manage'))?.allowed
        ? { resourceId: id }
        : null;
    }
    case 'User': {
      // An anonymised person is in no account any more; the accounts they were anonymised in still count.
      const [memberships, anonymised] = await Promise.all([
        ctx.db.accountMember.findMany({ where: { userId: id }, select: { accountId: true } }),
        ctx.db.auditEvent.findMany({
          where: { resourceType: 'User', resourceId: id, action: 'user.anonymize' },
          select: { accountId: true },
        }),
      ]);
      const accountIds = new Set([...memberships, ...anonymised].flatMap((m) => (m.accountId ? [m.accountId] : [])));
      for (const accountId of accountIds) {
        if ((await ctx.access.decideAccount(accountId, 'account:manage'))?.allowed) {
          return {
            OR: [{ resourceId: id }, { actorId: id }, { data: { path: ['userId'], equals: id } }],
            accountId,
          };
        }
      }
      return null;
    }
    default:
      return null;
  }
}

builder.queryField('auditLog', (t) =>
  t.prismaConnection({
    type: 'AuditEvent',
    cursor: 'id',
    nullable: true,
    description:
      'The audit trail of a workspace, list or user (owners and admins), or of a whole account (admins), newest first; null when not allowed.',
    args: {
      resourceId: t.arg.globalID({ required: true, description: 'An Account, Workspace, List or User id.' }),
      actorId: t.arg.globalID({ for: UserType, description: 'Only what this person did.' }),
    },
    resolve: async (query, _root, args, ctx) => {
      if (!ctx.viewer) return null;
      const scope = await auditScope(ctx, args.resourceId.typename, args.resourceId.id);
      if (!scope) return null;
      return ctx.db.auditEvent.findMany({
        ...query,
        where: { ...scope, ...(args.actorId ? { actorId: args.actorId.id } : {}) },
        orderBy: { id: 'desc' },
      });
    },
  }),
);
