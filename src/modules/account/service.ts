import { enforce } from '../../access/enforce.ts';
import { readableListsWhere } from '../../access/load.ts';
import { canInherit, decideAccount, decideBringIn, leavesNoAdmin } from '../../access/rules.ts';
import type { Context, Viewer } from '../../context.ts';
import type { DbTx } from '../../db/client.ts';
import { LastOwnerError, NotFoundError, ValidationError } from '../../errors.ts';
import type {
  Account,
  AccountRole,
  MemberInviters,
  WorkspaceAction,
  WorkspaceCreators,
} from '../../generated/prisma/client.ts';
import type { ListEventPayload } from '../../realtime/pubsub.ts';
import { type AnonymizationStep, carryOutDeparture, planDeparture } from '../anonymize/service.ts';
import { audit } from '../audit/service.ts';
import { recordListEvents } from '../list/event-log.ts';
import { publishListEvents } from '../list/service.ts';
import { ensureUser, normalizeEmail } from '../user/service.ts';

type Ctx = Context & { viewer: Viewer };

/** Creates an account; its creator is its first admin. */
export async function createAccount(ctx: Ctx, input: { name: string }): Promise<Account> {
  return ctx.db.$transaction(async (tx) => {
    const account = await tx.account.create({
      data: { name: input.name, members: { create: { userId: ctx.viewer.id, role: 'ADMIN' } } },
    });
    await audit(tx, {
      accountId: account.id,
      actorId: ctx.viewer.id,
      action: 'account.create',
      resourceType: 'Account',
      resourceId: account.id,
      data: { name: input.name },
    });
    return account;
  });
}

/**
 * The lists of the account that the people can read now: whose streams must re-decide when their
 * standing in the account changes (taken before the change, and again after it).
 */
export async function listsReachedBy(db: DbTx, accountId: string, userIds: string[]): Promise<string[]> {
  const lists = await db.list.findMany({
    where: { workspace: { accountId }, OR: userIds.map((id) => readableListsWhere(id)) },
    select: { id: true },
  });
  return lists.map((l) => l.id);
}

/**
 * Records, inside the change's transaction, that access changed for these people on the lists
 * they reached before the change and reach after it (read in the transaction); publish what it
 * returns after commit, and their live streams re-decide.
 */
async function recordAccessChanged(
  tx: DbTx,
  accountId: string,
  before: readonly string[],
  userIds: string[],
): Promise<ListEventPayload[]> {
  const after = await listsReachedBy(tx, accountId, userIds);
  return recordListEvents(tx, [...before, ...after], { kind: 'ACCESS_CHANGED', userIds });
}

/**
 * Adds a person (by email, provisioned if new) to an account with a role, or changes their role.
 * Bringing someone in follows the account's `memberInviters` and `memberDomains` (admins always
 * may); changing the role of someone already in is for admins, and keeps the last admin.
 */
export async function addAccountMember(
  ctx: Ctx,
  input: { accountId: string; email: string; role: AccountRole },
): Promise<{ accountId: string; userId: string }> {
  const account = await ctx.access.account(input.accountId);
  const email = normalizeEmail(input.email);
  const existing = await ctx.db.user.findUnique({ where: { email }, select: { id: true } });
  const before = existing
    ? await ctx.db.accountMember.findUnique({
        where: { accountId_userId: { accountId: input.accountId, userId: existing.id } },
      })
    : null;
  if (before && before.role !== 'GUEST') {
    if (before.role === input.role) {
      enforce(account && decideAccount(account, 'account:read'), 'The account');
      return { accountId: before.accountId, userId: before.userId };
    }
    return setAccountMemberRole(ctx, { accountId: input.accountId, userId: before.userId, role: input.role });
  }
  enforce(account && decideBringIn({ account, email, current: before?.role ?? null, as: input.role }), 'The account');
  const reached = before ? await listsReachedBy(ctx.db, input.accountId, [before.userId]) : [];
  const [key, events] = await ctx.db.$transaction(async (tx) => {
    const user = await ensureUser(tx, email);
    const member = await tx.accountMember.upsert({
      where: { accountId_userId: { accountId: input.accountId, userId: user.id } },
      create: { accountId: input.accountId, userId: user.id, role: input.role },
      update: { role: input.role },
    });
    await audit(tx, {
      accountId: input.accountId,
      actorId: ctx.viewer.id,
      action: before ? 'account.member.role' : 'account.member.add',
      resourceType: 'Account',
      resourceId: input.accountId,
      data: { userId: user.id, role: input.role, ...(before ? { previousRole: before.role } : {}) },
    });
    const changed = before ? await recordAccessChanged(tx, input.accountId, reached, [user.id]) : [];
    return [{ accountId: member.accountId, userId: member.userId }, changed] as const;
  });
  ctx.access.clear();
  publishListEvents(ctx, events);
  return key;
}

/**
 * How many admins the account has, their rows locked: two admins demoting or removing each other
 * at once cannot both succeed.
 */
async function lockAdmins(db: DbTx, accountId: string): Promise<number> {
  const admins = await db.$queryRaw<{ userId: string }[]>`
    SELECT "userId" FROM "AccountMember" WHERE "accountId" = ${accountId} AND "role" = 'ADMIN' FOR UPDATE`;
  return admins.length;
}

/**
 * Changes the account role of someone in the account (admins only); the last admin stays. Their
 * open streams on the account's lists re-decide at once.
 */
export async function setAccountMemberRole(
  ctx: Ctx,
  input: { accountId: string; userId: string; role: AccountRole },
): Promise<{ accountId: string; userId: string }> {
  enforce(await ctx.access.decideAccount(input.accountId, 'account:manage'), 'The account');
  const key = { accountId: input.accountId, userId: input.userId };
  const found = await ctx.db.accountMember.findUnique({ where: { accountId_userId: key } });
  if (!found) throw new NotFoundError('The member');
  if (found.role === input.role) return key;
  const reached = await listsReachedBy(ctx.db, input.accountId, [input.userId]);
  const events = await ctx.db.$transaction(async (tx) => {
    const admins = await lockAdmins(tx, input.accountId);
    const before = await tx.accountMember.findUnique({ where: { accountId_userId: key } });
    if (!before) throw new NotFoundError('The member');
    if (before.role === input.role) return [];
    if (leavesNoAdmin(admins, before.role, input.role))
      throw new LastOwnerError('An account must keep at least one admin');
    await tx.accountMember.update({ where: { accountId_userId: key }, data: { role: input.role } });
    await audit(tx, {
      accountId: input.accountId,
      actorId: ctx.viewer.id,
      action: 'account.member.role',
      resourceType: 'Account',
      resourceId: input.accountId,
      data: { userId: input.userId, role: input.role, previousRole: before.role },
    });
    return recordAccessChanged(tx, input.accountId, reached, [input.userId]);
  });
  ctx.access.clear();
  publishListEvents(ctx, events);
  return key;
}

/** The policy an admin sets; omitted parts stay as they are. */
export interface AccountPolicyInput {
  accountId: string;
  workspaceCreators?: WorkspaceCreators | null;
  externalSharing?: boolean | null;
  memberInviters?: MemberInviters | null;
  /** Replaces the member domains (lower case). */
  memberDomains?: string[] | null;
  /** For each listed action, exactly which account roles may ever do it. */
  caps?: { action: WorkspaceAction; roles: AccountRole[] }[] | null;
}

/** Sets the account policy (admins only): the caps every workspace of the account lives under. */
export async function setAccountPolicy(ctx: Ctx, input: AccountPolicyInput): Promise<Account> {
  enforce(await ctx.access.decideAccount(input.accountId, 'account:manage'), 'The account');
  const actions = (input.caps ?? []).map((c) => c.action);
  if (new Set(actions).size !== actions.length) {
    throw new ValidationError('Each action may appear once in caps', ['input', 'caps']);
  }
  const policy = {
    ...(input.workspaceCreators ? { workspaceCreators: input.workspaceCreators } : {}),
    ...(typeof input.externalSharing === 'boolean' ? { externalSharing: input.externalSharing } : {}),
    ...(input.memberInviters ? { memberInviters: input.memberInviters } : {}),
    ...(input.memberDomains ? { memberDomains: [...new Set(input.memberDomains)].sort() } : {}),
  };
  const account = await ctx.db.$transaction(async (tx) => {
    const updated = await tx.account.update({ where: { id: input.accountId }, data: policy });
    for (const cap of input.caps ?? []) {
      for (const role of ['ADMIN', 'MEMBER', 'GUEST'] as const) {
        const allowed = cap.roles.includes(role);
        await tx.accountActionCap.upsert({
          where: { accountId_action_role: { accountId: input.accountId, action: cap.action, role } },
          create: { accountId: input.accountId, action: cap.action, role, allowed },
          update: { allowed },
        });
      }
    }
    await audit(tx, {
      accountId: input.accountId,
      actorId: ctx.viewer.id,
      action: 'account.policy',
      resourceType: 'Account',
      resourceId: input.accountId,
      data: { ...policy, ...(input.caps ? { caps: input.caps } : {}) },
    });
    return updated;
  });
  ctx.access.clear();
  return account;
}

/** What removing a person from an account did, or would do in a dry run. */
export interface Removal {
  userId: string;
  steps: AnonymizationStep[];
}

/**
 * Takes a person out of an account (admins only): every workspace membership, list share (their
 * address's too), group membership, right and pending invitation or request of theirs in the
 * account ends; the lists they created and the workspaces they alone own pass to `transferTo` (by
 * default the admin). The last admin stays. Idempotent; `dryRun` returns exactly the steps the
 * real run takes. Their open streams on the account's lists end, on every instance.
 */
export async function removeAccountMember(
  ctx: Ctx,
  input: { accountId: string; userId: string; transferTo?: string | null; dryRun: boolean },
): Promise<Removal> {
  enforce(await ctx.access.decideAccount(input.accountId, 'account:manage'), 'The account');
  const target = await ctx.db.user.findUnique({ where: { id: input.userId } });
  if (!target) throw new NotFoundError('The user');
  const heirId = input.transferTo ?? ctx.viewer.id;
  const scope = { accountId: input.accountId, heirId, erase: false };
  const check = async (db: DbTx) => {
    const heir = await db.accountMember.findUnique({
      where: { accountId_userId: { accountId: input.accountId, userId: heirId } },
    });
    if (!canInherit(target.id, { userId: heirId, role: heir?.role }))
      throw new ValidationError('What they own passes to another admin or member of the account: give transferTo', [
        'input',
        'transferTo',
      ]);
    const admins = await lockAdmins(db, input.accountId);
    const member = await db.accountMember.findUnique({
      where: { accountId_userId: { accountId: input.accountId, userId: target.id } },
    });
    if (leavesNoAdmin(admins, member?.role, null)) throw new LastOwnerError('An account must keep at least one admin');
  };
  if (input.dryRun) {
    await check(ctx.db);
    return { userId: target.id, steps: await planDeparture(ctx.db, target, scope) };
  }
  const reached = await listsReachedBy(ctx.db, input.accountId, [target.id]);
  const [steps, events] = await ctx.db.$transaction(async (tx) => {
    // Serialises concurrent runs on one person: the second then plans against the first's result.
    await tx.$queryRaw`SELECT id FROM "User" WHERE id = ${target.id} FOR UPDATE`;
    await check(tx);
    const plan = await carryOutDeparture(tx, target, scope, {
      actorId: ctx.viewer.id,
      action: 'account.remove-member',
    });
    if (plan.length) {
      await audit(tx, {
        accountId: input.accountId,
        actorId: ctx.viewer.id,
        action: 'account.member.remove',
        resourceType: 'Account',
        resourceId: input.accountId,
        data: { userId: target.id, transferredTo: heirId, steps: plan.length },
      });
    }
    const changed = plan.length ? await recordAccessChanged(tx, input.accountId, reached, [target.id]) : [];
    return [plan, changed] as const;
  });
  ctx.access.clear();
  publishListEvents(ctx, events);
  return { userId: target.id, steps };
}
