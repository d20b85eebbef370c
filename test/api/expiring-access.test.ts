import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { snapshot, startTestServer, type TestServer } from '../helpers/server.ts';

const ShareList = graphql(`
  mutation ExShareList($input: ShareListInput!) {
    shareList(input: $input) {
      __typename
      ... on ShareListPayload { share { id expiresAt } }
      ... on ValidationError { path }
      ... on Error { code message }
    }
  }
`);
const UpdateShare = graphql(`
  mutation ExUpdateShare($input: UpdateShareInput!) {
    updateShare(input: $input) {
      __typename
      ... on UpdateSharePayload { share { id role expiresAt } }
      ... on ValidationError { path }
      ... on Error { code message }
    }
  }
`);
const SetGeneralAccess = graphql(`
  mutation ExSetGeneralAccess($input: SetListGeneralAccessInput!) {
    setListGeneralAccess(input: $input) {
      __typename
      ... on SetListGeneralAccessPayload { list { id generalAccess linkToken linkExpiresAt } }
      ... on ValidationError { path }
      ... on Error { code message }
    }
  }
`);
const Invite = graphql(`
  mutation ExInvite($input: InviteToWorkspaceInput!) {
    inviteToWorkspace(input: $input) {
      __typename
      ... on InviteToWorkspacePayload { invitation { id membershipExpiresAt } }
      ... on ValidationError { path }
      ... on Error { code message }
    }
  }
`);
const Accept = graphql(`
  mutation ExAccept($input: AcceptInvitationInput!) {
    acceptInvitation(input: $input) { __typename ... on Error { code message } }
  }
`);
const ReadList = graphql(`
  query ExReadList($id: ID!, $linkToken: String) { list(id: $id, linkToken: $linkToken) { id name viewerRole } }
`);
const ReadWorkspace = graphql(`
  query ExReadWorkspace($id: ID!) { workspace(id: $id) { id viewerRole lists(first: 10) { edges { node { id } } } } }
`);
const SharedWithMe = graphql(`
  query ExSharedWithMe { sharedWithMe(first: 10) { edges { node { id } } } }
`);
const Explain = graphql(`
  query ExExplain($resourceId: ID!, $userId: ID!) {
    explainAccess(resourceId: $resourceId, userId: $userId) {
      role
      decisions { question allowed reasons { rule detail expiresAt } }
    }
  }
`);
const Audit = graphql(`
  query ExAudit($resourceId: ID!) { auditLog(resourceId: $resourceId, first: 100) { edges { node { action } } } }
`);

const OWNER = 'owner@expiry.test';
const MEMBER = 'member@expiry.test';
const CONTRACTOR = 'contractor@expiry.test';

let t: TestServer;
let h: ReturnType<typeof listHelpers>;
let accountId: string;
let workspaceId: string;

beforeAll(async () => {
  t = await startTestServer();
  h = listHelpers(t);
  accountId = await h.account(OWNER, [MEMBER]);
  workspaceId = (await h.workspace(accountId, OWNER, 'PRIVATE')).id;
});
afterAll(() => t?.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Returns once the clock reads `at` (a timer may fire a millisecond early). */
async function until(at: number): Promise<void> {
  while (Date.now() < at) await sleep(at - Date.now());
}

/** Waits (at most 5 s) until the resource's audit trail holds `action`, then returns how many times. */
async function auditedTimes(resourceId: string, action: string): Promise<number> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const res = await t.ok(Audit, { resourceId }, OWNER);
    const n = res.auditLog?.edges.filter((e) => e.node.action === action).length ?? 0;
    if (n > 0 || Date.now() > deadline) return n;
    await sleep(100);
  }
}

describe('past expiries are a ValidationError with its path, and change nothing', () => {
  const past = new Date(Date.now() - 60_000).toISOString();
  it('shareList, updateShare, setListGeneralAccess, inviteToWorkspace', async () => {
    const listId = await h.list(workspaceId, OWNER, 'SHAREABLE', 'Past');
    const memberId = await h.userId(MEMBER);
    const shareId = await h.share(OWNER, { listId, role: 'VIEWER', userId: memberId });
    const before = await snapshot(t);
    const share = await t.ok(
      ShareList,
      { input: { listId, role: 'EDITOR', email: 'x@else.test', expiresAt: past } },
      OWNER,
    );
    expect(share.shareList).toMatchObject({ __typename: 'ValidationError', path: ['input', 'expiresAt'] });
    const update = await t.ok(UpdateShare, { input: { shareId, role: 'EDITOR', expiresAt: past } }, OWNER);
    expect(update.updateShare).toMatchObject({ __typename: 'ValidationError', path: ['input', 'expiresAt'] });
    const link = await t.ok(
      SetGeneralAccess,
      { input: { listId, access: 'ANYONE_WITH_LINK', linkExpiresAt: past } },
      OWNER,
    );
    expect(link.setListGeneralAccess).toMatchObject({
      __typename: 'ValidationError',
      path: ['input', 'linkExpiresAt'],
    });
    const invite = await t.ok(Invite, { input: { workspaceId, email: CONTRACTOR, expiresAt: past } }, OWNER);
    expect(invite.inviteToWorkspace).toMatchObject({ __typename: 'ValidationError', path: ['input', 'expiresAt'] });
    const owner = await t.ok(
      Invite,
      {
        input: {
          workspaceId,
          email: CONTRACTOR,
          role: 'OWNER',
          expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
        },
      },
      OWNER,
    );
    expect(owner.inviteToWorkspace).toMatchObject({ __typename: 'ValidationError', path: ['input', 'expiresAt'] });
    const restricted = await t.ok(
      SetGeneralAccess,
      { input: { listId, access: 'WORKSPACE', linkExpiresAt: new Date(Date.now() + 3_600_000).toISOString() } },
      OWNER,
    );
    expect(restricted.setListGeneralAccess).toMatchObject({
      __typename: 'ValidationError',
      path: ['input', 'linkExpiresAt'],
    });
    expect(await snapshot(t)).toEqual(before);
  });
});

describe('a share ends at its instant', () => {
  it('reads stop at the instant, explainAccess shows the expiry, the audit records share.expire once', async () => {
    const listId = await h.list(workspaceId, OWNER, 'SHAREABLE', 'Expiring');
    const memberId = await h.userId(MEMBER);
    const at = Date.now() + 5_000;
    const expiresAt = new Date(at).toISOString();
    const res = await t.ok(ShareList, { input: { listId, role: 'EDITOR', userId: memberId, expiresAt } }, OWNER);
    expect(res.shareList).toMatchObject({ __typename: 'ShareListPayload', share: { expiresAt } });

    const explained = await t.ok(Explain, { resourceId: listId, userId: memberId }, OWNER);
    expect(explained.explainAccess?.role).toBe('EDITOR');
    const reason = explained.explainAccess?.decisions[0]?.reasons.find((r) => r.rule === 'list.share.user');
    expect(reason).toMatchObject({ expiresAt, detail: expect.stringContaining(`until ${expiresAt}`) });

    // Warm every cache the instance keeps: the same answers, asked again and again.
    for (let i = 0; i < 3; i++) {
      expect((await t.ok(ReadList, { id: listId }, MEMBER)).list).toMatchObject({ viewerRole: 'EDITOR' });
      const shared = await t.ok(SharedWithMe, {}, MEMBER);
      expect(shared.sharedWithMe.edges.map((e) => e.node.id)).toContain(listId);
    }
    await until(at);
    expect((await t.ok(ReadList, { id: listId }, MEMBER)).list).toBeNull();
    const shared = await t.ok(SharedWithMe, {}, MEMBER);
    expect(shared.sharedWithMe.edges.map((e) => e.node.id)).not.toContain(listId);
    expect((await t.ok(Explain, { resourceId: listId, userId: memberId }, OWNER)).explainAccess?.role).toBeNull();

    expect(await auditedTimes(listId, 'share.expire')).toBe(1);
    // Later sweeps find nothing more to record.
    await sleep(1_500);
    expect(await auditedTimes(listId, 'share.expire')).toBe(1);
  });

  it('updateShare sets, moves and clears the expiry', async () => {
    const listId = await h.list(workspaceId, OWNER, 'SHAREABLE', 'Moved');
    const shareId = await h.share(OWNER, { listId, role: 'VIEWER', userId: await h.userId(MEMBER) });
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const set = await t.ok(UpdateShare, { input: { shareId, role: 'VIEWER', expiresAt: later } }, OWNER);
    expect(set.updateShare).toMatchObject({ share: { expiresAt: later } });
    const kept = await t.ok(UpdateShare, { input: { shareId, role: 'EDITOR' } }, OWNER);
    expect(kept.updateShare).toMatchObject({ share: { role: 'EDITOR', expiresAt: later } });
    const cleared = await t.ok(UpdateShare, { input: { shareId, role: 'EDITOR', expiresAt: null } }, OWNER);
    expect(cleared.updateShare).toMatchObject({ share: { expiresAt: null } });
  });
});

describe('an email share keeps its end once accepted', () => {
  it('the share the guest holds after acceptance ends when the email share would have', async () => {
    const listId = await h.list(workspaceId, OWNER, 'SHAREABLE', 'For a guest');
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const guest = 'guest@elsewhere.test';
    const res = await t.ok(ShareList, { input: { listId, role: 'VIEWER', email: guest, expiresAt } }, OWNER);
    expect(res.shareList).toMatchObject({ __typename: 'ShareListPayload', share: { expiresAt } });
    const mail = await t.server.services.db.mailOutbox.findFirstOrThrow({
      where: { to: guest },
      orderBy: { id: 'desc' },
    });
    const token = /\/invitations\/([A-Za-z0-9_-]+)/.exec(mail.text)?.[1] ?? '';
    expect((await t.ok(Accept, { input: { token } }, guest)).acceptInvitation.__typename).toBe(
      'AcceptInvitationPayload',
    );
    const shares = await t.ok(
      graphql(`query ExShares($id: ID!) { list(id: $id) { shares { expiresAt email user { email } } } }`),
      { id: listId },
      OWNER,
    );
    expect(shares.list?.shares).toEqual([{ expiresAt, email: null, user: { email: guest } }]);
    const explained = await t.ok(Explain, { resourceId: listId, userId: await h.userId(guest) }, OWNER);
    expect(explained.explainAccess?.decisions[0]?.reasons.find((r) => r.rule === 'list.share.user')?.expiresAt).toBe(
      expiresAt,
    );
  });
});

describe('a link ends at its instant', () => {
  it('the link opens the list until then; then general access is RESTRICTED, audited once', async () => {
    const listId = await h.list(workspaceId, OWNER, 'SHAREABLE', 'Linked');
    const at = Date.now() + 4_000;
    const linkExpiresAt = new Date(at).toISOString();
    const res = await t.ok(SetGeneralAccess, { input: { listId, access: 'ANYONE_WITH_LINK', linkExpiresAt } }, OWNER);
    if (res.setListGeneralAccess.__typename !== 'SetListGeneralAccessPayload') throw new Error('not set');
    const { linkToken } = res.setListGeneralAccess.list;
    expect(res.setListGeneralAccess.list.linkExpiresAt).toBe(linkExpiresAt);
    for (let i = 0; i < 3; i++)
      expect((await t.ok(ReadList, { id: listId, linkToken }, null)).list).toMatchObject({ viewerRole: 'VIEWER' });
    await until(at);
    expect((await t.ok(ReadList, { id: listId, linkToken }, null)).list).toBeNull();
    expect(await auditedTimes(listId, 'list.link-expire')).toBe(1);
    const after = await t.ok(
      graphql(`query ExListAccess($id: ID!) { list(id: $id) { generalAccess linkExpiresAt } }`),
      { id: listId },
      OWNER,
    );
    expect(after.list).toEqual({ generalAccess: 'RESTRICTED', linkExpiresAt: null });
  });
});

describe("a contractor's membership ends at its instant", () => {
  it('invited with expiresAt, accepted, the workspace and its lists close at the instant; member.expire once', async () => {
    const listId = await h.list(workspaceId, OWNER, 'MAIN', 'Team list');
    const at = Date.now() + 6_000;
    const expiresAt = new Date(at).toISOString();
    const invited = await t.ok(Invite, { input: { workspaceId, email: CONTRACTOR, expiresAt } }, OWNER);
    expect(invited.inviteToWorkspace).toMatchObject({ invitation: { membershipExpiresAt: expiresAt } });
    const mail = await t.server.services.db.mailOutbox.findFirstOrThrow({
      where: { to: CONTRACTOR },
      orderBy: { id: 'desc' },
    });
    const token = /\/invitations\/([A-Za-z0-9_-]+)/.exec(mail.text)?.[1] ?? '';
    expect((await t.ok(Accept, { input: { token } }, CONTRACTOR)).acceptInvitation.__typename).toBe(
      'AcceptInvitationPayload',
    );
    const contractorId = await h.userId(CONTRACTOR);
    const explained = await t.ok(Explain, { resourceId: workspaceId, userId: contractorId }, OWNER);
    const member = explained.explainAccess?.decisions
      .flatMap((d) => d.reasons)
      .find((r) => r.rule === 'workspace.member');
    expect(member?.expiresAt).toBe(expiresAt);
    for (let i = 0; i < 3; i++) {
      expect((await t.ok(ReadWorkspace, { id: workspaceId }, CONTRACTOR)).workspace?.viewerRole).toBe('MEMBER');
      expect((await t.ok(ReadList, { id: listId }, CONTRACTOR)).list).not.toBeNull();
    }
    await until(at);
    expect((await t.ok(ReadWorkspace, { id: workspaceId }, CONTRACTOR)).workspace).toBeNull();
    expect((await t.ok(ReadList, { id: listId }, CONTRACTOR)).list).toBeNull();
    expect(await auditedTimes(workspaceId, 'member.expire')).toBe(1);
  });
});
