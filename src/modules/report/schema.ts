import { resolveCursorConnection } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import { AccountType } from '../account/schema.ts';
import { type AccessReportRow, accessReportPage, type GRANT_SOURCES, keyOf, type ReportKey } from './service.ts';

const GrantSourceEnum = builder.enumType('AccessGrantSource', {
  description: 'The grant a row of the access report comes from.',
  values: {
    CREATOR: { description: 'Made the list.' },
    ACCOUNT_ADMIN: {
      description:
        'Account admin: co-owner of the lists of open workspaces and of those joined; reads open workspaces.',
    },
    WORKSPACE_MEMBER: { description: 'Member (or owner) of the workspace.' },
    WORKSPACE_OPEN: { description: 'Account member, and the workspace is OPEN.' },
    SHARE_USER: { description: 'A share to the person.' },
    SHARE_GROUP: { description: 'A share to a group the person is a direct member of (`via`).' },
    SHARE_RIGHT: { description: 'A share to a right the person holds (`via`).' },
    GENERAL_WORKSPACE: { description: 'General access WORKSPACE: the workspace audience gets the general role.' },
    GENERAL_GLOBAL: { description: 'General access GLOBAL: every admin and member of the account views it.' },
    LINK: { description: 'General access ANYONE_WITH_LINK: anyone holding the link views it (no person).' },
  } satisfies Record<(typeof GRANT_SOURCES)[number], { description: string }>,
});

const AccessReportRowType = builder.objectRef<AccessReportRow>('AccessReportRow').implement({
  description: 'One grant of access: who reaches which list or workspace, with which role, through what, since when.',
  fields: (t) => ({
    resourceType: t.exposeString('resourceType', { description: 'List or Workspace.' }),
    resourceId: t.globalID({
      description: 'The list or workspace.',
      resolve: (r) => ({ type: r.resourceType, id: r.resourceId }),
    }),
    resourceName: t.exposeString('resourceName', { description: 'Its name.' }),
    user: t.prismaField({
      type: 'User',
      nullable: true,
      description: 'The person; null for a LINK row (anyone with the link).',
      resolve: (query, r, _args, ctx) =>
        r.userId ? ctx.db.user.findUnique({ ...query, where: { id: r.userId } }) : null,
    }),
    role: t.exposeString('role', {
      description: 'The role this grant gives: a list role, or OWNER, MEMBER, NON_MEMBER in a workspace.',
    }),
    source: t.field({ type: GrantSourceEnum, description: 'The grant.', resolve: (r) => r.source }),
    via: t.globalID({
      nullable: true,
      description: 'The share (SHARE_USER), group (SHARE_GROUP) or right (SHARE_RIGHT) it comes through.',
      resolve: (r) => (r.viaType && r.viaId ? { type: r.viaType, id: r.viaId } : null),
    }),
    viaName: t.exposeString('viaName', { nullable: true, description: 'The name of the group or right.' }),
    grantedBy: t.prismaField({
      type: 'User',
      nullable: true,
      description:
        'Who granted it: the sharer, the creator, else the actor of the latest audited change that gave it (null when unknown).',
      resolve: (query, r, _args, ctx) =>
        r.grantedById ? ctx.db.user.findUnique({ ...query, where: { id: r.grantedById } }) : null,
    }),
    grantedAt: t.expose('grantedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When: the share or membership row, else the latest audited change that gave it.',
    }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it ends: Share.expiresAt, WorkspaceMember.expiresAt, List.linkExpiresAt (null: never).',
    }),
  }),
});

const encodeKey = (k: ReportKey) => Buffer.from(JSON.stringify(k)).toString('base64url');

function decodeKey(cursor: string): ReportKey {
  try {
    const k: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    if (Array.isArray(k) && k.length === 4 && k.every((p) => typeof p === 'string')) return k as ReportKey;
  } catch {}
  throw new Error('Invalid cursor');
}

builder.queryField('accessReport', (t) =>
  t.withAuth({ loggedIn: true }).connection({
    type: AccessReportRowType,
    nullable: true,
    description:
      'Every grant of access to every list and workspace of the account (the access review): for its admins; null otherwise. Also as CSV: GET /accounts/<id>/access-report.csv.',
    args: { accountId: t.arg.globalID({ required: true, for: AccountType, description: 'The account.' }) },
    resolve: async (_root, args, ctx) => {
      const accountId = args.accountId.id;
      if (!(await ctx.access.decideAccount(accountId, 'account:manage'))?.allowed) return null;
      return resolveCursorConnection<Promise<AccessReportRow[]>>(
        { args, toCursor: (row: AccessReportRow) => encodeKey(keyOf(row)), defaultSize: 50, maxSize: 500 },
        ({ before, after, limit, inverted }) =>
          accessReportPage(ctx.db, accountId, {
            after: after ? decodeKey(after) : null,
            before: before ? decodeKey(before) : null,
            limit,
            descending: inverted,
          }),
      );
    },
  }),
);
