import { enforce } from '../../access/enforce.ts';
import type { Context, Viewer } from '../../context.ts';
import type { DbTx } from '../../db/client.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import type { Group, Right } from '../../generated/prisma/client.ts';
import { audit } from '../audit/service.ts';

type Ctx = Context & { viewer: Viewer };

/** Runs an account-level change (groups, rights) in one transaction with its audit row. */
async function accountChange<T>(
  ctx: Ctx,
  accountId: string,
  action: string,
  resource: { type: string; id: string | ((value: T) => string) },
  data: Record<string, unknown>,
  work: (tx: DbTx) => Promise<T>,
): Promise<T> {
  const result = await ctx.db.$transaction(async (tx) => {
    const value = await work(tx);
    await audit(tx, {
      accountId,
      actorId: ctx.viewer.id,
      action,
      resourceType: resource.type,
      resourceId: typeof resource.id === 'function' ? resource.id(value) : resource.id,
      data,
    });
    return value;
  });
  ctx.access.clear();
  return result;
}

async function requireAccountMember(ctx: Ctx, accountId: string, userId: string) {
  const member = await ctx.db.accountMember.findUnique({ where: { accountId_userId: { accountId, userId } } });
  if (!member) throw new ValidationError('The user is not in the account', ['input', 'userId']);
}

/** Creates a group of the account, optionally inside a parent group (admins only). */
export async function createGroup(
  ctx: Ctx,
  input: { accountId: string; name: string; parentId?: string | null },
): Promise<Group> {
  enforce(await ctx.access.decideAccount(input.accountId, 'account:manage'), 'The account');
  if (input.parentId) {
    const parent = await ctx.db.group.findUnique({ where: { id: input.parentId } });
    if (!parent || parent.accountId !== input.accountId)
      throw new ValidationError('The parent group is not a group of this account', ['input', 'parentId']);
  }
  const taken = await ctx.db.group.findUnique({
    where: { accountId_name: { accountId: input.accountId, name: input.name } },
  });
  if (taken) throw new ConflictError('A group of that name exists');
  return accountChange(
    ctx,
    input.accountId,
    'group.create',
    { type: 'Group', id: (g: Group) => g.id },
    { name: input.name, parentId: input.parentId ?? null },
    (tx) =>
      tx.group.create({ data: { accountId: input.accountId, name: input.name, parentId: input.parentId ?? null } }),
  );
}

/** Adds a person of the account to a group (admins only). Membership is direct: subgroups inherit nothing. */
export async function addGroupMember(ctx: Ctx, input: { groupId: string; userId: string }): Promise<Group> {
  const group = await ctx.db.group.findUnique({ where: { id: input.groupId } });
  if (!group) throw new NotFoundError('The group');
  enforce(await ctx.access.decideAccount(group.accountId, 'account:manage'), 'The group');
  await requireAccountMember(ctx, group.accountId, input.userId);
  await accountChange(
    ctx,
    group.accountId,
    'group.add-member',
    { type: 'Group', id: group.id },
    { userId: input.userId },
    (tx) =>
      tx.groupMember.upsert({
        where: { groupId_userId: { groupId: group.id, userId: input.userId } },
        create: { groupId: group.id, userId: input.userId },
        update: {},
      }),
  );
  return group;
}

/** Creates a right of the account: a capability people hold, to share lists with (admins only). */
export async function createRight(ctx: Ctx, input: { accountId: string; name: string }): Promise<Right> {
  enforce(await ctx.access.decideAccount(input.accountId, 'account:manage'), 'The account');
  const taken = await ctx.db.right.findUnique({
    where: { accountId_name: { accountId: input.accountId, name: input.name } },
  });
  if (taken) throw new ConflictError('A right of that name exists');
  return accountChange(
    ctx,
    input.accountId,
    'right.create',
    { type: 'Right', id: (r: Right) => r.id },
    { name: input.name },
    (tx) => tx.right.create({ data: { accountId: input.accountId, name: input.name } }),
  );
}

/** Grants a right to a person of the account (admins only). */
export async function grantRight(ctx: Ctx, input: { rightId: string; userId: string }): Promise<Right> {
  const right = await ctx.db.right.findUnique({ where: { id: input.rightId } });
  if (!right) throw new NotFoundError('The right');
  enforce(await ctx.access.decideAccount(right.accountId, 'account:manage'), 'The right');
  await requireAccountMember(ctx, right.accountId, input.userId);
  await accountChange(
    ctx,
    right.accountId,
    'right.grant',
    { type: 'Right', id: right.id },
    { userId: input.userId },
    (tx) =>
      tx.rightGrant.upsert({
        where: { rightId_userId: { rightId: right.id, userId: input.userId } },
        create: { rightId: right.id, userId: input.userId },
        update: {},
      }),
  );
  return right;
}
