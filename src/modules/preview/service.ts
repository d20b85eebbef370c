import { decodeGlobalID } from '@pothos/plugin-relay';
import { Access } from '../../access/load.ts';
import { listRole, workspaceStanding } from '../../access/rules.ts';
import { unheard } from '../../cache/generations.ts';
import type { Context } from '../../context.ts';
import type { Db, DbTx } from '../../db/client.ts';

/** The mutations whose effect on access can be previewed, named as in the schema. */
export const PREVIEWABLE = [
  'setListGeneralAccess',
  'shareList',
  'updateShare',
  'removeShare',
  'updateWorkspace',
  'setWorkspacePermission',
  'setAccountPolicy',
  'removeWorkspaceMember',
  'removeAccountMember',
  'setAccountMemberRole',
  'removeGroupMember',
  'anonymizeUser',
] as const;

export type ChangeKind = (typeof PREVIEWABLE)[number];

/** One person's (or the link's) standing on one list or workspace. */
export interface Standing {
  /** The person, or null for "anyone with the link". */
  userId: string | null;
  resourceType: 'List' | 'Workspace';
  resourceId: string;
  /** The list role, or the workspace role (OWNER, MEMBER, NON_MEMBER). */
  role: string;
  /** For workspaces: FULL, LOCKED or LIST (how much of it they reach); null for lists. */
  reach: string | null;
}

/** One difference between before and after. */
export interface AccessDifference {
  userId: string | null;
  resourceType: 'List' | 'Workspace';
  resourceId: string;
  roleBefore: string | null;
  roleAfter: string | null;
  reachBefore: string | null;
  reachAfter: string | null;
}

export interface AccessChangeDiff {
  gained: AccessDifference[];
  lost: AccessDifference[];
  changed: AccessDifference[];
}

/** Thrown to end the preview's transaction: the change is always rolled back. */
class RolledBack<T> extends Error {
  constructor(readonly value: T) {
    super('preview rolled back');
  }
}

const idOf = (globalId: unknown): string | null => {
  if (typeof globalId !== 'string') return null;
  try {
    return decodeGlobalID(globalId).id;
  } catch {
    return null;
  }
};

/** The accounts whose lists and workspaces the change can touch (an empty set when its ids name nothing). */
async function accountsTouched(tx: DbTx, kind: ChangeKind, input: Record<string, unknown>): Promise<string[]> {
  const ofList = async (listId: string | null) =>
    listId
      ? [
          (await tx.list.findUnique({ where: { id: listId }, select: { workspace: { select: { accountId: true } } } }))
            ?.workspace.accountId,
        ]
      : [];
  const ofWorkspace = async (workspaceId: string | null) =>
    workspaceId
      ? [(await tx.workspace.findUnique({ where: { id: workspaceId }, select: { accountId: true } }))?.accountId]
      : [];
  let found: (string | undefined)[] = [];
  switch (kind) {
    case 'setListGeneralAccess':
    case 'shareList':
      found = await ofList(idOf(input.listId));
      break;
    case 'updateShare':
    case 'removeShare': {
      const shareId = idOf(input.shareId);
      const share = shareId ? await tx.share.findUnique({ where: { id: shareId }, select: { listId: true } }) : null;
      found = await ofList(share?.listId ?? null);
      break;
    }
    case 'updateWorkspace':
    case 'setWorkspacePermission':
    case 'removeWorkspaceMember':
      found = await ofWorkspace(idOf(input.workspaceId));
      break;
    case 'setAccountPolicy':
    case 'removeAccountMember':
    case 'setAccountMemberRole':
      found = [idOf(input.accountId) ?? undefined];
      break;
    case 'removeGroupMember': {
      const groupId = idOf(input.groupId);
      found = groupId
        ? [(await tx.group.findUnique({ where: { id: groupId }, select: { accountId: true } }))?.accountId]
        : [];
      break;
    }
    case 'anonymizeUser': {
      const userId = idOf(input.userId) ?? '';
      const [members, workspaces, shares, lists] = await Promise.all([
        tx.accountMember.findMany({ where: { userId }, select: { accountId: true } }),
        tx.workspaceMember.findMany({ where: { userId }, select: { workspace: { select: { accountId: true } } } }),
        tx.share.findMany({
          where: { userId },
          select: { list: { select: { workspace: { select: { accountId: true } } } } },
        }),
        tx.list.findMany({ where: { creatorId: userId }, select: { workspace: { select: { accountId: true } } } }),
      ]);
      found = [
        ...members.map((m) => m.accountId),
        ...workspaces.map((w) => w.workspace.accountId),
        ...shares.map((s) => s.list.workspace.accountId),
        ...lists.map((l) => l.workspace.accountId),
      ];
      break;
    }
  }
  return [...new Set(found.filter((id): id is string => !!id))];
}

/**
 * Everyone who could hold access to something of these accounts: members, workspace members,
 * people named by shares, group members, right holders and list creators.
 */
async function peopleOf(tx: DbTx, accountIds: string[]): Promise<Map<string, string>> {
  const inAccounts = { accountId: { in: accountIds } };
  const person = { user: { select: { id: true, email: true } } } as const;
  const [members, workspaceMembers, shares, groupMembers, holders, creators] = await Promise.all([
    tx.accountMember.findMany({ where: inAccounts, select: person }),
    tx.workspaceMember.findMany({ where: { workspace: inAccounts }, select: person }),
    tx.share.findMany({ where: { list: { workspace: inAccounts }, userId: { not: null } }, select: person }),
    tx.groupMember.findMany({ where: { group: inAccounts }, select: person }),
    tx.rightGrant.findMany({ where: { right: inAccounts }, select: person }),
    tx.list.findMany({
      where: { workspace: inAccounts, creatorId: { not: null } },
      select: { creator: { select: { id: true, email: true } } },
    }),
  ]);
  const people = new Map<string, string>();
  for (const row of [...members, ...workspaceMembers, ...shares, ...groupMembers, ...holders]) {
    if (row.user) people.set(row.user.id, row.user.email);
  }
  for (const row of creators) if (row.creator) people.set(row.creator.id, row.creator.email);
  return people;
}

const standingKey = (s: { userId: string | null; resourceType: string; resourceId: string }) =>
  `${s.userId ?? ''}\n${s.resourceType}\n${s.resourceId}`;

/**
 * Every person's and the link's standing on every list and workspace of the accounts, decided by
 * `Access` (the rules every read and write uses) over `tx`, one fresh `Access` per person.
 */
async function standings(tx: DbTx, accountIds: string[], people: Map<string, string>): Promise<Map<string, Standing>> {
  const db = tx as Db;
  const [workspaces, lists] = await Promise.all([
    tx.workspace.findMany({ where: { accountId: { in: accountIds } }, select: { id: true } }),
    tx.list.findMany({
      where: { workspace: { accountId: { in: accountIds } } },
      select: { id: true, linkToken: true },
    }),
  ]);
  const out = new Map<string, Standing>();
  const keep = (s: Standing) => out.set(standingKey(s), s);
  for (const [id, email] of people) {
    const access = new Access(db, { id, email });
    const [listRoles, workspaceFacts] = await Promise.all([
      Promise.all(lists.map((l) => access.listRole(l.id))),
      Promise.all(workspaces.map((w) => access.workspace(w.id))),
    ]);
    lists.forEach((l, i) => {
      const role = listRoles[i];
      if (role) keep({ userId: id, resourceType: 'List', resourceId: l.id, role, reach: null });
    });
    workspaces.forEach((w, i) => {
      const facts = workspaceFacts[i];
      const standing = facts && workspaceStanding(facts);
      if (standing?.role)
        keep({ userId: id, resourceType: 'Workspace', resourceId: w.id, role: standing.role, reach: standing.reach });
    });
  }
  const anyone = new Access(db, null);
  await Promise.all(
    lists.map(async (l) => {
      if (!l.linkToken) return;
      const facts = await anyone.list(l.id, l.linkToken);
      const role = facts && listRole(facts).role;
      if (role) keep({ userId: null, resourceType: 'List', resourceId: l.id, role, reach: null });
    }),
  );
  return out;
}

/** What differs between two snapshots of standings, in a stable order. */
export function diffStandings(before: Map<string, Standing>, after: Map<string, Standing>): AccessChangeDiff {
  const diff: AccessChangeDiff = { gained: [], lost: [], changed: [] };
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  for (const key of keys) {
    const b = before.get(key);
    const a = after.get(key);
    const { userId, resourceType, resourceId } = (a ?? b) as Standing;
    const entry: AccessDifference = {
      userId,
      resourceType,
      resourceId,
      roleBefore: b?.role ?? null,
      roleAfter: a?.role ?? null,
      reachBefore: b?.reach ?? null,
      reachAfter: a?.reach ?? null,
    };
    if (!b) diff.gained.push(entry);
    else if (!a) diff.lost.push(entry);
    else if (b.role !== a.role || b.reach !== a.reach) diff.changed.push(entry);
  }
  return diff;
}

/** A transaction client that services can use as `ctx.db`: their `$transaction` joins it. */
function joinedDb(tx: DbTx): Db {
  const db: Db = new Proxy(tx, {
    get(target, prop, receiver) {
      if (prop === '$transaction')
        return (arg: unknown) =>
          typeof arg === 'function' ? (arg as (tx: Db) => unknown)(db) : Promise.all(arg as Promise<unknown>[]);
      return Reflect.get(target, prop, receiver);
    },
  }) as Db;
  return db;
}

/** `target` with `method` replaced by a no-op (publishing, sending mail). */
function silenced<T extends object>(target: T, method: string, result: unknown): T {
  return new Proxy(target, {
    get(t, prop) {
      if (prop === method) return () => result;
      const value = Reflect.get(t, prop, t);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
}

/**
 * Makes the change with `run` (the mutation's own resolver) inside a transaction that is always
 * rolled back, with publishing and mail silenced and the response cache not told, and returns
 * the difference in access it made, or the error the mutation gave.
 */
export async function previewChange(
  ctx: Context,
  kind: ChangeKind,
  input: Record<string, unknown>,
  run: (ctx: Context) => Promise<unknown>,
): Promise<AccessChangeDiff | Error> {
  try {
    await unheard.run(true, () =>
      ctx.db.$transaction(
        async (tx) => {
          const accountIds = await accountsTouched(tx, kind, input);
          const peopleBefore = await peopleOf(tx, accountIds);
          const before = await standings(tx, accountIds, peopleBefore);
          const db = joinedDb(tx);
          const result = await run({
            ...ctx,
            db,
            access: new Access(db, ctx.viewer),
            realtime: { ...ctx.realtime, pubsub: silenced(ctx.realtime.pubsub, 'publish', undefined) },
            mail: silenced(ctx.mail, 'flush', Promise.resolve()),
          });
          if (result instanceof Error) throw new RolledBack(result);
          const people = new Map([...peopleBefore, ...(await peopleOf(tx, accountIds))]);
          throw new RolledBack(diffStandings(before, await standings(tx, accountIds, people)));
        },
        // Every standing is decided inside the transaction; a large account takes a while.
        { timeout: 60_000, maxWait: 10_000 },
      ),
    );
  } catch (err) {
    if (err instanceof RolledBack) return err.value as AccessChangeDiff | Error;
    throw err;
  }
  throw new Error('previewChange: the transaction was not rolled back');
}
