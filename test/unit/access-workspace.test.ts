import { describe, expect, it } from 'vitest';
import type {
  AccountRole,
  WorkspaceAction,
  WorkspaceFacts,
  WorkspaceRole,
  WorkspaceType,
} from '../../src/access/facts.ts';
import {
  ACCOUNT_ROLES,
  canInherit,
  decideAccount,
  decideBringIn,
  decideWorkspace,
  decideWorkspaceRuleChange,
  inviteQuestion,
  leavesNoAdmin,
  leavesNoOwner,
  WORKSPACE_ACTIONS,
  type WorkspaceQuestion,
} from '../../src/access/rules.ts';

type Cap = 'default' | 'deny' | 'allow';

function facts(
  accountRole: AccountRole | null,
  memberRole: WorkspaceRole | null,
  type: WorkspaceType,
  opts: {
    cap?: { action: WorkspaceAction; setting: Cap };
    rule?: { action: WorkspaceAction; allowed: boolean };
    reachesAList?: boolean;
    creators?: 'ALL_MEMBERS' | 'ADMINS_ONLY';
  } = {},
): WorkspaceFacts {
  const caps =
    opts.cap && opts.cap.setting !== 'default' && accountRole
      ? [{ action: opts.cap.action, role: accountRole, allowed: opts.cap.setting === 'allow' }]
      : [];
  const audience = memberRole ?? 'NON_MEMBER';
  return {
    workspaceId: 'w1',
    type,
    account: {
      accountId: 'a1',
      role: accountRole,
      policy: {
        workspaceCreators: opts.creators ?? 'ALL_MEMBERS',
        externalSharing: true,
        memberInviters: 'ADMINS_ONLY',
        memberDomains: [],
        caps,
      },
    },
    memberRole,
    reachesAList: opts.reachesAList ?? false,
    rules: opts.rule ? [{ audience, action: opts.rule.action, allowed: opts.rule.allowed }] : [],
  };
}

describe('account questions', () => {
  // [account role, question, workspaceCreators, expected]
  const table: [AccountRole | null, Parameters<typeof decideAccount>[1], 'ALL_MEMBERS' | 'ADMINS_ONLY', boolean][] = [
    ['ADMIN', 'account:read', 'ALL_MEMBERS', true],
    ['MEMBER', 'account:read', 'ALL_MEMBERS', true],
    ['GUEST', 'account:read', 'ALL_MEMBERS', false],
    [null, 'account:read', 'ALL_MEMBERS', false],
    ['ADMIN', 'account:manage', 'ALL_MEMBERS', true],
    ['MEMBER', 'account:manage', 'ALL_MEMBERS', false],
    ['GUEST', 'account:manage', 'ALL_MEMBERS', false],
    [null, 'account:manage', 'ALL_MEMBERS', false],
    ['ADMIN', 'account:create-workspace', 'ALL_MEMBERS', true],
    ['MEMBER', 'account:create-workspace', 'ALL_MEMBERS', true],
    ['GUEST', 'account:create-workspace', 'ALL_MEMBERS', false],
    [null, 'account:create-workspace', 'ALL_MEMBERS', false],
    ['ADMIN', 'account:create-workspace', 'ADMINS_ONLY', true],
    ['MEMBER', 'account:create-workspace', 'ADMINS_ONLY', false],
    ['GUEST', 'account:create-workspace', 'ADMINS_ONLY', false],
  ];
  it.each(table)('%s %s (%s) → %s', (role, question, creators, expected) => {
    const d = decideAccount(facts(role, null, 'OPEN', { creators }).account, question);
    expect(d.allowed).toBe(expected);
    expect(d.reasons.length).toBeGreaterThan(0);
  });
});

describe('who may bring a person into the account', () => {
  type Inviters = 'ADMINS_ONLY' | 'ALL_MEMBERS';
  const bring = (
    inviter: AccountRole | null,
    memberInviters: Inviters,
    email: string,
    current: AccountRole | null,
    as: AccountRole,
  ) =>
    decideBringIn({
      account: {
        accountId: 'a1',
        role: inviter,
        policy: {
          workspaceCreators: 'ALL_MEMBERS',
          externalSharing: true,
          memberInviters,
          memberDomains: ['acme.test'],
          caps: [],
        },
      },
      email,
      current,
      as,
    });
  const IN = 'new@Acme.test';
  const OUT = 'new@elsewhere.test';
  // [inviter, policy, address, invitee's role today, role given, allowed]
  const table: [AccountRole | null, Inviters, string, AccountRole | null, AccountRole, boolean][] = [];
  for (const policy of ['ADMINS_ONLY', 'ALL_MEMBERS'] as const) {
    for (const address of [IN, OUT]) {
      for (const current of [null, 'GUEST'] as const) {
        // Admins always bring people in, with any role.
        table.push(['ADMIN', policy, address, current, 'MEMBER', true]);
        table.push(['ADMIN', policy, address, current, 'ADMIN', true]);
        // Members: when the policy lets every member, or for an address of a member domain.
        table.push(['MEMBER', policy, address, current, 'MEMBER', policy === 'ALL_MEMBERS' || address === IN]);
        table.push(['MEMBER', policy, address, current, 'ADMIN', false]);
        // Guests and outsiders never.
        table.push(['GUEST', policy, address, current, 'MEMBER', false]);
        table.push([null, policy, address, current, 'MEMBER', false]);
      }
      // Who is already a member is not brought in.
      table.push(['MEMBER', policy, address, 'MEMBER', 'MEMBER', true]);
      table.push(['MEMBER', policy, address, 'ADMIN', 'MEMBER', true]);
      table.push(['MEMBER', policy, address, 'MEMBER', 'ADMIN', false]);
    }
  }
  it.each(table)('%s inviter, %s, %s (now %s) as %s → %s', (inviter, policy, address, current, as, expected) => {
    const d = bring(inviter, policy, address, current, as);
    expect(d.allowed).toBe(expected);
    expect(d.reasons.length).toBeGreaterThan(0);
  });
  it('a refusal names the policy that refused it', () => {
    const d = bring('MEMBER', 'ADMINS_ONLY', OUT, null, 'MEMBER');
    expect(d.reasons.at(-1)?.rule).toBe('account.policy.memberInviters');
    expect(d.reasons.at(-1)?.detail).toContain('memberInviters');
    expect(d.reasons.at(-1)?.detail).toContain('memberDomains');
  });
});

describe('workspace visibility and management', () => {
  // [account role, workspace role, type, reaches a list, question, expected]
  const table: [AccountRole | null, WorkspaceRole | null, WorkspaceType, boolean, WorkspaceQuestion, boolean][] = [
    ['MEMBER', 'OWNER', 'CLOSED', false, 'workspace:see', true],
    ['MEMBER', 'MEMBER', 'CLOSED', false, 'workspace:read', true],
    ['MEMBER', 'MEMBER', 'PRIVATE', false, 'workspace:read', true],
    ['MEMBER', 'MEMBER', 'PRIVATE', false, 'workspace:people', true],
    ['MEMBER', null, 'OPEN', false, 'workspace:read', true],
    ['MEMBER', null, 'OPEN', false, 'workspace:people', true],
    // CLOSED: listed to the account with a lock; content for members only.
    ['MEMBER', null, 'CLOSED', false, 'workspace:see', true],
    ['MEMBER', null, 'CLOSED', false, 'workspace:list', true],
    ['MEMBER', null, 'CLOSED', false, 'workspace:overview', true],
    ['MEMBER', null, 'CLOSED', false, 'workspace:read', false],
    ['MEMBER', null, 'CLOSED', false, 'workspace:people', false],
    ['MEMBER', null, 'CLOSED', true, 'workspace:see', true],
    ['MEMBER', null, 'CLOSED', true, 'workspace:read', false],
    ['GUEST', null, 'CLOSED', false, 'workspace:see', false],
    ['GUEST', null, 'CLOSED', false, 'workspace:list', false],
    ['GUEST', null, 'CLOSED', true, 'workspace:see', true],
    ['GUEST', null, 'CLOSED', true, 'workspace:overview', false],
    ['ADMIN', null, 'CLOSED', false, 'workspace:list', true],
    ['ADMIN', null, 'CLOSED', false, 'workspace:overview', true],
    ['ADMIN', null, 'CLOSED', false, 'workspace:people', true],
    ['ADMIN', null, 'CLOSED', false, 'workspace:read', false],
    // PRIVATE: invisible but to its members; admins see it in the content directory only.
    ['MEMBER', null, 'PRIVATE', false, 'workspace:see', false],
    ['MEMBER', null, 'PRIVATE', false, 'workspace:list', false],
    ['MEMBER', null, 'PRIVATE', true, 'workspace:see', true],
    ['MEMBER', null, 'PRIVATE', true, 'workspace:list', true],
    ['MEMBER', null, 'PRIVATE', true, 'workspace:overview', false],
    ['MEMBER', null, 'PRIVATE', true, 'workspace:people', false],
    ['MEMBER', null, 'PRIVATE', true, 'workspace:read', false],
    ['ADMIN', null, 'PRIVATE', false, 'workspace:see', true],
    ['ADMIN', null, 'PRIVATE', false, 'workspace:list', false],
    ['ADMIN', null, 'PRIVATE', true, 'workspace:list', true],
    ['ADMIN', null, 'PRIVATE', false, 'workspace:overview', true],
    ['ADMIN', null, 'PRIVATE', false, 'workspace:people', true],
    ['ADMIN', null, 'PRIVATE', false, 'workspace:read', false],
    ['ADMIN', null, 'PRIVATE', false, 'workspace:manage', true],
    ['ADMIN', 'MEMBER', 'PRIVATE', false, 'workspace:read', true],
    ['GUEST', null, 'PRIVATE', false, 'workspace:see', false],
    [null, null, 'PRIVATE', true, 'workspace:see', true],
    [null, null, 'PRIVATE', true, 'workspace:overview', false],
    ['MEMBER', 'OWNER', 'PRIVATE', false, 'workspace:subscribers', true],
    ['MEMBER', 'MEMBER', 'OPEN', false, 'workspace:subscribers', false],
    ['MEMBER', null, 'OPEN', false, 'workspace:subscribers', false],
    ['ADMIN', null, 'PRIVATE', false, 'workspace:subscribers', true],
    ['GUEST', 'MEMBER', 'OPEN', false, 'workspace:subscribers', false],
    ['MEMBER', null, 'CLOSED', false, 'workspace:lists', false],
    ['MEMBER', null, 'CLOSED', true, 'workspace:lists', true],
    ['ADMIN', null, 'PRIVATE', false, 'workspace:lists', false],
    ['GUEST', null, 'OPEN', true, 'workspace:lists', true],
    ['MEMBER', null, 'OPEN', false, 'workspace:lists', true],
    ['GUEST', null, 'OPEN', false, 'workspace:see', false],
    ['GUEST', null, 'OPEN', true, 'workspace:see', true],
    ['GUEST', null, 'OPEN', true, 'workspace:read', false],
    ['GUEST', null, 'OPEN', true, 'workspace:people', false],
    [null, null, 'OPEN', false, 'workspace:see', false],
    ['ADMIN', null, 'CLOSED', false, 'workspace:see', true],
    ['ADMIN', null, 'CLOSED', false, 'workspace:manage', true],
    ['MEMBER', 'OWNER', 'OPEN', false, 'workspace:manage', true],
    ['MEMBER', 'MEMBER', 'OPEN', false, 'workspace:manage', false],
    ['MEMBER', null, 'OPEN', false, 'workspace:manage', false],
    ['MEMBER', null, 'CLOSED', false, 'workspace:manage', false],
    ['MEMBER', null, 'OPEN', false, 'workspace:join', true],
    ['ADMIN', null, 'OPEN', false, 'workspace:join', true],
    ['GUEST', null, 'OPEN', true, 'workspace:join', false],
    ['MEMBER', 'MEMBER', 'OPEN', false, 'workspace:join', false],
    ['MEMBER', null, 'CLOSED', false, 'workspace:join', false],
    ['MEMBER', null, 'PRIVATE', true, 'workspace:join', false],
    // Admins join closed and private workspaces without approval (audited).
    ['ADMIN', null, 'CLOSED', false, 'workspace:join', true],
    ['ADMIN', null, 'PRIVATE', false, 'workspace:join', true],
    ['ADMIN', 'MEMBER', 'PRIVATE', false, 'workspace:join', false],
    ['MEMBER', null, 'CLOSED', true, 'workspace:request-join', true],
    // Closed workspaces are listed, so any account member may ask to join.
    ['MEMBER', null, 'CLOSED', false, 'workspace:request-join', true],
    ['GUEST', null, 'CLOSED', true, 'workspace:request-join', false],
    ['MEMBER', null, 'PRIVATE', true, 'workspace:request-join', false],
    ['MEMBER', null, 'OPEN', false, 'workspace:request-join', false],
    ['MEMBER', 'MEMBER', 'CLOSED', false, 'workspace:request-join', false],
    ['MEMBER', 'MEMBER', 'CLOSED', false, 'workspace:leave', true],
    ['MEMBER', null, 'OPEN', false, 'workspace:leave', false],
    ['ADMIN', null, 'CLOSED', false, 'workspace:invite', true],
    ['MEMBER', 'OWNER', 'CLOSED', false, 'workspace:invite', true],
    ['MEMBER', 'MEMBER', 'CLOSED', false, 'workspace:invite', true],
    ['MEMBER', null, 'OPEN', false, 'workspace:invite', false],
    ['MEMBER', null, 'CLOSED', false, 'workspace:invite', false],
    ['GUEST', null, 'OPEN', true, 'workspace:invite', false],
  ];
  it.each(table)(
    '%s/%s in %s (reaches list: %s) %s → %s',
    (accountRole, memberRole, type, reaches, question, expected) => {
      expect(decideWorkspace(facts(accountRole, memberRole, type, { reachesAList: reaches }), question).allowed).toBe(
        expected,
      );
    },
  );
});

describe('workspace actions: account role × workspace role × type × action × account cap', () => {
  const talk = new Set<WorkspaceAction>(['POST_UPDATE', 'REPLY', 'COMMENT']);
  const rows: [AccountRole, WorkspaceRole | null, WorkspaceType, WorkspaceAction, Cap, boolean][] = [];
  for (const accountRole of ACCOUNT_ROLES) {
    for (const memberRole of ['OWNER', 'MEMBER', null] as const) {
      for (const type of ['OPEN', 'CLOSED', 'PRIVATE'] as const) {
        for (const action of WORKSPACE_ACTIONS) {
          for (const cap of ['default', 'deny', 'allow'] as const) {
            // The spec of DESIGN.md §3, written out: the viewer must reach the workspace's content
            // (a locked one, closed or private and not joined, allows nothing, admins included);
            // the workspace default lets owners and members do all and non-members only talk; the
            // account cap defaults to admins and members; effective is rule AND cap.
            const reaches = memberRole !== null || (accountRole !== 'GUEST' && type === 'OPEN');
            const rule = memberRole !== null || talk.has(action);
            const capAllows = cap === 'allow' || (cap === 'default' && accountRole !== 'GUEST');
            rows.push([accountRole, memberRole, type, action, cap, reaches && rule && capAllows]);
          }
        }
      }
    }
  }
  it('covers every combination', () => expect(rows).toHaveLength(3 * 3 * 3 * 10 * 3));
  it.each(rows)('%s/%s in %s: %s with cap %s → %s', (accountRole, memberRole, type, action, cap, expected) => {
    const d = decideWorkspace(facts(accountRole, memberRole, type, { cap: { action, setting: cap } }), action);
    expect(d.allowed).toBe(expected);
  });

  it('a workspace rule denying an action wins over the default', () => {
    const d = decideWorkspace(
      facts('MEMBER', 'MEMBER', 'OPEN', { rule: { action: 'CREATE_MAIN_LIST', allowed: false } }),
      'CREATE_MAIN_LIST',
    );
    expect(d.allowed).toBe(false);
    expect(d.reasons.map((r) => [r.rule, r.effect])).toContainEqual(['workspace.rule', 'DENY']);
  });

  it('the account cap wins over a workspace rule that allows', () => {
    const f = facts('MEMBER', 'MEMBER', 'OPEN', {
      rule: { action: 'CREATE_DOC', allowed: true },
      cap: { action: 'CREATE_DOC', setting: 'deny' },
    });
    const d = decideWorkspace(f, 'CREATE_DOC');
    expect(d.allowed).toBe(false);
    expect(d.reasons.map((r) => [r.rule, r.effect])).toEqual(
      expect.arrayContaining([
        ['workspace.rule', 'ALLOW'],
        ['account.cap', 'CAP'],
      ]),
    );
  });
});

describe('a workspace can only be stricter than its account', () => {
  const policy = (allowedForMembers: boolean) => ({
    workspaceCreators: 'ALL_MEMBERS' as const,
    externalSharing: true,
    memberInviters: 'ADMINS_ONLY' as const,
    memberDomains: [],
    caps: allowedForMembers ? [] : [{ action: 'CREATE_DOC' as const, role: 'MEMBER' as const, allowed: false }],
  });
  it.each([
    [true, true, true],
    [true, false, true],
    [false, false, true],
    [false, true, false],
  ])('account lets members: %s, workspace sets allowed=%s → accepted %s', (capAllows, allowed, accepted) => {
    expect(decideWorkspaceRuleChange(policy(capAllows), 'CREATE_DOC', allowed).allowed).toBe(accepted);
  });
});

describe('the last owner', () => {
  it.each([
    [['a'], { userId: 'a', role: 'OWNER' as const }, true],
    [['a', 'b'], { userId: 'a', role: 'OWNER' as const }, false],
    [['a'], { userId: 'b', role: 'MEMBER' as const }, false],
    [['a'], { userId: 'b', role: 'OWNER' as const }, false],
  ])('owners %j, %j leaving → no owner left: %s', (owners, member, expected) => {
    expect(leavesNoOwner(owners, member)).toBe(expected);
  });

  it.each([
    [1, 'ADMIN' as const, 'MEMBER' as const, true],
    [1, 'ADMIN' as const, 'GUEST' as const, true],
    [2, 'ADMIN' as const, 'MEMBER' as const, false],
    [1, 'ADMIN' as const, 'ADMIN' as const, false],
    [1, 'MEMBER' as const, 'GUEST' as const, false],
    [1, undefined, 'MEMBER' as const, false],
    // Removal from the account (next: null).
    [1, 'ADMIN' as const, null, true],
    [2, 'ADMIN' as const, null, false],
    [1, 'MEMBER' as const, null, false],
  ])('%s admin(s), %s becoming %s → no admin left: %s', (admins, before, next, expected) => {
    expect(leavesNoAdmin(admins, before, next)).toBe(expected);
  });

  it.each([
    ['another admin', 'h', 'ADMIN' as const, true],
    ['another member', 'h', 'MEMBER' as const, true],
    ['a guest', 'h', 'GUEST' as const, false],
    ['someone outside the account', 'h', undefined, false],
    ['the person leaving (an admin)', 'd', 'ADMIN' as const, false],
    ['the person leaving (a member)', 'd', 'MEMBER' as const, false],
  ])('what a departing member owns may pass to %s: %s', (_who, userId, role, expected) => {
    expect(canInherit('d', { userId, role })).toBe(expected);
  });

  it('inviting an owner needs the right to manage; inviting a member needs the right to invite', () => {
    expect(inviteQuestion('OWNER')).toBe('workspace:manage');
    expect(inviteQuestion('MEMBER')).toBe('workspace:invite');
  });
});
