import { describe, expect, it } from 'vitest';
import type { AccountRole, WorkspaceFacts, WorkspaceRole, WorkspaceType } from '../../src/access/facts.ts';
import {
  type ContactQuestion,
  decideAnonymize,
  decideContact,
  decideEmail,
  decideEmailContent,
  decideGroup,
  type EmailQuestion,
  type GroupQuestion,
  seesJoinRequest,
} from '../../src/access/rules.ts';

function ws(accountRole: AccountRole | null, memberRole: WorkspaceRole | null, type: WorkspaceType): WorkspaceFacts {
  return {
    workspaceId: 'w1',
    type,
    account: {
      accountId: 'a1',
      role: accountRole,
      policy: {
        workspaceCreators: 'ALL_MEMBERS',
        externalSharing: true,
        memberInviters: 'ADMINS_ONLY',
        memberDomains: [],
        caps: [],
      },
    },
    memberRole,
    reachesAList: false,
    rules: [],
  };
}

type Row = [
  who: string,
  accountRole: AccountRole | null,
  memberRole: WorkspaceRole | null,
  type: WorkspaceType,
  throughList: boolean,
  expected: Record<ContactQuestion, boolean>,
];

const ALL = { 'contact:read': true, 'contact:read-activity': true, 'contact:write': true };
const READ_ONLY = { 'contact:read': true, 'contact:read-activity': true, 'contact:write': false };
const CONTACT_ONLY = { 'contact:read': true, 'contact:read-activity': false, 'contact:write': false };
const NOTHING = { 'contact:read': false, 'contact:read-activity': false, 'contact:write': false };

const matrix: Row[] = [
  ['workspace owner', 'MEMBER', 'OWNER', 'CLOSED', false, ALL],
  ['workspace member', 'MEMBER', 'MEMBER', 'CLOSED', false, ALL],
  ['guest who is a workspace member', 'GUEST', 'MEMBER', 'CLOSED', false, ALL],
  ['account admin, not a member, open workspace', 'ADMIN', null, 'OPEN', false, ALL],
  // Behind the lock admins read no content: they join first.
  ['account admin, not a member, closed workspace', 'ADMIN', null, 'CLOSED', false, NOTHING],
  ['account admin, not a member, private workspace', 'ADMIN', null, 'PRIVATE', false, NOTHING],
  ['account admin, member of a private workspace', 'ADMIN', 'MEMBER', 'PRIVATE', false, ALL],
  ['workspace member of a private workspace', 'MEMBER', 'MEMBER', 'PRIVATE', false, ALL],
  ['account member of a private workspace, through a list', 'MEMBER', null, 'PRIVATE', true, CONTACT_ONLY],
  ['account member of an open workspace, not joined', 'MEMBER', null, 'OPEN', false, READ_ONLY],
  ['account member of a closed workspace', 'MEMBER', null, 'CLOSED', false, NOTHING],
  ['account member of a closed workspace, through a list', 'MEMBER', null, 'CLOSED', true, CONTACT_ONLY],
  ['guest', 'GUEST', null, 'OPEN', false, NOTHING],
  ['guest through a shared list', 'GUEST', null, 'OPEN', true, CONTACT_ONLY],
  ['outsider', null, null, 'OPEN', false, NOTHING],
  ['outsider through a shared list', null, null, 'CLOSED', true, CONTACT_ONLY],
];

describe('contact rules', () => {
  for (const [who, accountRole, memberRole, type, throughList, expected] of matrix) {
    for (const question of Object.keys(expected) as ContactQuestion[]) {
      it(`${who}: ${question} → ${expected[question]}`, () => {
        const decision = decideContact(ws(accountRole, memberRole, type), question, throughList);
        expect(decision.allowed).toBe(expected[question]);
        expect(decision.reasons.length).toBeGreaterThan(0);
      });
    }
  }

  it('a workspace member writes without any list; the list only ever opens reading', () => {
    expect(decideContact(ws('MEMBER', 'MEMBER', 'CLOSED'), 'contact:write').reasons.at(-1)?.rule).toBe('contact.write');
    expect(decideContact(ws('GUEST', null, 'OPEN'), 'contact:read', true).reasons.at(-1)?.rule).toBe('contact.list');
  });
});

describe('email content', () => {
  it('is for its owner only', () => {
    expect(decideEmailContent('u1', { ownerId: 'u1' }).allowed).toBe(true);
    expect(decideEmailContent('u2', { ownerId: 'u1' }).allowed).toBe(false);
    expect(decideEmailContent(null, { ownerId: 'u1' }).allowed).toBe(false);
    expect(decideEmailContent('u1', { ownerId: null }).allowed).toBe(false);
  });
});

describe('anonymisation rules', () => {
  const facts = (roles: (AccountRole | null)[], targetId = 't') => ({
    viewerId: 'admin',
    targetId,
    accounts: roles.map((viewerRole, i) => ({ accountId: `a${i}`, viewerRole })),
  });
  const cases: [string, ReturnType<typeof facts>, boolean, AccountRole | null, string][] = [
    ['admin of the only account', facts(['ADMIN']), true, 'ADMIN', 'account.admin'],
    ['admin of every account', facts(['ADMIN', 'ADMIN']), true, 'ADMIN', 'account.admin'],
    ['admin of one of two accounts', facts(['ADMIN', null]), false, 'ADMIN', 'account.admin'],
    ['admin here, member there', facts(['ADMIN', 'MEMBER']), false, 'ADMIN', 'account.admin'],
    ['member', facts(['MEMBER']), false, 'MEMBER', 'account.admin'],
    ['guest', facts(['GUEST']), false, 'GUEST', 'account.admin'],
    ['outsider', facts([null]), false, null, 'account.member'],
    ['nobody in no account', facts([]), false, null, 'account.member'],
    ['themselves', facts(['ADMIN'], 'admin'), false, 'ADMIN', 'anonymize.self'],
  ];
  for (const [who, f, allowed, role, rule] of cases) {
    it(`${who} → ${allowed}`, () => {
      const decision = decideAnonymize(f);
      expect(decision.allowed).toBe(allowed);
      expect(decision.role).toBe(role);
      expect(decision.reasons.at(-1)?.rule).toBe(rule);
    });
  }
});

describe('emails: the workspace sees them, only the owner changes or deletes one', () => {
  type EmailRow = [
    who: string,
    accountRole: AccountRole | null,
    memberRole: WorkspaceRole | null,
    type: WorkspaceType,
    owner: boolean,
    expected: Record<EmailQuestion, boolean>,
  ];
  const OWNS = { 'email:see': true, 'email:write': true };
  const SEES = { 'email:see': true, 'email:write': false };
  const NEITHER = { 'email:see': false, 'email:write': false };
  const rows: EmailRow[] = [
    ['owner, workspace member', 'MEMBER', 'MEMBER', 'CLOSED', true, OWNS],
    ['another workspace member', 'MEMBER', 'MEMBER', 'CLOSED', false, SEES],
    ['workspace owner, not the email owner', 'MEMBER', 'OWNER', 'CLOSED', false, SEES],
    ['account admin, not the owner', 'ADMIN', null, 'OPEN', false, SEES],
    ['account member of an open workspace', 'MEMBER', null, 'OPEN', false, SEES],
    ['owner who left the closed workspace', 'MEMBER', null, 'CLOSED', true, NEITHER],
    ['account member of a closed workspace', 'MEMBER', null, 'CLOSED', false, NEITHER],
    ['guest', 'GUEST', null, 'OPEN', false, NEITHER],
    ['outsider', null, null, 'OPEN', false, NEITHER],
  ];
  for (const [who, accountRole, memberRole, type, owner, expected] of rows) {
    for (const question of Object.keys(expected) as EmailQuestion[]) {
      it(`${who}: ${question} → ${expected[question]}`, () => {
        const email = { ownerId: owner ? 'viewer' : 'someone' };
        const decision = decideEmail(ws(accountRole, memberRole, type), 'viewer', email, question);
        expect(decision.allowed).toBe(expected[question]);
        expect(decision.reasons.length).toBeGreaterThan(0);
      });
    }
  }
});

describe('groups and rights: members see them, admins manage them, to anyone else they do not exist', () => {
  const account = (role: AccountRole | null) => ws(role, null, 'OPEN').account;
  const rows: [AccountRole | null, Record<GroupQuestion, boolean>][] = [
    ['ADMIN', { 'group:see': true, 'group:manage': true }],
    ['MEMBER', { 'group:see': true, 'group:manage': false }],
    ['GUEST', { 'group:see': false, 'group:manage': false }],
    [null, { 'group:see': false, 'group:manage': false }],
  ];
  for (const [role, expected] of rows) {
    for (const question of Object.keys(expected) as GroupQuestion[]) {
      it(`account ${role ?? 'outsider'}: ${question} → ${expected[question]}`, () => {
        expect(decideGroup(account(role), question).allowed).toBe(expected[question]);
      });
    }
  }
});

describe('join requests', () => {
  const decide = (allowed: boolean) => ({ allowed, role: null, reasons: [] });
  it.each([
    ['who asked', 'u1', false, true],
    ['who may decide it', 'u2', true, true],
    ['anyone else', 'u2', false, false],
  ] as const)('are seen by %s', (_who, viewer, mayDecide, expected) => {
    expect(seesJoinRequest(viewer, { userId: 'u1' }, decide(mayDecide))).toBe(expected);
  });
});
