import { describe, expect, it } from 'vitest';
import type { AccountRole } from '../../src/access/facts.ts';
import { type FactVersion, PastFacts } from '../../src/access/history.ts';
import { decideAccessAt, decideWorkspace, listRole, workspaceStanding } from '../../src/access/rules.ts';

// The access history read back as facts (src/access/history.ts): the last recorded state of each
// fact at an instant, rebuilt into the facts the rules decide on, and judged at that instant.

const AT = new Date('2020-06-01T12:00:00.000Z');
const U = 'u1';

const v = (kind: string, key: string, scope: string | null, state: Record<string, unknown> | null): FactVersion => ({
  kind,
  key,
  scope,
  state,
});

/** An account a1 (U a MEMBER), a workspace w1 of it, and a SHAREABLE RESTRICTED list l1 in it. */
function base(o: { type?: string; accountRole?: AccountRole | null; list?: Record<string, unknown> | null } = {}) {
  const accountRole = o.accountRole === undefined ? 'MEMBER' : o.accountRole;
  return [
    v('History', 'begin', null, {}),
    v('Account', 'a1', 'a1', {
      workspaceCreators: 'ALL_MEMBERS',
      externalSharing: true,
      memberInviters: 'ADMINS_ONLY',
      memberDomains: [],
    }),
    v('AccountMember', `a1:${U}`, 'a1', accountRole ? { role: accountRole } : null),
    v('Workspace', 'w1', 'a1', { accountId: 'a1', type: o.type ?? 'CLOSED' }),
    v(
      'List',
      'l1',
      'w1',
      o.list === null
        ? null
        : {
            workspaceId: 'w1',
            kind: 'SHAREABLE',
            generalAccess: 'RESTRICTED',
            generalRole: 'VIEWER',
            creatorId: 'someone',
            linkExpiresAt: null,
            ...o.list,
          },
    ),
  ];
}

const share = (id: string, state: Record<string, unknown> | null) =>
  v(
    'Share',
    id,
    'l1',
    state && { listId: 'l1', userId: null, groupId: null, rightId: null, expiresAt: null, ...state },
  );

describe('a list as it stood: the role and the grants behind it', () => {
  const rows: [string, FactVersion[], string | null, string[]][] = [
    ['no grant', base(), null, ['list.restricted']],
    ['a share with them', [...base(), share('s1', { role: 'EDITOR', userId: U })], 'EDITOR', ['list.share.user']],
    ['a share removed since (its last state is none)', [...base(), share('s1', null)], null, ['list.restricted']],
    ["someone else's share", [...base(), share('s1', { role: 'EDITOR', userId: 'u2' })], null, ['list.restricted']],
    [
      'a share that ended before the instant',
      [...base(), share('s1', { role: 'EDITOR', userId: U, expiresAt: '2020-06-01T11:59:59.999' })],
      null,
      ['list.restricted'],
    ],
    [
      'a share that ended after the instant (long before now) still holds then',
      [...base(), share('s1', { role: 'EDITOR', userId: U, expiresAt: '2020-06-01T12:00:00.001' })],
      'EDITOR',
      ['list.share.user'],
    ],
    [
      'a group share while they were in the group',
      [...base(), share('s1', { role: 'VIEWER', groupId: 'g1' }), v('GroupMember', `g1:${U}`, 'g1', {})],
      'VIEWER',
      ['list.share.group'],
    ],
    [
      'a group share after they left the group',
      [...base(), share('s1', { role: 'VIEWER', groupId: 'g1' }), v('GroupMember', `g1:${U}`, 'g1', null)],
      null,
      ['list.restricted'],
    ],
    [
      'a right share while they held the right',
      [...base(), share('s1', { role: 'CO_OWNER', rightId: 'r1' }), v('RightGrant', `r1:${U}`, 'r1', {})],
      'CO_OWNER',
      ['list.share.right'],
    ],
    [
      'an address share (no user named yet) reaches nobody',
      [...base(), share('s1', { role: 'EDITOR' })],
      null,
      ['list.restricted'],
    ],
    [
      'the highest of several grants, every one a reason, in the order they were made',
      [
        ...base(),
        share('s2', { role: 'EDITOR', userId: U }),
        share('s1', { role: 'VIEWER', groupId: 'g1' }),
        v('GroupMember', `g1:${U}`, 'g1', {}),
      ],
      'EDITOR',
      ['list.share.group', 'list.share.user'],
    ],
    ['their own list', base({ list: { creatorId: U } }), 'CREATOR', ['list.creator']],
    [
      'WORKSPACE access while a member',
      [
        ...base({ list: { generalAccess: 'WORKSPACE', generalRole: 'EDITOR' } }),
        v('WorkspaceMember', `w1:${U}`, 'w1', { role: 'MEMBER', expiresAt: null }),
      ],
      'EDITOR',
      ['list.general.workspace'],
    ],
    [
      'WORKSPACE access after the membership ended (not yet swept)',
      [
        ...base({ list: { generalAccess: 'WORKSPACE', generalRole: 'EDITOR' } }),
        v('WorkspaceMember', `w1:${U}`, 'w1', { role: 'MEMBER', expiresAt: '2020-06-01T11:00:00.000' }),
      ],
      null,
      ['list.restricted'],
    ],
    [
      'WORKSPACE access of an open workspace to an account member',
      base({ type: 'OPEN', list: { generalAccess: 'WORKSPACE', generalRole: 'VIEWER' } }),
      'VIEWER',
      ['list.general.workspace'],
    ],
    [
      'an account admin in an open workspace',
      base({ type: 'OPEN', accountRole: 'ADMIN' }),
      'CO_OWNER',
      ['account.admin'],
    ],
    ['an account admin outside a closed one', base({ accountRole: 'ADMIN' }), null, ['list.restricted']],
    ['GLOBAL to an account member', base({ list: { generalAccess: 'GLOBAL' } }), 'VIEWER', ['list.general.global']],
    [
      'GLOBAL never to a guest',
      base({ accountRole: 'GUEST', list: { generalAccess: 'GLOBAL' } }),
      null,
      ['list.restricted'],
    ],
    [
      'a link is no grant without its token',
      base({ list: { generalAccess: 'ANYONE_WITH_LINK', linkExpiresAt: null } }),
      null,
      ['list.restricted'],
    ],
  ];
  it.each(rows)('%s', (_name, versions, role, rules) => {
    const facts = new PastFacts(AT, versions).list('l1', U);
    expect(facts).not.toBeNull();
    if (!facts) return;
    const decided = listRole(facts);
    expect(decided.role).toBe(role);
    expect(decided.reasons.map((r) => r.rule)).toEqual(rules);
    expect(facts.workspace.asOf).toEqual(AT);
    expect(facts.workspace.reachesAList).toBe(role !== null);
  });

  it('a list deleted, or not made yet, then has no facts', () => {
    expect(new PastFacts(AT, base({ list: null })).list('l1', U)).toBeNull();
    expect(new PastFacts(AT, base()).list('l2', U)).toBeNull();
  });

  it('reasons carry the end of an expiring grant', () => {
    const facts = new PastFacts(AT, [
      ...base(),
      share('s1', { role: 'EDITOR', userId: U, expiresAt: '2020-07-01T00:00:00.000' }),
    ]).list('l1', U);
    expect(facts && listRole(facts).reasons[0]?.expiresAt).toEqual(new Date('2020-07-01T00:00:00.000Z'));
  });
});

describe('a workspace and an account as they stood', () => {
  const rows: [string, FactVersion[], string | null, boolean][] = [
    ['an account member outside a closed workspace: locked', base(), 'NON_MEMBER', false],
    ['outside a private one, reaching none of its lists: invisible', base({ type: 'PRIVATE' }), null, false],
    [
      'outside a private one, reaching a list of it through a share',
      [...base({ type: 'PRIVATE' }), share('s1', { role: 'VIEWER', userId: U })],
      'NON_MEMBER',
      false,
    ],
    [
      'its owner',
      [...base({ type: 'PRIVATE' }), v('WorkspaceMember', `w1:${U}`, 'w1', { role: 'OWNER', expiresAt: null })],
      'OWNER',
      true,
    ],
    [
      'a member whose membership was removed',
      [...base({ type: 'PRIVATE' }), v('WorkspaceMember', `w1:${U}`, 'w1', null)],
      null,
      false,
    ],
    ['not in the account (removed since)', base({ accountRole: null }), null, false],
  ];
  it.each(rows)('%s', (_name, versions, role, full) => {
    const ws = new PastFacts(AT, versions).workspace('w1', U);
    expect(ws).not.toBeNull();
    if (!ws) return;
    const standing = workspaceStanding(ws);
    expect(standing.role).toBe(role);
    expect(standing.full).toBe(full);
  });

  it("rebuilds the account's caps and the workspace's rules", () => {
    const facts = new PastFacts(AT, [
      ...base({ type: 'OPEN' }),
      v('AccountActionCap', 'a1:COMMENT:MEMBER', 'a1', { action: 'COMMENT', role: 'MEMBER', allowed: false }),
      v('AccountActionCap', 'a1:COMMENT:ADMIN', 'a1', { action: 'COMMENT', role: 'ADMIN', allowed: true }),
      v('WorkspacePermission', 'w1:MEMBER:POST_UPDATE', 'w1', {
        audience: 'MEMBER',
        action: 'POST_UPDATE',
        allowed: false,
      }),
      v('WorkspaceMember', `w1:${U}`, 'w1', { role: 'MEMBER', expiresAt: null }),
      v('Account', 'a1', 'a1', {
        workspaceCreators: 'ADMINS_ONLY',
        externalSharing: false,
        memberInviters: 'ALL_MEMBERS',
        memberDomains: ['acme.test'],
      }),
    ]);
    const ws = facts.workspace('w1', U);
    expect(ws && decideWorkspace(ws, 'COMMENT').reasons.at(-1)?.effect).toBe('CAP');
    expect(ws && decideWorkspace(ws, 'POST_UPDATE').allowed).toBe(false);
    expect(ws && decideWorkspace(ws, 'REPLY').allowed).toBe(true);
    expect(facts.account('a1', U)?.policy).toEqual({
      workspaceCreators: 'ADMINS_ONLY',
      externalSharing: false,
      memberInviters: 'ALL_MEMBERS',
      memberDomains: ['acme.test'],
      caps: [
        { action: 'COMMENT', role: 'ADMIN', allowed: true },
        { action: 'COMMENT', role: 'MEMBER', allowed: false },
      ],
    });
  });

  it('knows whether the history had begun', () => {
    expect(new PastFacts(AT, base()).covered).toBe(true);
    expect(new PastFacts(AT, base().slice(1)).covered).toBe(false);
  });
});

describe('who may read how access stood (decideAccessAt)', () => {
  const rows: [string, boolean, AccountRole | null, boolean, boolean][] = [
    ['an admin, about anyone', false, 'ADMIN', false, true],
    ['an admin, about themselves where they saw nothing', true, 'ADMIN', false, true],
    ['a member, about someone else who saw it', false, 'MEMBER', true, false],
    ['a guest, about someone else', false, 'GUEST', true, false],
    ['an outsider, about someone else', false, null, true, false],
    ['a member, about themselves where they saw it', true, 'MEMBER', true, true],
    ['a member, about themselves where they saw nothing', true, 'MEMBER', false, false],
    ['a guest, about their own share then', true, 'GUEST', true, true],
    ['someone removed from the account since, about what they saw then', true, null, true, true],
    ['someone removed since, about what they never saw', true, null, false, false],
  ];
  it.each(rows)('%s', (_name, own, viewerAccountRole, sawItThen, allowed) => {
    expect(decideAccessAt({ own, viewerAccountRole, sawItThen }).allowed).toBe(allowed);
  });
});
