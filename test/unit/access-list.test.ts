import { describe, expect, it } from 'vitest';
import type {
  AccountRole,
  GeneralAccess,
  ListFacts,
  ListKind,
  ListRole,
  ShareGrant,
  WorkspaceRole,
  WorkspaceType,
} from '../../src/access/facts.ts';
import {
  createListAction,
  decideGeneralAccess,
  decideList,
  decideShare,
  decideUpdate,
  type ListQuestion,
  listRole,
  type SharePrincipal,
  seesSharePrincipal,
  type UpdateQuestion,
} from '../../src/access/rules.ts';

interface Opts {
  accountRole?: AccountRole | null;
  memberRole?: WorkspaceRole | null;
  type?: WorkspaceType;
  access?: GeneralAccess;
  generalRole?: ListRole;
  kind?: ListKind;
  isCreator?: boolean;
  link?: boolean;
  grants?: ShareGrant[];
  externalSharing?: boolean;
  /** Workspace rules written by the owner for the viewer's audience. */
  deny?: ('POST_UPDATE' | 'REPLY' | 'COMMENT')[];
  /** Account caps taking the action away from the viewer's account role. */
  cap?: ('POST_UPDATE' | 'REPLY' | 'COMMENT')[];
}

function facts(o: Opts = {}): ListFacts {
  const accountRole = o.accountRole === undefined ? 'MEMBER' : o.accountRole;
  const memberRole = o.memberRole ?? null;
  const audience = memberRole ?? 'NON_MEMBER';
  return {
    listId: 'l1',
    kind: o.kind ?? 'MAIN',
    generalAccess: o.access ?? 'RESTRICTED',
    generalRole: o.generalRole ?? 'VIEWER',
    isCreator: o.isCreator ?? false,
    hasValidLinkToken: o.link ?? false,
    grants: o.grants ?? [],
    workspace: {
      workspaceId: 'w1',
      type: o.type ?? 'OPEN',
      account: {
        accountId: 'a1',
        role: accountRole,
        policy: {
          workspaceCreators: 'ALL_MEMBERS',
          externalSharing: o.externalSharing ?? true,
          memberInviters: 'ADMINS_ONLY',
          memberDomains: [],
          caps: (o.cap ?? []).map((action) => ({ action, role: accountRole ?? 'GUEST', allowed: false })),
        },
      },
      memberRole,
      reachesAList: (o.grants ?? []).length > 0 || (o.access ?? 'RESTRICTED') !== 'RESTRICTED',
      rules: (o.deny ?? []).map((action) => ({ audience, action, allowed: false })),
    },
  };
}

const grant = (via: ShareGrant['via'], role: ListRole): ShareGrant => ({
  shareId: `s-${via}`,
  role,
  via,
  principalId: `p-${via}`,
});

type Who = [label: string, accountRole: AccountRole | null, memberRole: WorkspaceRole | null];
const OWNER: Who = ['workspace owner', 'MEMBER', 'OWNER'];
const WS_MEMBER: Who = ['workspace member', 'MEMBER', 'MEMBER'];
const ACCOUNT_MEMBER: Who = ['account member, not in workspace', 'MEMBER', null];
const ADMIN: Who = ['account admin, not in workspace', 'ADMIN', null];
const ADMIN_JOINED: Who = ['account admin, workspace member', 'ADMIN', 'MEMBER'];
const GUEST: Who = ['account guest', 'GUEST', null];
const OUTSIDER: Who = ['outside the account', null, null];

describe('general access × workspace type × workspace role × account role', () => {
  // [who, workspace type, general access, general role, presents link, expected role]
  const table: [Who, WorkspaceType, GeneralAccess, ListRole, boolean, ListRole | null][] = [];
  const row = (
    who: Who,
    type: WorkspaceType,
    access: GeneralAccess,
    role: ListRole,
    expected: ListRole | null,
    link = false,
  ) => table.push([who, type, access, role, link, expected]);

  for (const type of ['OPEN', 'CLOSED', 'PRIVATE'] as const) {
    // Admins are co-owners of every list of the workspaces whose content they reach: open ones,
    // and closed or private ones once joined. Behind the lock they get only what others get.
    const admin = (otherwise: ListRole | null) => (type === 'OPEN' ? 'CO_OWNER' : otherwise);
    // RESTRICTED: only explicit grants; admins are co-owners where they reach the content.
    row(OWNER, type, 'RESTRICTED', 'VIEWER', null);
    row(WS_MEMBER, type, 'RESTRICTED', 'VIEWER', null);
    row(ACCOUNT_MEMBER, type, 'RESTRICTED', 'VIEWER', null);
    row(ADMIN, type, 'RESTRICTED', 'VIEWER', admin(null));
    row(ADMIN_JOINED, type, 'RESTRICTED', 'VIEWER', 'CO_OWNER');
    row(GUEST, type, 'RESTRICTED', 'VIEWER', null);
    row(OUTSIDER, type, 'RESTRICTED', 'VIEWER', null);
    // GLOBAL: every account admin/member is a viewer; guests and outsiders are not.
    row(OWNER, type, 'GLOBAL', 'VIEWER', 'VIEWER');
    row(ACCOUNT_MEMBER, type, 'GLOBAL', 'VIEWER', 'VIEWER');
    row(ADMIN, type, 'GLOBAL', 'VIEWER', admin('VIEWER'));
    row(GUEST, type, 'GLOBAL', 'VIEWER', null);
    row(OUTSIDER, type, 'GLOBAL', 'VIEWER', null);
    // ANYONE_WITH_LINK: the link makes a viewer, whoever presents it.
    row(ACCOUNT_MEMBER, type, 'ANYONE_WITH_LINK', 'VIEWER', null);
    row(ACCOUNT_MEMBER, type, 'ANYONE_WITH_LINK', 'VIEWER', 'VIEWER', true);
    row(OUTSIDER, type, 'ANYONE_WITH_LINK', 'VIEWER', 'VIEWER', true);
    row(OUTSIDER, type, 'ANYONE_WITH_LINK', 'VIEWER', null);
    row(GUEST, type, 'ANYONE_WITH_LINK', 'VIEWER', 'VIEWER', true);
    row(ADMIN, type, 'ANYONE_WITH_LINK', 'VIEWER', admin('VIEWER'), true);
    row(ADMIN, type, 'ANYONE_WITH_LINK', 'VIEWER', admin(null));
    // WORKSPACE: members always; OWNER too.
    for (const role of ['VIEWER', 'EDITOR'] as const) {
      row(OWNER, type, 'WORKSPACE', role, role);
      row(WS_MEMBER, type, 'WORKSPACE', role, role);
      row(ADMIN, type, 'WORKSPACE', role, admin(null));
      row(ADMIN_JOINED, type, 'WORKSPACE', role, 'CO_OWNER');
      row(GUEST, type, 'WORKSPACE', role, null);
      row(OUTSIDER, type, 'WORKSPACE', role, null);
      // A link does not open a WORKSPACE list.
      row(OUTSIDER, type, 'WORKSPACE', role, null, true);
    }
  }
  // The open-workspace audience: account members who are not workspace members, only when OPEN.
  row(ACCOUNT_MEMBER, 'OPEN', 'WORKSPACE', 'VIEWER', 'VIEWER');
  row(ACCOUNT_MEMBER, 'OPEN', 'WORKSPACE', 'EDITOR', 'EDITOR');
  row(ACCOUNT_MEMBER, 'CLOSED', 'WORKSPACE', 'VIEWER', null);
  row(ACCOUNT_MEMBER, 'CLOSED', 'WORKSPACE', 'EDITOR', null);
  row(ACCOUNT_MEMBER, 'PRIVATE', 'WORKSPACE', 'VIEWER', null);

  it.each(table)('%s in a %s workspace, %s as %s, link %s → %s', (who, type, access, generalRole, link, expected) => {
    const d = listRole(facts({ accountRole: who[1], memberRole: who[2], type, access, generalRole, link }));
    expect(d.role).toBe(expected);
    expect(d.allowed).toBe(expected !== null);
    expect(d.reasons.length).toBeGreaterThan(0);
  });
});

describe('principal kinds: the highest grant wins', () => {
  // [grants, general access (role), expected role, the rule that must be among the reasons]
  const table: [string, ShareGrant[], GeneralAccess, ListRole, ListRole | null, string][] = [];
  for (const via of ['USER', 'GROUP', 'RIGHT'] as const) {
    for (const role of ['VIEWER', 'EDITOR', 'CO_OWNER'] as const) {
      table.push([
        `${via} share ${role}`,
        [grant(via, role)],
        'RESTRICTED',
        'VIEWER',
        role,
        `list.share.${via.toLowerCase()}`,
      ]);
    }
    table.push([
      `${via} VIEWER + workspace EDITOR`,
      [grant(via, 'VIEWER')],
      'WORKSPACE',
      'EDITOR',
      'EDITOR',
      'list.general.workspace',
    ]);
    table.push([
      `${via} CO_OWNER + workspace EDITOR`,
      [grant(via, 'CO_OWNER')],
      'WORKSPACE',
      'EDITOR',
      'CO_OWNER',
      `list.share.${via.toLowerCase()}`,
    ]);
  }
  table.push([
    'user VIEWER + group EDITOR + right CO_OWNER',
    [grant('USER', 'VIEWER'), grant('GROUP', 'EDITOR'), grant('RIGHT', 'CO_OWNER')],
    'RESTRICTED',
    'VIEWER',
    'CO_OWNER',
    'list.share.right',
  ]);
  table.push([
    'group EDITOR + user VIEWER',
    [grant('GROUP', 'EDITOR'), grant('USER', 'VIEWER')],
    'RESTRICTED',
    'VIEWER',
    'EDITOR',
    'list.share.group',
  ]);

  it.each(table)('%s', (_label, grants, access, generalRole, expected, rule) => {
    // A workspace member of a closed workspace, so only the grants and WORKSPACE access count.
    const d = listRole(facts({ memberRole: 'MEMBER', type: 'CLOSED', access, generalRole, grants }));
    expect(d.role).toBe(expected);
    expect(d.reasons.map((r) => r.rule)).toContain(rule);
  });

  it('a share reaches a user outside the account and a guest alike', () => {
    expect(listRole(facts({ accountRole: null, grants: [grant('USER', 'EDITOR')] })).role).toBe('EDITOR');
    expect(listRole(facts({ accountRole: 'GUEST', grants: [grant('USER', 'VIEWER')] })).role).toBe('VIEWER');
  });
});

describe('creator, co-owner and admin special cases', () => {
  it('the creator is CREATOR whatever else applies', () => {
    expect(listRole(facts({ isCreator: true, access: 'WORKSPACE', grants: [grant('USER', 'VIEWER')] })).role).toBe(
      'CREATOR',
    );
    expect(listRole(facts({ isCreator: true, kind: 'PRIVATE' })).role).toBe('CREATOR');
  });
  it('admins are at least CO_OWNER, even on a private list, and a share cannot lower that', () => {
    expect(listRole(facts({ accountRole: 'ADMIN', kind: 'PRIVATE' })).role).toBe('CO_OWNER');
    expect(listRole(facts({ accountRole: 'ADMIN', grants: [grant('USER', 'VIEWER')] })).role).toBe('CO_OWNER');
    expect(listRole(facts({ accountRole: 'ADMIN', isCreator: true })).role).toBe('CREATOR');
  });
  it('a private list reaches nobody but its creator and admins', () => {
    expect(listRole(facts({ kind: 'PRIVATE', memberRole: 'OWNER' })).role).toBeNull();
  });
});

describe('what each role may do', () => {
  const questions: ListQuestion[] = [
    'list:read',
    'list:edit',
    'list:copy',
    'list:post-update',
    'list:reply',
    'list:comment',
    'list:manage-access',
    'list:delete',
  ];
  // [role, allowed questions]
  const table: [ListRole | null, ListQuestion[]][] = [
    [null, []],
    ['VIEWER', ['list:read']],
    ['EDITOR', ['list:read', 'list:edit', 'list:copy', 'list:post-update', 'list:reply', 'list:comment']],
    ['CO_OWNER', questions],
    ['CREATOR', questions],
  ];
  it.each(table)('%s may %j', (role, allowed) => {
    const f =
      role === 'CREATOR'
        ? facts({ isCreator: true, memberRole: 'MEMBER' })
        : facts({ memberRole: 'MEMBER', grants: role ? [grant('USER', role)] : [] });
    for (const q of questions) expect([q, decideList(f, q).allowed]).toEqual([q, allowed.includes(q)]);
  });
});

describe('talking: list role AND workspace rule AND account cap', () => {
  // [who, list role, workspace denies, account caps, question, expected]
  const table: [
    string,
    WorkspaceRole | null,
    ListRole,
    ('POST_UPDATE' | 'REPLY' | 'COMMENT')[],
    ('POST_UPDATE' | 'REPLY' | 'COMMENT')[],
    ListQuestion,
    boolean,
  ][] = [
    ['member editor', 'MEMBER', 'EDITOR', [], [], 'list:post-update', true],
    ['member viewer', 'MEMBER', 'VIEWER', [], [], 'list:comment', false],
    ['member editor, workspace denies POST_UPDATE', 'MEMBER', 'EDITOR', ['POST_UPDATE'], [], 'list:post-update', false],
    [
      'member editor, workspace denies POST_UPDATE, replies',
      'MEMBER',
      'EDITOR',
      ['POST_UPDATE'],
      [],
      'list:reply',
      true,
    ],
    ['member editor, account caps COMMENT', 'MEMBER', 'EDITOR', [], ['COMMENT'], 'list:comment', false],
    ['owner editor, workspace denies REPLY', 'OWNER', 'EDITOR', ['REPLY'], [], 'list:reply', false],
    ['non-member editor (default rules let them talk)', null, 'EDITOR', [], [], 'list:post-update', true],
    ['non-member editor, NON_MEMBER denied COMMENT', null, 'EDITOR', ['COMMENT'], [], 'list:comment', false],
    ['non-member co-owner, NON_MEMBER denied REPLY', null, 'CO_OWNER', ['REPLY'], [], 'list:reply', false],
  ];
  it.each(table)('%s: %s', (_label, memberRole, role, deny, cap, question, expected) => {
    const f = facts({ memberRole, type: 'CLOSED', grants: [grant('USER', role)], deny, cap });
    expect(decideList(f, question).allowed).toBe(expected);
  });
  it('a guest holding an editor share talks only where the account cap lets guests', () => {
    const f = facts({ accountRole: 'GUEST', grants: [grant('USER', 'EDITOR')] });
    // Default caps: guests may not (account.cap), whatever the workspace rule.
    expect(decideList(f, 'list:post-update').allowed).toBe(false);
    expect(decideList(f, 'list:post-update').reasons.map((r) => r.rule)).toContain('account.cap');
  });
});

describe('sharing', () => {
  const user = (accountRole: AccountRole | null, isCreator = false): SharePrincipal => ({
    kind: 'USER',
    accountRole,
    isCreator,
  });
  const group = (sameAccount: boolean): SharePrincipal => ({ kind: 'GROUP', sameAccount });
  const right = (sameAccount: boolean, viewerHoldsIt: boolean): SharePrincipal => ({
    kind: 'RIGHT',
    sameAccount,
    viewerHoldsIt,
  });
  const coOwner = (o: Opts = {}) => facts({ memberRole: 'MEMBER', grants: [grant('USER', 'CO_OWNER')], ...o });
  // [label, facts, principal, role (null: remove), expected]
  const table: [string, ListFacts, SharePrincipal, ListRole | null, boolean][] = [
    ['co-owner shares with an account member', coOwner(), user('MEMBER'), 'EDITOR', true],
    ['co-owner makes another co-owner', coOwner(), user('MEMBER'), 'CO_OWNER', true],
    ['editor cannot share', facts({ grants: [grant('USER', 'EDITOR')] }), user('MEMBER'), 'VIEWER', false],
    ['viewer cannot share', facts({ grants: [grant('USER', 'VIEWER')] }), user('MEMBER'), 'VIEWER', false],
    ['creator shares', facts({ isCreator: true }), user('MEMBER'), 'CO_OWNER', true],
    ['nobody is made CREATOR', coOwner(), user('MEMBER'), 'CREATOR', false],
    ['co-owner cannot change the creator', coOwner(), user('MEMBER', true), 'VIEWER', false],
    ['co-owner cannot remove the creator', coOwner(), user('MEMBER', true), null, false],
    ['admin cannot change the creator either', facts({ accountRole: 'ADMIN' }), user('MEMBER', true), 'EDITOR', false],
    ['co-owner removes a share', coOwner(), user('MEMBER'), null, true],
    ['co-owner shares with a group of the account', coOwner(), { kind: 'GROUP', sameAccount: true }, 'VIEWER', true],
    [
      'nobody shares with another account’s group',
      facts({ accountRole: 'ADMIN' }),
      { kind: 'GROUP', sameAccount: false },
      'VIEWER',
      false,
    ],
    [
      'co-owner shares a right they hold',
      coOwner(),
      { kind: 'RIGHT', sameAccount: true, viewerHoldsIt: true },
      'VIEWER',
      true,
    ],
    [
      'co-owner cannot share a right they lack',
      coOwner(),
      { kind: 'RIGHT', sameAccount: true, viewerHoldsIt: false },
      'VIEWER',
      false,
    ],
    [
      'admin shares a right they lack',
      facts({ accountRole: 'ADMIN' }),
      { kind: 'RIGHT', sameAccount: true, viewerHoldsIt: false },
      'VIEWER',
      true,
    ],
    ['co-owner cannot share with a user outside the account', coOwner(), user(null), 'VIEWER', false],
    ['admin shares with a user outside the account', facts({ accountRole: 'ADMIN' }), user(null), 'VIEWER', true],
    ['email on a SHAREABLE list', coOwner({ kind: 'SHAREABLE' }), { kind: 'EMAIL' }, 'VIEWER', true],
    ['email on a MAIN list', coOwner(), { kind: 'EMAIL' }, 'VIEWER', false],
    ['guest on a MAIN list counts as outside', coOwner(), user('GUEST'), 'VIEWER', false],
    ['guest on a SHAREABLE list', coOwner({ kind: 'SHAREABLE' }), user('GUEST'), 'EDITOR', true],
    [
      'email when the account forbids external sharing',
      coOwner({ kind: 'SHAREABLE', externalSharing: false }),
      { kind: 'EMAIL' },
      'VIEWER',
      false,
    ],
    [
      'admin emails a MAIN list despite the policy',
      facts({ accountRole: 'ADMIN', externalSharing: false }),
      { kind: 'EMAIL' },
      'VIEWER',
      true,
    ],
    // Private lists: invite-only inside the account (users, groups, rights), never outside.
    [
      'the creator shares a private list with a member',
      facts({ isCreator: true, kind: 'PRIVATE' }),
      user('MEMBER'),
      'EDITOR',
      true,
    ],
    ['a co-owner shares a private list with an admin', coOwner({ kind: 'PRIVATE' }), user('ADMIN'), 'VIEWER', true],
    ['a co-owner shares a private list with a group', coOwner({ kind: 'PRIVATE' }), group(true), 'VIEWER', true],
    [
      'a co-owner shares a private list with a right they hold',
      coOwner({ kind: 'PRIVATE' }),
      right(true, true),
      'VIEWER',
      true,
    ],
    [
      'an editor does not share a private list',
      facts({ kind: 'PRIVATE', grants: [grant('USER', 'EDITOR')] }),
      user('MEMBER'),
      'VIEWER',
      false,
    ],
    [
      'a private list is never shared with a guest',
      facts({ isCreator: true, kind: 'PRIVATE' }),
      user('GUEST'),
      'VIEWER',
      false,
    ],
    [
      'a private list is never shared by email',
      facts({ isCreator: true, kind: 'PRIVATE' }),
      { kind: 'EMAIL' },
      'VIEWER',
      false,
    ],
    [
      'an admin does not share a private list by email',
      facts({ accountRole: 'ADMIN', kind: 'PRIVATE' }),
      { kind: 'EMAIL' },
      'VIEWER',
      false,
    ],
    [
      'an admin does not share a private list with a guest',
      facts({ accountRole: 'ADMIN', kind: 'PRIVATE' }),
      user('GUEST'),
      'VIEWER',
      false,
    ],
    [
      'an admin does not share a private list outside the account',
      facts({ accountRole: 'ADMIN', kind: 'PRIVATE' }),
      user(null),
      'VIEWER',
      false,
    ],
    [
      'a private list is not shared with another account’s group',
      facts({ isCreator: true, kind: 'PRIVATE' }),
      group(false),
      'VIEWER',
      false,
    ],
    ['outsider cannot share', facts({ accountRole: null }), user('MEMBER'), 'VIEWER', false],
  ];
  it.each(table)('%s', (_label, f, principal, role, expected) => {
    const d = decideShare(f, principal, role);
    expect(d.allowed).toBe(expected);
    if (!expected) expect(d.reasons.some((r) => r.effect === 'DENY')).toBe(true);
  });
});

describe('general access changes', () => {
  const coOwner = (o: Opts = {}) => facts({ memberRole: 'MEMBER', grants: [grant('USER', 'CO_OWNER')], ...o });
  const table: [string, ListFacts, GeneralAccess, ListRole, boolean][] = [
    ['co-owner sets WORKSPACE editors', coOwner(), 'WORKSPACE', 'EDITOR', true],
    ['co-owner sets a link', coOwner(), 'ANYONE_WITH_LINK', 'VIEWER', true],
    ['a link never makes editors', coOwner(), 'ANYONE_WITH_LINK', 'EDITOR', false],
    ['co-owner cannot set GLOBAL', coOwner(), 'GLOBAL', 'VIEWER', false],
    ['admin sets GLOBAL', facts({ accountRole: 'ADMIN' }), 'GLOBAL', 'VIEWER', true],
    ['creator (not admin) cannot set GLOBAL', facts({ isCreator: true }), 'GLOBAL', 'VIEWER', false],
    ['editor cannot change access', facts({ grants: [grant('USER', 'EDITOR')] }), 'RESTRICTED', 'VIEWER', false],
    ['general access never gives CO_OWNER', coOwner(), 'WORKSPACE', 'CO_OWNER', false],
    ['a private list stays restricted', facts({ isCreator: true, kind: 'PRIVATE' }), 'WORKSPACE', 'VIEWER', false],
    ['a private list may be set RESTRICTED', facts({ isCreator: true, kind: 'PRIVATE' }), 'RESTRICTED', 'VIEWER', true],
  ];
  it.each(table)('%s', (_label, f, access, role, expected) => {
    expect(decideGeneralAccess(f, access, role).allowed).toBe(expected);
  });
  it('a guest admin-like GLOBAL request is refused for non-admins with a reason', () => {
    const d = decideGeneralAccess(facts({ isCreator: true }), 'GLOBAL', 'VIEWER');
    expect(d.reasons.at(-1)).toMatchObject({ rule: 'account.admin', effect: 'DENY' });
  });
  it('each kind maps to its create permission', () => {
    expect(createListAction('MAIN')).toBe('CREATE_MAIN_LIST');
    expect(createListAction('SHAREABLE')).toBe('CREATE_SHAREABLE_LIST');
    expect(createListAction('PRIVATE')).toBe('CREATE_PRIVATE_LIST');
  });
});

describe('updates, replies and comments: the author edits and deletes, co-owners delete any', () => {
  type UpdateRow = [who: string, o: Opts, isAuthor: boolean, expected: Record<UpdateQuestion, boolean | 'NOT_FOUND'>];
  const NONE = { 'update:edit': false, 'update:delete': false };
  const OWN = { 'update:edit': true, 'update:delete': true };
  const MODERATE = { 'update:edit': false, 'update:delete': true };
  const UNSEEN = { 'update:edit': 'NOT_FOUND', 'update:delete': 'NOT_FOUND' } as const;
  const rows: UpdateRow[] = [
    ['author, list EDITOR', { grants: [grant('USER', 'EDITOR')] }, true, OWN],
    ['author, demoted to VIEWER', { grants: [grant('USER', 'VIEWER')] }, true, OWN],
    ['author who lost the list', {}, true, UNSEEN],
    ['another VIEWER', { grants: [grant('USER', 'VIEWER')] }, false, NONE],
    ['another EDITOR', { grants: [grant('GROUP', 'EDITOR')] }, false, NONE],
    [
      'workspace member through WORKSPACE access (EDITOR)',
      { access: 'WORKSPACE', generalRole: 'EDITOR', memberRole: 'MEMBER' },
      false,
      NONE,
    ],
    ['a CO_OWNER', { grants: [grant('RIGHT', 'CO_OWNER')] }, false, MODERATE],
    ['the list creator', { isCreator: true }, false, MODERATE],
    ['account admin (at least co-owner)', { accountRole: 'ADMIN' }, false, MODERATE],
    ['link viewer', { access: 'ANYONE_WITH_LINK', link: true, accountRole: null }, false, NONE],
    ['outsider', { accountRole: null }, false, UNSEEN],
    ['account member, restricted list', {}, false, UNSEEN],
  ];
  for (const [who, o, isAuthor, expected] of rows) {
    for (const question of Object.keys(expected) as UpdateQuestion[]) {
      it(`${who}: ${question} → ${expected[question]}`, () => {
        const decision = decideUpdate(facts(o), isAuthor, question);
        const want = expected[question];
        expect(decision.allowed).toBe(want === true);
        // NOT_FOUND: the list is unreadable, so the update does not exist to them (role null).
        expect(decision.role === null).toBe(want === 'NOT_FOUND');
        expect(decision.reasons.length).toBeGreaterThan(0);
      });
    }
  }
});

describe('naming a principal in a new share: who cannot see it is told it does not exist', () => {
  const account = (accountRole: AccountRole | null) => facts({ accountRole }).workspace.account;
  const rows: [string, Opts, Parameters<typeof seesSharePrincipal>[1], boolean][] = [
    ['co-owner, a person they see', {}, { kind: 'USER', seenByViewer: true }, true],
    ['co-owner, a person they do not see', {}, { kind: 'USER', seenByViewer: false }, false],
    ['account admin, a person they do not see', { accountRole: 'ADMIN' }, { kind: 'USER', seenByViewer: false }, true],
    ['a group of their account (member)', {}, { kind: 'GROUP', account: account('MEMBER') }, true],
    ['a group of their account (admin)', {}, { kind: 'GROUP', account: account('ADMIN') }, true],
    [
      'a group, as a guest of its account',
      { accountRole: 'GUEST' },
      { kind: 'GROUP', account: account('GUEST') },
      false,
    ],
    ['a right of another account', {}, { kind: 'RIGHT', account: account(null) }, false],
    ['admin, a right of another account', { accountRole: 'ADMIN' }, { kind: 'RIGHT', account: account(null) }, false],
  ];
  for (const [who, o, principal, expected] of rows) {
    it(`${who} → ${expected}`, () => {
      expect(seesSharePrincipal(facts({ grants: [grant('USER', 'CO_OWNER')], ...o }), principal)).toBe(expected);
    });
  }
});
