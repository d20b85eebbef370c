import { enforce } from '../../access/enforce.ts';
import { Access } from '../../access/load.ts';
import { atLeast, decideBringIn, inviteQuestion } from '../../access/rules.ts';
import { noteExpiry } from '../../cache/expiries.ts';
import type { Context, Viewer } from '../../context.ts';
import type { DbTx } from '../../db/client.ts';
import { ConflictError, InvitationError, NotFoundError, RateLimitedError, ValidationError } from '../../errors.ts';
import type { Invitation, WorkspaceRole } from '../../generated/prisma/client.ts';
import { queueMail } from '../../mail/mailer.ts';
import { callerOf, lookUpSecret } from '../../security/rate-limits.ts';
import { audit } from '../audit/service.ts';
import { normalizeEmail } from '../user/service.ts';
import { hashInvitationToken, invitationLink, newInvitationToken } from './token.ts';

type Ctx = Context & { viewer: Viewer };

/**
 * Refuses when the viewer sent `invitationsPerHour` invitations (first sends and resends) in the
 * last hour. Counted from the audit trail, so the limit holds across instances and restarts.
 */
async function checkRate(ctx: Ctx) {
  const since = new Date(Date.now() - 3_600_000);
  const sent = await ctx.db.auditEvent.findMany({
    where: {
      actorId: ctx.viewer.id,
      action: { in: ['invitation.create', 'invitation.resend'] },
      createdAt: { gte: since },
    },
    select: { createdAt: true },
    orderBy: { createdAt: 'asc' },
  });
  if (sent.length >= ctx.config.invitationsPerHour) {
    const oldest = sent[0]?.createdAt.getTime() ?? Date.now();
    throw new RateLimitedError(
      `At most ${ctx.config.invitationsPerHour} invitations an hour`,
      Math.max(1, Math.ceil((oldest + 3_600_000 - Date.now()) / 1000)),
    );
  }
}

async function mailInvitation(ctx: Ctx, tx: DbTx, invitation: Invitation, token: string) {
  const where = invitation.workspaceId
    ? (await tx.workspace.findUniqueOrThrow({ where: { id: invitation.workspaceId } })).name
    : invitation.listId
      ? (await tx.list.findUniqueOrThrow({ where: { id: invitation.listId } })).name
      : 'sharegraph';
  const from = ctx.viewer.name ?? ctx.viewer.email;
  const link = invitationLink(ctx.config.invitationUrl, token);
  await queueMail(tx, {
    kind: invitation.listId ? 'invitation.list' : 'invitation.workspace',
    to: invitation.email,
    link,
    subject: `${from} invited you to ${where}`,
    text:
      `${from} invited you to ${where} on sharegraph.\n\n` +
      `Accept the invitation: ${link}\n\n` +
      `It expires on ${invitation.expiresAt.toISOString()}.\n`,
  });
}

/**
 * Invites a person by email to a workspace (whoever the workspace lets INVITE_MEMBERS; only
 * owners and admins invite owners). Inviting someone with a pending invitation sends it again
 * with a fresh token.
 */
export async function inviteToWorkspace(
  ctx: Ctx,
  input: { workspaceId: string; email: string; role: WorkspaceRole; membershipExpiresAt?: Date | null },
): Promise<Invitation> {
  const membershipExpiresAt = input.membershipExpiresAt ?? null;
  if (membershipExpiresAt && input.role === 'OWNER')
    throw new ValidationError("An owner's membership does not expire; invite as MEMBER", ['input', 'expiresAt']);
  enforce(await ctx.access.decideWorkspace(input.workspaceId, inviteQuestion(input.role)), 'The workspace');
  const email = normalizeEmail(input.email);
  const ws = await ctx.db.workspace.findUniqueOrThrow({ where: { id: input.workspaceId } });
  enforce(await bringIn(ctx, ctx.access, ws.accountId, email), 'The workspace');
  const member = await ctx.db.workspaceMember.findFirst({ where: { workspaceId: ws.id, user: { email } } });
  if (member) throw new ConflictError(`${email} is already a member`);
  const pending = await ctx.db.invitation.findFirst({
    where: { workspaceId: ws.id, email, status: 'PENDING', kind: 'WORKSPACE' },
  });
  if (pending) return resend(ctx, pending, input.role, membershipExpiresAt);
  await checkRate(ctx);
  const { token, tokenHash } = newInvitationToken();
  const invitation = await ctx.db.$transaction(async (tx) => {
    const created = await tx.invitation.create({
      data: {
        kind: 'WORKSPACE',
        accountId: ws.accountId,
        workspaceId: ws.id,
        email,
        workspaceRole: input.role,
        membershipExpiresAt,
        tokenHash,
        expiresAt: new Date(Date.now() + ctx.config.invitationTtlMs),
        invitedById: ctx.viewer.id,
      },
    });
    await mailInvitation(ctx, tx, created, token);
    await audit(tx, {
      accountId: ws.accountId,
      actorId: ctx.viewer.id,
      action: 'invitation.create',
      resourceType: 'Workspace',
      resourceId: ws.id,
      data: {
        invitationId: created.id,
        email,
        role: input.role,
        ...(membershipExpiresAt ? { membershipExpiresAt: membershipExpiresAt.toISOString() } : {}),
      },
    });
    return created;
  });
  await ctx.mail.flush();
  return invitation;
}

async function resend(
  ctx: Ctx,
  invitation: Invitation,
  role?: WorkspaceRole,
  membershipExpiresAt?: Date | null,
): Promise<Invitation> {
  await checkRate(ctx);
  const { token, tokenHash } = newInvitationToken();
  const updated = await ctx.db.$transaction(async (tx) => {
    const next = await tx.invitation.update({
      where: { id: invitation.id },
      data: {
        tokenHash,
        sentCount: { increment: 1 },
        expiresAt: new Date(Date.now() + ctx.config.invitationTtlMs),
        ...(role ? { workspaceRole: role, membershipExpiresAt: membershipExpiresAt ?? null } : {}),
      },
    });
    await mailInvitation(ctx, tx, next, token);
    await auditInvitation(tx, invitation, ctx.viewer.id, 'invitation.resend');
    return next;
  });
  await ctx.mail.flush();
  return updated;
}

/** Audits a change to an invitation, on the workspace or list it opens. */
function auditInvitation(tx: DbTx, invitation: Invitation, actorId: string, action: string) {
  return audit(tx, {
    accountId: invitation.accountId,
    actorId,
    action,
    resourceType: invitation.workspaceId ? 'Workspace' : 'List',
    resourceId: invitation.workspaceId ?? invitation.listId ?? invitation.id,
    data: { invitationId: invitation.id, email: invitation.email },
  });
}

/** Who may manage an invitation: the inviter, or whoever manages its workspace or list. */
async function manageable(ctx: Ctx, invitationId: string): Promise<Invitation> {
  const invitation = await ctx.db.invitation.findUnique({ where: { id: invitationId } });
  if (!invitation) throw new NotFoundError('The invitation');
  if (invitation.invitedById === ctx.viewer.id) return invitation;
  const decision = invitation.workspaceId
    ? await ctx.access.decideWorkspace(invitation.workspaceId, 'workspace:manage')
    : await ctx.access.decideAccount(invitation.accountId, 'account:manage');
  enforce(decision, 'The invitation', false);
  return invitation;
}

/** Sends a pending invitation again with a fresh token (the old link stops working) and expiry. */
export async function resendInvitation(ctx: Ctx, input: { invitationId: string }): Promise<Invitation> {
  const invitation = await manageable(ctx, input.invitationId);
  if (invitation.status !== 'PENDING')
    throw new InvitationError(`The invitation was ${invitation.status.toLowerCase()}`);
  return resend(ctx, invitation);
}

/** Revokes a pending invitation; its link stops working. */
export async function revokeInvitation(ctx: Ctx, input: { invitationId: string }): Promise<Invitation> {
  const invitation = await manageable(ctx, input.invitationId);
  if (invitation.status !== 'PENDING')
    throw new InvitationError(`The invitation was ${invitation.status.toLowerCase()}`);
  return ctx.db.$transaction(async (tx) => {
    const revoked = await tx.invitation.update({
      where: { id: invitation.id },
      data: { status: 'REVOKED', decidedAt: new Date() },
    });
    await auditInvitation(tx, invitation, ctx.viewer.id, 'invitation.revoke');
    return revoked;
  });
}

/** A pending, unexpired invitation by its token, or null. Tokens are looked up by hash. */
export async function findOpenInvitation(
  ctx: Pick<Context, 'db' | 'limits' | 'viewer' | 'client'>,
  token: string,
): Promise<Invitation | null> {
  return lookUpSecret(ctx.limits, callerOf(ctx), async () => {
    const invitation = await ctx.db.invitation.findUnique({ where: { tokenHash: hashInvitationToken(token) } });
    if (invitation?.status !== 'PENDING' || invitation.expiresAt.getTime() <= Date.now()) return null;
    return invitation;
  });
}

async function openFor(ctx: Ctx, token: string): Promise<Invitation> {
  const invitation = await findOpenInvitation(ctx, token);
  if (!invitation) throw new InvitationError('The invitation is invalid, used, revoked or expired');
  if (invitation.email !== normalizeEmail(ctx.viewer.email)) {
    throw new InvitationError('The invitation was sent to another email address');
  }
  return invitation;
}

/**
 * Whether the inviter (`access`'s viewer) may bring the holder of `email` into the account as a
 * MEMBER, as a workspace invitation does: the account's `memberInviters` and `memberDomains`.
 */
async function bringIn(ctx: Pick<Context, 'db'>, access: Access, accountId: string, email: string) {
  const account = await access.account(accountId);
  if (!account) return null;
  const invitee = await ctx.db.accountMember.findFirst({
    where: { accountId, user: { email } },
    select: { role: true },
  });
  return decideBringIn({ account, email, current: invitee?.role ?? null, as: 'MEMBER' });
}

/**
 * Accepts an invitation sent to the viewer's email. A workspace invitation adds them to the
 * account (as MEMBER if new) and the workspace; a list invitation makes them an account GUEST
 * (if new) holding that share. Single use.
 */
export async function acceptInvitation(ctx: Ctx, input: { token: string }): Promise<Invitation> {
  const invitation = await openFor(ctx, input.token);
  const userId = ctx.viewer.id;
  if (invitation.kind === 'WORKSPACE') {
    // Decided again as things stand now: an inviter who left the account, or a stricter policy
    // since the invitation was sent, brings nobody in.
    const inviter = invitation.invitedById
      ? await ctx.db.user.findUnique({ where: { id: invitation.invitedById }, select: { id: true, email: true } })
      : null;
    const decision =
      inviter && (await bringIn(ctx, new Access(ctx.db, inviter), invitation.accountId, invitation.email));
    if (!decision?.allowed) {
      const why = decision?.reasons.findLast((r) => r.effect === 'DENY')?.detail ?? 'the inviter left the account';
      throw new InvitationError(`The invitation no longer brings anyone in: ${why}`);
    }
  }
  const accepted = await ctx.db.$transaction(async (tx) => {
    const claimed = await tx.invitation.updateMany({
      where: { id: invitation.id, status: 'PENDING' },
      data: { status: 'ACCEPTED', acceptedById: userId, decidedAt: new Date() },
    });
    if (claimed.count !== 1) throw new InvitationError('The invitation was used meanwhile');
    const accountKey = { accountId_userId: { accountId: invitation.accountId, userId } };
    const inAccount = await tx.accountMember.findUnique({ where: accountKey });
    if (invitation.kind === 'WORKSPACE' && invitation.workspaceId) {
      if (!inAccount)
        await tx.accountMember.create({ data: { accountId: invitation.accountId, userId, role: 'MEMBER' } });
      else if (inAccount.role === 'GUEST')
        await tx.accountMember.update({ where: accountKey, data: { role: 'MEMBER' } });
      const role = invitation.workspaceRole ?? 'MEMBER';
      // A membership that ended before it was accepted is refused (openFor's checks come first).
      if (invitation.membershipExpiresAt && invitation.membershipExpiresAt.getTime() <= Date.now())
        throw new InvitationError('The membership it offered has already ended');
      await tx.workspaceMember.upsert({
        where: { workspaceId_userId: { workspaceId: invitation.workspaceId, userId } },
        create: { workspaceId: invitation.workspaceId, userId, role, expiresAt: invitation.membershipExpiresAt },
        update: role === 'OWNER' ? { role, expiresAt: null } : {},
      });
    } else if (invitation.listId) {
      if (!inAccount)
        await tx.accountMember.create({ data: { accountId: invitation.accountId, userId, role: 'GUEST' } });
      await claimEmailShare(tx, invitation.listId, invitation.email, userId);
    }
    await auditInvitation(tx, invitation, userId, 'invitation.accept');
    return tx.invitation.findUniqueOrThrow({ where: { id: invitation.id } });
  });
  ctx.access.clear();
  if (invitation.kind === 'WORKSPACE') noteExpiry(ctx.db, invitation.membershipExpiresAt);
  return accepted;
}

/** Turns the share held by an email into the user's share, keeping the higher role if they had one. */
async function claimEmailShare(tx: DbTx, listId: string, email: string, userId: string) {
  const byEmail = await tx.share.findUnique({ where: { listId_email: { listId, email } } });
  if (!byEmail) return;
  const byUser = await tx.share.findUnique({ where: { listId_userId: { listId, userId } } });
  if (!byUser) {
    await tx.share.update({ where: { id: byEmail.id }, data: { email: null, userId } });
    return;
  }
  if (!atLeast(byUser.role, byEmail.role))
    await tx.share.update({ where: { id: byUser.id }, data: { role: byEmail.role } });
  await tx.share.delete({ where: { id: byEmail.id } });
}

/** Declines an invitation sent to the viewer's email. */
export async function declineInvitation(ctx: Ctx, input: { token: string }): Promise<Invitation> {
  const invitation = await openFor(ctx, input.token);
  return ctx.db.$transaction(async (tx) => {
    const declined = await tx.invitation.update({
      where: { id: invitation.id },
      data: { status: 'DECLINED', acceptedById: null, decidedAt: new Date() },
    });
    await auditInvitation(tx, invitation, ctx.viewer.id, 'invitation.decline');
    return declined;
  });
}
