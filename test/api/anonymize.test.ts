import { decodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { snapshot, startTestServer, type TestServer } from '../helpers/server.ts';

const Anonymize = graphql(`
  mutation AnAnonymize($input: AnonymizeUserInput!) {
    anonymizeUser(input: $input) {
      __typename
      ... on AnonymizeUserPayload { userId dryRun steps { kind resourceType resourceId accountId role } }
      ... on Error { code message }
    }
  }
`);
const Me = graphql(`
  query AnMe { me { id email name } }
`);
const AuditLog = graphql(`
  query AnAuditLog($resourceId: ID!, $actorId: ID) {
    auditLog(resourceId: $resourceId, actorId: $actorId) { edges { node { action resourceType resourceId data } } }
  }
`);

const ADMIN = 'admin@gdpr.test';
const TARGET = 'leaving@gdpr.test';
const OWNER2 = 'owner2@gdpr.test';
const OTHER = 'other@gdpr.test';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.close());

const raw = (globalId: string) => decodeGlobalID(globalId).id;

/**
 * TARGET owns workspace W1 alone and created lists L1 and L2 in it (L2 shared with ADMIN as EDITOR
 * and with OTHER); TARGET is a member of OWNER2's W2 holding an EDITOR share on L3, a group
 * member, a right holder, and has a pending join request to W3.
 */
async function seed() {
  const h = listHelpers(t);
  const db = t.server.services.db;
  const accountId = await h.account(ADMIN, [TARGET, OWNER2, OTHER]);
  const [adminId, targetId, otherId] = [await h.userId(ADMIN), await h.userId(TARGET), await h.userId(OTHER)];
  const w1 = await h.workspace(accountId, TARGET, 'CLOSED', [OTHER]);
  const l1 = await h.list(w1.id, TARGET, 'MAIN', 'L1');
  const l2 = await h.list(w1.id, TARGET, 'SHAREABLE', 'L2');
  await h.share(TARGET, { listId: l2, role: 'EDITOR', userId: adminId });
  await h.share(TARGET, { listId: l2, role: 'VIEWER', userId: otherId });
  const w2 = await h.workspace(accountId, OWNER2, 'OPEN', [TARGET]);
  const l3 = await h.list(w2.id, OWNER2, 'SHAREABLE', 'L3');
  await h.share(OWNER2, { listId: l3, role: 'EDITOR', userId: targetId });
  const w3 = await h.workspace(accountId, OWNER2, 'CLOSED');
  const account = raw(accountId);
  const group = await db.group.create({
    data: { accountId: account, name: 'Sales', members: { create: { userId: raw(targetId) } } },
  });
  const right = await db.right.create({
    data: { accountId: account, name: 'billing', holders: { create: { userId: raw(targetId) } } },
  });
  await db.joinRequest.create({ data: { workspaceId: w3.dbId, userId: raw(targetId) } });
  return { accountId, adminId, targetId, otherId, w1, w2, l1, l2, l3, group, right };
}

/** Every share, membership, owner and creator, as comparable strings. */
async function state() {
  const db = t.server.services.db;
  const [shares, members, lists, accountMembers, groupMembers, rightGrants, joinRequests] = await Promise.all([
    db.share.findMany({ select: { id: true, listId: true, userId: true, role: true } }),
    db.workspaceMember.findMany({ select: { workspaceId: true, userId: true, role: true } }),
    db.list.findMany({ select: { id: true, creatorId: true } }),
    db.accountMember.findMany({ select: { accountId: true, userId: true, role: true } }),
    db.groupMember.findMany({ select: { groupId: true, userId: true } }),
    db.rightGrant.findMany({ select: { rightId: true, userId: true } }),
    db.joinRequest.findMany({ select: { id: true, userId: true } }),
  ]);
  return {
    shares: shares.map((s) => `${s.id}:${s.listId}:${s.userId}:${s.role}`).sort(),
    members: members.map((m) => `${m.workspaceId}:${m.userId}:${m.role}`).sort(),
    creators: lists.map((l) => `${l.id}:${l.creatorId}`).sort(),
    accountMembers: accountMembers.map((m) => `${m.accountId}:${m.userId}:${m.role}`).sort(),
    groupMembers: groupMembers.map((m) => `${m.groupId}:${m.userId}`).sort(),
    rightGrants: rightGrants.map((m) => `${m.rightId}:${m.userId}`).sort(),
    joinRequests: joinRequests.map((j) => `${j.id}:${j.userId}`).sort(),
  };
}

type Steps = {
  kind: string;
  resourceType: string;
  resourceId: string;
  accountId?: string | null;
  role?: string | null;
}[];

async function run(as: string, userId: string, dryRun: boolean) {
  const res = (await t.ok(Anonymize, { input: { userId, dryRun } }, as)).anonymizeUser;
  return res;
}

function stepsOf(res: Awaited<ReturnType<typeof run>>): Steps {
  if (res.__typename !== 'AnonymizeUserPayload') throw new Error(JSON.stringify(res));
  return res.steps;
}

describe('anonymizeUser', () => {
  it('does exactly its dry-run plan, transfers to the admin, drops the duplicate share, audits every step, and is idempotent', async () => {
    const s = await seed();
    const db = t.server.services.db;
    const [admin, target, other] = [raw(s.adminId), raw(s.targetId), raw(s.otherId)];
    const oldToken = await t.token(TARGET);
    expect((await t.ok(Me, {}, oldToken)).me?.email).toBe(TARGET);

    const before = await state();
    const dbBefore = await snapshot(t);
    const dry = await run(ADMIN, s.targetId, true);
    expect(dry).toMatchObject({ dryRun: true });
    expect(await snapshot(t)).toEqual(dbBefore);
    const plan = stepsOf(dry);

    const real = await run(ADMIN, s.targetId, false);
    expect(real).toMatchObject({ dryRun: false });
    expect(stepsOf(real)).toEqual(plan);
    const after = await state();

    // The plan, read as a diff, is exactly what changed.
    const ids = (kind: string) =>
      plan
        .filter((p) => p.kind === kind)
        .map((p) => raw(p.resourceId))
        .sort();
    const gone = (k: keyof typeof before) => before[k].filter((x) => !after[k].includes(x));
    const added = (k: keyof typeof before) => after[k].filter((x) => !before[k].includes(x));
    expect(
      gone('shares')
        .map((x) => x.split(':')[0])
        .sort(),
    ).toEqual([...ids('REMOVE_SHARE'), ...ids('REMOVE_DUPLICATE_SHARE')].sort());
    expect(added('shares')).toEqual([]);
    expect(
      gone('members')
        .filter((m) => m.includes(target))
        .map((m) => m.split(':')[0])
        .sort(),
    ).toEqual(ids('REMOVE_WORKSPACE_MEMBERSHIP'));
    expect(added('members')).toEqual(ids('TRANSFER_WORKSPACE').map((w) => `${w}:${admin}:OWNER`));
    expect(
      gone('creators')
        .map((c) => c.split(':')[0])
        .sort(),
    ).toEqual(ids('TRANSFER_LIST'));
    expect(gone('accountMembers')).toEqual([`${raw(s.accountId)}:${target}:MEMBER`]);
    expect(gone('groupMembers')).toEqual([`${s.group.id}:${target}`]);
    expect(gone('rightGrants')).toEqual([`${s.right.id}:${target}`]);
    expect(gone('joinRequests')).toHaveLength(1);
    expect(added('creators')).toEqual([`${raw(s.l1)}:${admin}`, `${raw(s.l2)}:${admin}`].sort());

    // The seeded facts: what was planned, concretely.
    expect(ids('TRANSFER_WORKSPACE')).toEqual([s.w1.dbId]);
    expect(ids('REMOVE_WORKSPACE_MEMBERSHIP')).toEqual([s.w1.dbId, s.w2.dbId].sort());
    expect(ids('REMOVE_SHARE')).toHaveLength(1);
    expect(plan.filter((p) => p.kind === 'REMOVE_DUPLICATE_SHARE')).toEqual([
      expect.objectContaining({ resourceType: 'Share', role: 'EDITOR' }),
    ]);
    expect(plan.at(-1)).toMatchObject({ kind: 'SCRUB_PERSONAL_DATA', resourceId: s.targetId });

    // Invariants: no trace of them in sharing; every workspace has an owner; the admin is
    // creator and never also a recipient of the lists they received; OTHER's share stays.
    const everything = JSON.stringify(after);
    expect(everything).not.toContain(target);
    for (const ws of await db.workspace.findMany({ select: { id: true } })) {
      expect(after.members.some((m) => m.startsWith(`${ws.id}:`) && m.endsWith(':OWNER'))).toBe(true);
    }
    expect(after.shares.filter((x) => x.includes(`:${admin}:`))).toEqual([]);
    expect(after.shares.some((x) => x.includes(`${raw(s.l2)}:${other}:VIEWER`))).toBe(true);
    expect(after.members).toContain(`${s.w1.dbId}:${other}:MEMBER`);

    const row = await db.user.findUniqueOrThrow({ where: { id: target } });
    expect(row.email).not.toContain('leaving');
    expect(row.name).toBe('Anonymised user');
    expect(row.anonymizedAt).not.toBeNull();

    // Their tokens stop working, and do not provision a fresh user either.
    const users = await db.user.count();
    const refused = await t.gql(Me, {}, oldToken);
    expect(refused.status).toBe(401);
    expect(refused.data?.me ?? null).toBeNull();
    expect(await db.user.count()).toBe(users);

    // Every step is audited, and the admins find it by actor and by resource.
    const byActor = await t.ok(AuditLog, { resourceId: s.accountId, actorId: s.adminId }, ADMIN);
    const anonymizeRows = byActor.auditLog?.edges.filter((e) => e.node.action.startsWith('anonymize.')) ?? [];
    expect(anonymizeRows.map((e) => e.node.resourceId).sort()).toEqual(plan.map((p) => p.resourceId).sort());
    const byResource = await t.ok(AuditLog, { resourceId: s.targetId }, ADMIN);
    const actions = byResource.auditLog?.edges.map((e) => e.node.action) ?? [];
    expect(actions).toContain('user.anonymize');
    expect(actions).toContain('anonymize.transfer-list');
    expect(JSON.stringify(byResource)).not.toContain('leaving@');

    // A second run finds nothing to do and writes nothing.
    const dbAfter = await snapshot(t);
    expect(stepsOf(await run(ADMIN, s.targetId, true))).toEqual([]);
    expect(stepsOf(await run(ADMIN, s.targetId, false))).toEqual([]);
    expect(await snapshot(t)).toEqual(dbAfter);
  });

  it('is for account admins only, never on themselves; refusals write nothing', async () => {
    const s = await seed();
    // A first token provisions its user, which is not the mutation's doing.
    await t.ok(Me, {}, 'stranger@nowhere.test');
    const before = await snapshot(t);
    expect(await run(OTHER, s.targetId, false)).toMatchObject({ __typename: 'ForbiddenError' });
    expect(await run(OTHER, s.targetId, true)).toMatchObject({ __typename: 'ForbiddenError' });
    expect(await run(ADMIN, s.adminId, false)).toMatchObject({ __typename: 'ForbiddenError' });
    expect(await run('stranger@nowhere.test', s.targetId, false)).toMatchObject({ __typename: 'NotFoundError' });
    const missing = Buffer.from('User:00000000-0000-7000-8000-000000000000').toString('base64');
    expect(await run(ADMIN, missing, false)).toMatchObject({ __typename: 'NotFoundError' });
    expect(await snapshot(t)).toEqual(before);
  });
});
