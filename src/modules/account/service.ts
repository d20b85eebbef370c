import { enforce } from '../../access/enforce.ts';
import { leavesNoAdmin } from '../../access/rules.ts';
import type { Context, Viewer } from '../../context.ts';
import { LastOwnerError, ValidationError } from '../../errors.ts';
import type { Account, AccountRole, WorkspaceAction, WorkspaceCreators } from '../../generated/prisma/client.ts';
import { audit } from '../audit/service.ts';
import { ensureUser } from '../user/service.ts';

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

/** Adds a person (by email, provisioned if new) to an account with a role, or changes their role. */
export async function addAccountMember(
  ctx: Ctx,
  input: { accountId: string; email: string; role: AccountRole },
): Promise<{ accountId: string; userId: string }> {
  enforce(await ctx.access.decideAccount(input.accountId, 'account:manage'), 'The account');
  return ctx.db.$transaction(async (tx) => {
    const user = await ensureUser(tx, input.email);
    const before = await tx.accountMember.findUnique({
      where: { accountId_userId: { accountId: input.accountId, userId: user.id } },
    });
    const admins = await tx.accountMember.count({ where: { accountId: input.accountId, role: 'ADMIN' } });
    if (leavesNoAdmin(admins, before?.role, input.role)) {
      throw new LastOwnerError('An account must keep at least one admin');
    }
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
    return { accountId: member.accountId, userId: member.userId };
  });
}

/** The policy an admin sets; omitted parts stay as they are. */
export interface AccountPolicyInput {
  accountId: string;
  workspaceCreators?: WorkspaceCreators | null;
  externalSharing?: boolean | null;
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
  const account = await ctx.db.$transaction(async (tx) => {
    const updated = await tx.account.update({
      where: { id: input.accountId },
      data: {
        ...(input.workspaceCreators ? { workspaceCreators: input.workspaceCreators } : {}),
        ...(typeof input.externalSharing === 'boolean' ? { externalSharing: input.externalSharing } : {}),
      },
    });
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
      data: {
        ...(input.workspaceCreators ? { workspaceCreators: input.workspaceCreators } : {}),
        ...(typeof input.externalSharing === 'boolean' ? { externalSharing: input.externalSharing } : {}),
        ...(input.caps ? { caps: input.caps } : {}),
      },
    });
    return updated;
  });
  ctx.access.clear();
  return account;
}
