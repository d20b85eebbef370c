import { enforce } from '../../access/enforce.ts';
import type { ListFacts } from '../../access/facts.ts';
import { seesUser } from '../../access/load.ts';
import { decideList, decideShare, type SharePrincipal, seesSharePrincipal } from '../../access/rules.ts';
import { noteExpiry } from '../../cache/expiries.ts';
import type { Context, Viewer } from '../../context.ts';
import type { DbTx } from '../../db/client.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import type { ListRole, Share } from '../../generated/prisma/client.ts';
import { queueMail } from '../../mail/mailer.ts';
import { invitationLink, newInvitationToken } from '../invitation/token.ts';
import { listChange, listFacts } from '../list/service.ts';
import { normalizeEmail } from '../user/service.ts';

type Ctx = Context & { viewer: Viewer };

/** Exactly one principal: a user, a group, a right or an external email. */
export type ShareTarget = { userId: string } | { groupId: string } | { rightId: string } | { email: string };

interface ResolvedPrincipal {
  principal: SharePrincipal;
  /** What the Share row stores. */
  key: { userId: string } | { groupId: string } | { rightId: string } | { email: string };
  /** The users this share reaches now, for ACCESS_CHANGED (null: a group or right; re-decide all). */
  userIds: string[] | null;
  /** An email share sends an invitation. */
  invite: boolean;
}

async function accountRoleOf(ctx: Context, accountId: string, userId: string) {
  const member = await ctx.db.accountMember.findUnique({ where: { accountId_userId: { accountId, userId } } });
  return member?.role ?? null;
}

/** Looks up the principal a share names, as the sharing rules see it. */
async function resolvePrincipal(ctx: Ctx, facts: ListFacts, target: ShareTarget): Promise<ResolvedPrincipal> {
  const accountId = facts.workspace.account.accountId;
  if ('userId' in target) {
    const user = await ctx.db.user.findUnique({ where: { id: target.userId } });
    if (!user) throw new NotFoundError('The user');
    const list = await ctx.db.list.findUniqueOrThrow({ where: { id: facts.listId }, select: { creatorId: true } });
    return {
      principal: {
        kind: 'USER',
        accountRole: await accountRoleOf(ctx, accountId, user.id),
        isCreator: list.creatorId === user.id,
      },
      key: { userId: user.id },
      userIds: [user.id],
      invite: false,
    };
  }
  if ('groupId' in target) {
    const group = await ctx.db.group.findUnique({ where: { id: target.groupId } });
    if (!group) throw new NotFoundError('The group');
    return {
      principal: { kind: 'GROUP', sameAccount: group.accountId === accountId },
      key: { groupId: group.id },
      userIds: null,
      invite: false,
    };
  }
  if ('rightId' in target) {
    const right = await ctx.db.right.findUnique({
      where: { id: target.rightId },
      include: { holders: { where: { userId: ctx.viewer.id }, select: { userId: true } } },
    });
    if (!right) throw new NotFoundError('The right');
    return {
      principal: { kind: 'RIGHT', sameAccount: right.accountId === accountId, viewerHoldsIt: right.holders.length > 0 },
      key: { rightId: right.id },
      userIds: null,
      invite: false,
    };
  }
  const email = normalizeEmail(target.email);
  // Someone already in the account is shared with as the user they are.
  const known = await ctx.db.user.findUnique({ where: { email } });
  const role = known ? await accountRoleOf(ctx, accountId, known.id) : null;
  if (known && role) return resolvePrincipal(ctx, facts, { userId: known.id });
  return { principal: { kind: 'EMAIL' }, key: { email }, userIds: [], invite: true };
}

/** The list event of a change to a share: whom it may concern (a group or right: anyone). */
function accessChanged(resolved: ResolvedPrincipal) {
  return { kind: 'ACCESS_CHANGED', userIds: resolved.userIds ?? [] } as const;
}

function principalOfShare(share: Share): ShareTarget {
  if (share.userId) return { userId: share.userId };
  if (share.groupId) return { groupId: share.groupId };
  if (share.rightId) return { rightId: share.rightId };
  return { email: share.email ?? '' };
}

async function pendingInvitation(tx: DbTx, ctx: Ctx, facts: ListFacts, email: string, role: ListRole) {
  const { token, tokenHash } = newInvitationToken();
  await tx.invitation.create({
    data: {
      kind: 'LIST_SHARE',
      accountId: facts.workspace.account.accountId,
      listId: facts.listId,
      email,
      listRole: role,
      tokenHash,
      expiresAt: new Date(Date.now() + ctx.config.invitationTtlMs),
      invitedById: ctx.viewer.id,
    },
  });
  const list = await tx.list.findUniqueOrThrow({ where: { id: facts.listId }, select: { name: true } });
  const link = invitationLink(ctx.config.invitationUrl, token);
  await queueMail(tx, {
    kind: 'invitation.list',
    to: email,
    link,
    subject: `${ctx.viewer.name ?? ctx.viewer.email} shared "${list.name}" with you`,
    text: `${ctx.viewer.name ?? ctx.viewer.email} shared the list "${list.name}" with you as ${role}.\n\nOpen it: ${link}\n`,
  });
}

/** NOT_FOUND for a person, group or right the viewer may not name, exactly as for one that does not exist. */
async function requireSeenPrincipal(ctx: Ctx, facts: ListFacts, target: ShareTarget): Promise<void> {
  if ('userId' in target) {
    if (
      !seesSharePrincipal(facts, { kind: 'USER', seenByViewer: await seesUser(ctx.db, ctx.viewer.id, target.userId) })
    )
      throw new NotFoundError('The user');
    return;
  }
  if ('email' in target) return;
  const [kind, row] =
    'groupId' in target
      ? (['GROUP', await ctx.db.group.findUnique({ where: { id: target.groupId } })] as const)
      : (['RIGHT', await ctx.db.right.findUnique({ where: { id: target.rightId } })] as const);
  const account = row && (await ctx.access.account(row.accountId));
  if (!account || !seesSharePrincipal(facts, { kind, account }))
    throw new NotFoundError(kind === 'GROUP' ? 'The group' : 'The right');
}

/**
 * Gives a role on a list to a user, a group, a right or an external email (co-owners and above,
 * within the sharing rules). It applies at once; an email share also mails an invitation.
 */
export async function shareList(
  ctx: Ctx,
  input: { listId: string; role: ListRole; target: ShareTarget; expiresAt?: Date | null },
): Promise<Share> {
  const expiresAt = input.expiresAt ?? null;
  const facts = await listFacts(ctx, input.listId);
  enforce(decideList(facts, 'list:manage-access'), 'The list');
  await requireSeenPrincipal(ctx, facts, input.target);
  const resolved = await resolvePrincipal(ctx, facts, input.target);
  enforce(decideShare(facts, resolved.principal, input.role), 'The list');
  const existing = await ctx.db.share.findFirst({ where: { listId: facts.listId, ...resolved.key } });
  if (existing) throw new ConflictError('The list is already shared with them; change that share instead');
  const data = { role: input.role, ...resolved.key, ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}) };
  const share = await listChange(
    ctx,
    facts,
    'share.create',
    data,
    async (tx) => {
      const created = await tx.share.create({
        data: { listId: facts.listId, role: input.role, createdById: ctx.viewer.id, expiresAt, ...resolved.key },
      });
      if (resolved.invite && 'email' in resolved.key)
        await pendingInvitation(tx, ctx, facts, resolved.key.email, input.role);
      return created;
    },
    accessChanged(resolved),
  );
  if (resolved.invite) await ctx.mail.flush();
  noteExpiry(ctx.db, expiresAt);
  return share;
}

async function loadShare(ctx: Ctx, shareId: string): Promise<{ share: Share; facts: ListFacts }> {
  const share = await ctx.db.share.findUnique({ where: { id: shareId } });
  const facts = share && (await ctx.access.list(share.listId));
  // A share on a list the viewer cannot read looks the same as no share at all.
  if (!share || !facts) throw new NotFoundError('The share');
  return { share, facts };
}

/**
 * Changes the role a share gives (co-owners and above; never the creator's), and when it ends
 * (`expiresAt`: a date, null for never, absent to keep it).
 */
export async function updateShare(
  ctx: Ctx,
  input: { shareId: string; role: ListRole; expiresAt?: Date | null },
): Promise<Share> {
  const { share, facts } = await loadShare(ctx, input.shareId);
  const resolved = await resolvePrincipal(ctx, facts, principalOfShare(share));
  enforce(decideShare(facts, resolved.principal, input.role), 'The share');
  const expiresAt = input.expiresAt === undefined ? share.expiresAt : input.expiresAt;
  const sameEnd = (expiresAt?.getTime() ?? null) === (share.expiresAt?.getTime() ?? null);
  if (share.role === input.role && sameEnd) return share;
  const ends = sameEnd ? {} : { expires: { from: iso(share.expiresAt), to: iso(expiresAt) } };
  const updated = await listChange(
    ctx,
    facts,
    'share.update',
    { from: share.role, to: input.role, ...ends, ...resolved.key },
    async (tx) => {
      const changed = await tx.share.update({ where: { id: share.id }, data: { role: input.role, expiresAt } });
      if (share.email)
        await tx.invitation.updateMany({
          where: { listId: share.listId, email: share.email, status: 'PENDING' },
          data: { listRole: input.role },
        });
      return changed;
    },
    accessChanged(resolved),
    { type: 'Share', id: share.id },
  );
  noteExpiry(ctx.db, expiresAt);
  return updated;
}

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

/** Removes a share (co-owners and above); a pending email invitation for it is revoked. */
export async function removeShare(ctx: Ctx, input: { shareId: string }): Promise<Share> {
  const { share, facts } = await loadShare(ctx, input.shareId);
  const resolved = await resolvePrincipal(ctx, facts, principalOfShare(share));
  enforce(decideShare(facts, resolved.principal, null), 'The share');
  await listChange(
    ctx,
    facts,
    'share.remove',
    { role: share.role, ...resolved.key },
    async (tx) => {
      await tx.share.delete({ where: { id: share.id } });
      if (share.email)
        await tx.invitation.updateMany({
          where: { listId: share.listId, email: share.email, status: 'PENDING' },
          data: { status: 'REVOKED', decidedAt: new Date() },
        });
    },
    accessChanged(resolved),
    { type: 'Share', id: share.id },
  );
  return share;
}

/** Validates that exactly one principal is named. */
export function shareTarget(input: {
  userId?: string | null;
  groupId?: string | null;
  rightId?: string | null;
  email?: string | null;
}): ShareTarget {
  const named = (['userId', 'groupId', 'rightId', 'email'] as const).filter((k) => input[k] != null);
  if (named.length !== 1)
    throw new ValidationError('Name exactly one of userId, groupId, rightId or email', ['input', named[1] ?? 'userId']);
  if (input.userId) return { userId: input.userId };
  if (input.groupId) return { groupId: input.groupId };
  if (input.rightId) return { rightId: input.rightId };
  return { email: input.email ?? '' };
}
