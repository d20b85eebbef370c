import { enforce } from '../../access/enforce.ts';
import { decideGroup } from '../../access/rules.ts';
import type { Context, Viewer } from '../../context.ts';
import type { DbTx } from '../../db/client.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import type { Group, Right } from '../../generated/prisma/client.ts';
import { audit } from '../audit/service.ts';
import { recordListEvents } from '../list/event-log.ts';
import { publishListEvents } from '../list/service.ts';

type Ctx = Context & { viewer: Viewer };

/**
 * Runs an account-level change (groups, rights) in one transaction with its audit row. With
 * `accessChanged`, an ACCESS_CHANGED event for those people is recorded on each of those lists in
 * the same transaction and published after commit: their open streams re-decide at once.
 */
async function accountChange<T>(
  ctx: Ctx,
  accountId: string,
  action: string,
  resource: { type: string; id: string | ((value: T) => string) },
  data: Record<string, unknown>,
  work: (tx: DbTx) => Promise<T>,
  accessChanged?: { listIds: readonly string[]; userIds: string[] },
): Promise<T> {
  const [result, events] = await ctx.db.$transaction(async (tx) => {
    const value = await work(tx);
    await audit(tx, {
      accountId,
      actorId: ctx.viewer.id,
      action,
      resourceType: resource.type,
      resourceId: typeof resource.id === 'function' ? resource.id(value) : resource.id,
      data,
    });
    const recorded = accessChanged
      ? await recordListEvents(tx, accessChanged.listIds, { kind: 'ACCESS_CHANGED', userIds: accessChanged.userIds })
      : [];
    return [value, recorded] as const;
  });
  ctx.access.clear();
  publishListEvents(ctx, events);
  return result;
}

/**
 * Asks whether the viewer may manage the account's groups and rights: NOT_FOUND for whoever may
 * not even see them (guests, outsiders), as for an id that names nothing; FORBIDDEN otherwise.
 */
async function requireManage(ctx: Ctx, accountId: string, what: string): Promise<void> {
  const facts = await ctx.access.account(accountId);
  if (!facts) throw new NotFoundError(what);
  enforce(decideGroup(facts, 'group:manage'), what, decideGroup(facts, 'group:see').allowed);
}

/** The lists a group or right carries shares on. */
async function sharedLists(ctx: Ctx, where: { groupId: string } | { rightId: string }): Promise<string[]> {
  const shares = await ctx.db.share.findMany({ where, select: { listId: true } });
  return shares.map((s) => s.listId);
}

async function loadGroup(ctx: Ctx, groupId: string): Promise<Group> {
  const group = await ctx.db.group.findUnique({ where: { id: groupId } });
  if (!group) throw new NotFoundError('The group');
  await requireManage(ctx, group.accountId, 'The group');
  return group;
}

async function loadRight(ctx: Ctx, rightId: string): Promise<Right> {
  const right = await ctx.db.right.findUnique({ where: { id: rightId } });
  if (!right) throw new NotFoundError('The right');
  await requireManage(ctx, right.accountId, 'The right');
  return right;
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
  await requireManage(ctx, input.accountId, 'The account');
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

/**
 * Adds a person of the account to a group (admins only). Membership is direct: subgroups inherit
 * nothing. The lists the group carries shares on hear that the person's access changed.
 */
export async function addGroupMember(ctx: Ctx, input: { groupId: string; userId: string }): Promise<Group> {
  const group = await loadGroup(ctx, input.groupId);
  await requireAccountMember(ctx, group.accountId, input.userId);
  const listIds = await sharedLists(ctx, { groupId: group.id });
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
    { listIds, userIds: [input.userId] },
  );
  return group;
}

/**
 * Takes a person out of a group (admins only): the shares of the group stop reaching them, and
 * their open streams on those lists re-decide at once. Idempotent: a person of the account who is
 * not in the group changes nothing.
 */
export async function removeGroupMember(ctx: Ctx, input: { groupId: string; userId: string }): Promise<Group> {
  const group = await loadGroup(ctx, input.groupId);
  await requireAccountMember(ctx, group.accountId, input.userId);
  const where = { groupId_userId: { groupId: group.id, userId: input.userId } };
  if (!(await ctx.db.groupMember.findUnique({ where }))) return group;
  const listIds = await sharedLists(ctx, { groupId: group.id });
  await accountChange(
    ctx,
    group.accountId,
    'group.remove-member',
    { type: 'Group', id: group.id },
    { userId: input.userId, lists: listIds.length },
    (tx) => tx.groupMember.deleteMany({ where: { groupId: group.id, userId: input.userId } }),
    { listIds, userIds: [input.userId] },
  );
  return group;
}

/**
 * Deletes a group with its memberships and every share it carries (admins only); its subgroups
 * stay, without a parent. The lists it was shared on re-decide the access of its members.
 */
export async function deleteGroup(ctx: Ctx, input: { groupId: string }): Promise<string> {
  const group = await loadGroup(ctx, input.groupId);
  const [members, listIds] = await Promise.all([
    ctx.db.groupMember.findMany({ where: { groupId: group.id }, select: { userId: true } }),
    sharedLists(ctx, { groupId: group.id }),
  ]);
  const userIds = members.map((m) => m.userId);
  await accountChange(
    ctx,
    group.accountId,
    'group.delete',
    { type: 'Group', id: group.id },
    { name: group.name, members: userIds, lists: listIds },
    (tx) => tx.group.delete({ where: { id: group.id } }),
    { listIds, userIds: userIds },
  );
  return group.id;
}

/** Creates a right of the account: a capability people hold, to share lists with (admins only). */
export async function createRight(ctx: Ctx, input: { accountId: string; name: string }): Promise<Right> {
  await requireManage(ctx, input.accountId, 'The account');
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

/** Grants a right to a person of the account (admins only); the lists shared with the right hear it. */
export async function grantRight(ctx: Ctx, input: { rightId: string; userId: string }): Promise<Right> {
  const right = await loadRight(ctx, input.rightId);
  await requireAccountMember(ctx, right.accountId, input.userId);
  const listIds = await sharedLists(ctx, { rightId: right.id });
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
    { listIds, userIds: [input.userId] },
  );
  return right;
}

/**
 * Takes a right back from a person (admins only): the lists shared with the right stop reaching
 * them, at once on their open streams. Idempotent: a person of the account who does not hold it
 * changes nothing.
 */
export async function revokeRight(ctx: Ctx, input: { rightId: string; userId: string }): Promise<Right> {
  const right = await loadRight(ctx, input.rightId);
  await requireAccountMember(ctx, right.accountId, input.userId);
  const where = { rightId_userId: { rightId: right.id, userId: input.userId } };
  if (!(await ctx.db.rightGrant.findUnique({ where }))) return right;
  const listIds = await sharedLists(ctx, { rightId: right.id });
  await accountChange(
    ctx,
    right.accountId,
    'right.revoke',
    { type: 'Right', id: right.id },
    { userId: input.userId, lists: listIds.length },
    (tx) => tx.rightGrant.deleteMany({ where: { rightId: right.id, userId: input.userId } }),
    { listIds, userIds: [input.userId] },
  );
  return right;
}

/**
 * Deletes a right with its grants and every share made to it (admins only); the lists it was
 * shared on re-decide the access of its holders.
 */
export async function deleteRight(ctx: Ctx, input: { rightId: string }): Promise<string> {
  const right = await loadRight(ctx, input.rightId);
  const [holders, listIds] = await Promise.all([
    ctx.db.rightGrant.findMany({ where: { rightId: right.id }, select: { userId: true } }),
    sharedLists(ctx, { rightId: right.id }),
  ]);
  const userIds = holders.map((h) => h.userId);
  await accountChange(
    ctx,
    right.accountId,
    'right.delete',
    { type: 'Right', id: right.id },
    { name: right.name, holders: userIds, lists: listIds },
    (tx) => tx.right.delete({ where: { id: right.id } }),
    { listIds, userIds: userIds },
  );
  return right.id;
}
