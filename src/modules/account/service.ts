import type { Context, Viewer } from '../../context.ts';
import { ForbiddenError, NotFoundError } from '../../errors.ts';
import type { Account, AccountRole } from '../../generated/prisma/client.ts';
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
  const decision = await ctx.access.decideAccount(input.accountId, 'account:manage');
  if (!decision) throw new NotFoundError('The account');
  if (!decision.allowed) {
    if (decision.role === null) throw new NotFoundError('The account');
    throw new ForbiddenError('Only account admins add members');
  }
  return ctx.db.$transaction(async (tx) => {
    const user = await ensureUser(tx, input.email);
    const before = await tx.accountMember.findUnique({
      where: { accountId_userId: { accountId: input.accountId, userId: user.id } },
    });
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
