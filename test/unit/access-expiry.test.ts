import { describe, expect, it } from 'vitest';
import type { ListFacts, ListRole, ShareGrant, WorkspaceFacts } from '../../src/access/facts.ts';
import { decideList, decideWorkspace, inForce, listRole, workspaceStanding } from '../../src/access/rules.ts';

const PAST = new Date('2001-01-01T00:00:00.000Z');
const FUTURE = new Date('2999-01-01T00:00:00.000Z');

function workspace(o: { memberRole?: 'OWNER' | 'MEMBER' | null; memberExpiresAt?: Date | null } = {}): WorkspaceFacts {
  return {
    workspaceId: 'w1',
    type: 'PRIVATE',
    account: {
      accountId: 'a1',
      role: 'MEMBER',
      policy: {
        workspaceCreators: 'ALL_MEMBERS',
        externalSharing: true,
        memberInviters: 'ADMINS_ONLY',
        memberDomains: [],
        caps: [],
      },
    },
    memberRole: o.memberRole ?? null,
    memberExpiresAt: o.memberExpiresAt ?? null,
    reachesAList: false,
    rules: [],
  };
}

function list(o: {
  grants?: ShareGrant[];
  link?: boolean;
  linkExpiresAt?: Date | null;
  ws?: WorkspaceFacts;
  access?: ListFacts['generalAccess'];
}): ListFacts {
  return {
    listId: 'l1',
    kind: 'SHAREABLE',
    generalAccess: o.access ?? (o.link ? 'ANYONE_WITH_LINK' : 'RESTRICTED'),
    generalRole: 'EDITOR',
    isCreator: false,
    hasValidLinkToken: o.link ?? false,
    linkExpiresAt: o.linkExpiresAt ?? null,
    grants: o.grants ?? [],
    workspace: o.ws ?? workspace(),
  };
}

const share = (via: ShareGrant['via'], role: ListRole, expiresAt: Date | null): ShareGrant => ({
  shareId: `s-${via}-${role}`,
  role,
  via,
  principalId: `p-${via}`,
  expiresAt,
});

describe('inForce: a grant ends at its instant', () => {
  const now = Date.parse('2026-12-06T12:00:00.000Z');
  const rows: [string, Date | null | undefined, boolean][] = [
    ['no expiry', null, true],
    ['absent expiry', undefined, true],
    ['a millisecond ahead', new Date(now + 1), true],
    ['exactly now', new Date(now), false],
    ['a millisecond ago', new Date(now - 1), false],
  ];
  for (const [label, expiresAt, expected] of rows) {
    it(`${label} → ${expected}`, () => expect(inForce(expiresAt, now)).toBe(expected));
  }
});

describe('list: expired grants give nothing; live ones show their expiry', () => {
  // [label, facts, expected role, rule expected among the reasons, expiry expected on that reason]
  const rows: [string, ListFacts, ListRole | null, string, Date | null][] = [];
  for (const via of ['USER', 'GROUP', 'RIGHT'] as const) {
    const rule = `list.share.${via.toLowerCase()}`;
    rows.push([`${via} share, never ends`, list({ grants: [share(via, 'EDITOR', null)] }), 'EDITOR', rule, null]);
    rows.push([`${via} share, ends later`, list({ grants: [share(via, 'EDITOR', FUTURE)] }), 'EDITOR', rule, FUTURE]);
    rows.push([`${via} share, ended`, list({ grants: [share(via, 'EDITOR', PAST)] }), null, 'list.restricted', null]);
    rows.push([
      `${via} CO_OWNER ended + VIEWER live`,
      list({ grants: [share(via, 'CO_OWNER', PAST), share('USER', 'VIEWER', FUTURE)] }),
      'VIEWER',
      'list.share.user',
      FUTURE,
    ]);
  }
  rows.push(['link, never ends', list({ link: true }), 'VIEWER', 'list.general.link', null]);
  rows.push(['link, ends later', list({ link: true, linkExpiresAt: FUTURE }), 'VIEWER', 'list.general.link', FUTURE]);
  rows.push(['link, ended', list({ link: true, linkExpiresAt: PAST }), null, 'list.restricted', null]);
  rows.push([
    'workspace member, membership ended: WORKSPACE access gives nothing',
    list({ access: 'WORKSPACE', ws: workspace({ memberRole: 'MEMBER', memberExpiresAt: PAST }) }),
    null,
    'list.restricted',
    null,
  ]);
  rows.push([
    'workspace member, membership ends later: WORKSPACE access holds',
    list({ access: 'WORKSPACE', ws: workspace({ memberRole: 'MEMBER', memberExpiresAt: FUTURE }) }),
    'EDITOR',
    'list.general.workspace',
    null,
  ]);
  for (const [label, facts, role, rule, expiresAt] of rows) {
    it(`${label} → ${role ?? 'no access'}`, () => {
      const d = listRole(facts);
      expect(d.role).toBe(role);
      expect(decideList(facts, 'list:read').allowed).toBe(role !== null);
      const reason = d.reasons.find((r) => r.rule === rule);
      expect(reason).toBeDefined();
      expect(reason?.expiresAt ?? null).toEqual(expiresAt);
      if (expiresAt) expect(reason?.detail).toContain(`until ${expiresAt.toISOString()}`);
    });
  }
});

describe('workspace: an ended membership is no membership', () => {
  const rows: [string, WorkspaceFacts, boolean, Date | null][] = [
    ['member, never ends', workspace({ memberRole: 'MEMBER' }), true, null],
    ['member, ends later', workspace({ memberRole: 'MEMBER', memberExpiresAt: FUTURE }), true, FUTURE],
    ['member, ended', workspace({ memberRole: 'MEMBER', memberExpiresAt: PAST }), false, null],
  ];
  for (const [label, facts, reads, expiresAt] of rows) {
    it(`${label} → ${reads ? 'reads it' : 'does not'}`, () => {
      expect(decideWorkspace(facts, 'workspace:read').allowed).toBe(reads);
      const standing = workspaceStanding(facts);
      expect(standing.role).toBe(reads ? 'MEMBER' : null);
      if (reads) expect(standing.reasons[0]?.expiresAt ?? null).toEqual(expiresAt);
    });
  }
});
