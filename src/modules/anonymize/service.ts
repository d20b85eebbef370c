import { createHash } from 'node:crypto';
import { enforce } from '../../access/enforce.ts';
import { loadAnonymizeFacts, readableListsWhere, seesUser } from '../../access/load.ts';
import { decideAnonymize } from '../../access/rules.ts';
import type { Context, Viewer } from '../../context.ts';
import type { DbTx } from '../../db/client.ts';
import { NotFoundError } from '../../errors.ts';
import type { Prisma, User } from '../../generated/prisma/client.ts';
import { audit } from '../audit/service.ts';
import { recordListEvents } from '../list/event-log.ts';
import { publishListEvents } from '../list/service.ts';
import { normalizeEmail } from '../user/service.ts';

type Ctx = Context & { viewer: Viewer };

export const ANONYMIZATION_STEP_KINDS = [
  'REMOVE_SHARE',
  'REMOVE_DUPLICATE_SHARE',
  'TRANSFER_LIST',
  'TRANSFER_WORKSPACE',
  'REMOVE_WORKSPACE_MEMBERSHIP',
  'REMOVE_GROUP_MEMBERSHIP',
  'REMOVE_RIGHT_GRANT',
  'REMOVE_JOIN_REQUEST',
  'REMOVE_INVITATION',
  'REDACT_AUDIT_EVENT',
  'REMOVE_ACCOUNT_MEMBERSHIP',
  'SCRUB_PERSONAL_DATA',
] as const;

export type AnonymizationStepKind = (typeof ANONYMIZATION_STEP_KINDS)[number];

/** One change anonymisation makes; the plan a dry run returns is exactly what the real run does. */
export interface AnonymizationStep {
  kind: AnonymizationStepKind;
  /** The row changed: a Share, List, Workspace, Group, Right, JoinRequest, Invitation, AuditEvent, Account or User. */
  resourceType: string;
  resourceId: string;
  /** The account the resource belongs to (null when it belongs to none). */
  accountId: string | null;
  /** The role removed or passed on, e.g. `EDITOR`, `OWNER`. */
  role: string | null;
}

export const ANONYMIZED_NAME = 'Anonymised user';

/**
 * The address an anonymised user is left with. It keeps a one-way hash of the old address so that
 * tokens issued to that address before anonymisation are still refused (src/auth/viewer.ts).
 */
export function anonymizedEmail(email: string): string {
  const hash = createHash('sha256').update(normalizeEmail(email)).digest('hex').slice(0, 40);
  return `anonymized-${hash}@anonymized.invalid`;
}

/**
 * Whom a departure concerns and how far it goes: anonymisation takes a person out of every account
 * and erases them; removal from an account ends only what they hold in that account.
 */
export interface DepartureScope {
  /** Only what belongs to this account; null: everything, in every account (anonymisation). */
  accountId: string | null;
  /** Who receives the lists they created and the workspaces they own. */
  heirId: string;
  /** Anonymisation: every workspace they own passes on, the audit trail is redacted, personal data scrubbed. */
  erase: boolean;
}

/** Everything anonymising `user` changes, in execution order; empty once it is done (idempotence). */
export function planAnonymization(db: DbTx, user: User, adminId: string): Promise<AnonymizationStep[]> {
  return planDeparture(db, user, { accountId: null, heirId: adminId, erase: true });
}

/**
 * Everything a departure changes, in execution order; empty once it is done (idempotence). A
 * removal passes on only the workspaces the person alone owns; anonymisation every one they own.
 */
export async function planDeparture(db: DbTx, user: User, scope: DepartureScope): Promise<AnonymizationStep[]> {
  const userId = user.id;
  const { accountId, heirId } = scope;
  // Once anonymised, the address is the hashed one: nothing else is keyed on it, and matching
  // the redacted audit rows again would make a second run do something.
  const email = user.anonymizedAt ? null : user.email;
  const inAccount = accountId ? { accountId } : {};
  const inWorkspaceOf = accountId ? { workspace: { accountId } } : {};
  const accountOfList = { workspace: { select: { accountId: true } } } as const;
  const [shares, lists, workspaces, groups, rights, joinRequests, invitations, audits, accounts] = await Promise.all([
    db.share.findMany({
      where: { ...(email ? { OR: [{ userId }, { email }] } : { userId }), list: inWorkspaceOf },
      select: { id: true, role: true, list: { select: accountOfList } },
      orderBy: { id: 'asc' },
    }),
    db.list.findMany({
      where: { creatorId: userId, ...inWorkspaceOf },
      select: { id: true, workspace: { select: { accountId: true } }, shares: { where: { userId: heirId } } },
      orderBy: { id: 'asc' },
    }),
    db.workspaceMember.findMany({
      where: { userId, ...inWorkspaceOf },
      select: {
        role: true,
        workspace: {
          select: {
            id: true,
            accountId: true,
            members: { where: { role: 'OWNER' }, select: { userId: true } },
          },
        },
      },
      orderBy: { workspaceId: 'asc' },
    }),
    db.groupMember.findMany({
      where: { userId, group: inAccount },
      select: { group: { select: { id: true, accountId: true } } },
      orderBy: { groupId: 'asc' },
    }),
    db.rightGrant.findMany({
      where: { userId, right: inAccount },
      select: { right: { select: { id: true, accountId: true } } },
      orderBy: { rightId: 'asc' },
    }),
    db.joinRequest.findMany({
      where: { userId, ...inWorkspaceOf },
      select: { id: true, workspace: { select: { accountId: true } } },
      orderBy: { id: 'asc' },
    }),
    email
      ? db.invitation.findMany({
          where: { email, ...inAccount, ...(scope.erase ? {} : { status: 'PENDING' }) },
          select: { id: true, accountId: true },
          orderBy: { id: 'asc' },
        })
      : [],
    email && scope.erase
      ? db.auditEvent.findMany({
          where: { data: { path: ['email'], equals: email } },
          select: { id: true, accountId: true },
          orderBy: { id: 'asc' },
        })
      : [],
    db.accountMember.findMany({
      where: { userId, ...inAccount },
      select: { accountId: true, role: true },
      orderBy: { accountId: 'asc' },
    }),
  ]);
  const steps: AnonymizationStep[] = [];
  const step = (
    kind: AnonymizationStepKind,
    resourceType: string,
    resourceId: string,
    accountId: string | null,
    role: string | null = null,
  ) => steps.push({ kind, resourceType, resourceId, accountId, role });
  for (const s of shares) step('REMOVE_SHARE', 'Share', s.id, s.list.workspace.accountId, s.role);
  for (const l of lists) {
    step('TRANSFER_LIST', 'List', l.id, l.workspace.accountId, 'CREATOR');
    for (const s of l.shares) step('REMOVE_DUPLICATE_SHARE', 'Share', s.id, l.workspace.accountId, s.role);
  }
  for (const m of workspaces) {
    const owners = m.workspace.members.map((o) => o.userId);
    const passes = scope.erase || owners.every((id) => id === userId);
    if (m.role === 'OWNER' && passes && !owners.includes(heirId)) {
      step('TRANSFER_WORKSPACE', 'Workspace', m.workspace.id, m.workspace.accountId, 'OWNER');
    }
    step('REMOVE_WORKSPACE_MEMBERSHIP', 'Workspace', m.workspace.id, m.workspace.accountId, m.role);
  }
  for (const g of groups) step('REMOVE_GROUP_MEMBERSHIP', 'Group', g.group.id, g.group.accountId);
  for (const r of rights) step('REMOVE_RIGHT_GRANT', 'Right', r.right.id, r.right.accountId);
  for (const j of joinRequests) step('REMOVE_JOIN_REQUEST', 'JoinRequest', j.id, j.workspace.accountId);
  for (const i of invitations) step('REMOVE_INVITATION', 'Invitation', i.id, i.accountId);
  for (const a of audits) step('REDACT_AUDIT_EVENT', 'AuditEvent', a.id, a.accountId);
  for (const a of accounts) step('REMOVE_ACCOUNT_MEMBERSHIP', 'Account', a.accountId, a.accountId, a.role);
  if (scope.erase && !user.anonymizedAt) step('SCRUB_PERSONAL_DATA', 'User', userId, accounts[0]?.accountId ?? null);
  return steps;
}

/** Carries out one step of the plan inside the caller's transaction. */
async function apply(tx: DbTx, user: User, heirId: string, s: AnonymizationStep, now: Date): Promise<void> {
  const userId = user.id;
  switch (s.kind) {
    case 'REMOVE_SHARE':
    case 'REMOVE_DUPLICATE_SHARE':
      await tx.share.delete({ where: { id: s.resourceId } });
      return;
    case 'TRANSFER_LIST':
      await tx.list.update({ where: { id: s.resourceId }, data: { creatorId: heirId } });
      return;
    case 'TRANSFER_WORKSPACE':
      await tx.workspaceMember.upsert({
        where: { workspaceId_userId: { workspaceId: s.resourceId, userId: heirId } },
        create: { workspaceId: s.resourceId, userId: heirId, role: 'OWNER' },
        update: { role: 'OWNER' },
      });
      return;
    case 'REMOVE_WORKSPACE_MEMBERSHIP':
      await tx.workspaceMember.delete({ where: { workspaceId_userId: { workspaceId: s.resourceId, userId } } });
      return;
    case 'REMOVE_GROUP_MEMBERSHIP':
      await tx.groupMember.delete({ where: { groupId_userId: { groupId: s.resourceId, userId } } });
      return;
    case 'REMOVE_RIGHT_GRANT':
      await tx.rightGrant.delete({ where: { rightId_userId: { rightId: s.resourceId, userId } } });
      return;
    case 'REMOVE_JOIN_REQUEST':
      await tx.joinRequest.delete({ where: { id: s.resourceId } });
      return;
    case 'REMOVE_INVITATION':
      await tx.invitation.delete({ where: { id: s.resourceId } });
      return;
    case 'REDACT_AUDIT_EVENT': {
      const event = await tx.auditEvent.findUniqueOrThrow({ where: { id: s.resourceId } });
      const data = { ...(event.data as Prisma.JsonObject), email: anonymizedEmail(user.email) };
      await tx.auditEvent.update({ where: { id: event.id }, data: { data } });
      return;
    }
    case 'REMOVE_ACCOUNT_MEMBERSHIP':
      await tx.accountMember.delete({ where: { accountId_userId: { accountId: s.resourceId, userId } } });
      return;
    case 'SCRUB_PERSONAL_DATA':
      await tx.user.update({
        where: { id: userId },
        data: {
          email: anonymizedEmail(user.email),
          name: ANONYMIZED_NAME,
          avatarUrl: null,
          anonymizedAt: now,
          tokensValidAfter: now,
        },
      });
      return;
  }
}

/**
 * Plans a departure and carries out every step inside the caller's transaction, each audited as
 * `<action>.<step kind>` (with `transferredTo` on a transfer) by `actorId`. Returns the plan.
 */
export async function carryOutDeparture(
  tx: DbTx,
  user: User,
  scope: DepartureScope,
  by: { actorId: string; action: string },
): Promise<AnonymizationStep[]> {
  const plan = await planDeparture(tx, user, scope);
  const now = new Date();
  for (const s of plan) {
    await apply(tx, user, scope.heirId, s, now);
    const transfer = s.kind === 'TRANSFER_LIST' || s.kind === 'TRANSFER_WORKSPACE';
    await audit(tx, {
      accountId: s.accountId,
      actorId: by.actorId,
      action: `${by.action}.${s.kind.toLowerCase().replaceAll('_', '-')}`,
      resourceType: s.resourceType,
      resourceId: s.resourceId,
      data: {
        userId: user.id,
        ...(s.role ? { role: s.role } : {}),
        ...(transfer ? { transferredTo: scope.heirId } : {}),
      },
    });
  }
  return plan;
}

/**
 * Anonymises a person (account admins of every account they are in): personal data replaced,
 * shares and memberships removed, created lists and owned workspaces passed to the admin (whose
 * own share on such a list goes), every step audited. `dryRun` returns the plan and writes
 * nothing; a second run finds nothing left to do.
 */
export async function anonymizeUser(
  ctx: Ctx,
  input: { userId: string; dryRun: boolean },
): Promise<{ userId: string; steps: AnonymizationStep[] }> {
  const adminId = ctx.viewer.id;
  const target = await ctx.db.user.findUnique({ where: { id: input.userId } });
  if (!target) throw new NotFoundError('The user');
  // Whoever does not see the person is told what a random id gets.
  const seen = await seesUser(ctx.db, adminId, target.id);
  if (input.dryRun) {
    enforce(decideAnonymize(await loadAnonymizeFacts(ctx.db, adminId, target.id)), 'The user', seen);
    return { userId: target.id, steps: await planAnonymization(ctx.db, target, adminId) };
  }
  // Their open streams must end: every list they could read hears that their access changed.
  const reachable = await ctx.db.list.findMany({ where: readableListsWhere(target.id), select: { id: true } });
  const [steps, events] = await ctx.db.$transaction(async (tx) => {
    // Serialises concurrent runs on one user: the second then plans against the first's result.
    await tx.$queryRaw`SELECT id FROM "User" WHERE id = ${target.id} FOR UPDATE`;
    const user = await tx.user.findUniqueOrThrow({ where: { id: target.id } });
    const facts = await loadAnonymizeFacts(tx, adminId, user.id);
    enforce(decideAnonymize(facts), 'The user', seen);
    const plan = await carryOutDeparture(
      tx,
      user,
      { accountId: null, heirId: adminId, erase: true },
      {
        actorId: adminId,
        action: 'anonymize',
      },
    );
    if (plan.length) {
      for (const { accountId } of facts.accounts) {
        await audit(tx, {
          accountId,
          actorId: adminId,
          action: 'user.anonymize',
          resourceType: 'User',
          resourceId: user.id,
          data: { steps: plan.length },
        });
      }
    }
    const recorded = plan.length
      ? await recordListEvents(
          tx,
          reachable.map((l) => l.id),
          { kind: 'ACCESS_CHANGED', userIds: [user.id] },
        )
      : [];
    return [plan, recorded] as const;
  });
  ctx.access.clear();
  publishListEvents(ctx, events);
  return { userId: target.id, steps };
}
