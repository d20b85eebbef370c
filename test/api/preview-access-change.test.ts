import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from '../../bench/lib/round-trips.ts';
import { listHelpers } from '../helpers/lists.ts';
import { snapshot, startTestServer, type TestServer } from '../helpers/server.ts';
import { type AccountWorld, buildWorld, dynamic, LIST_KEYS, raw } from '../helpers/world.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';

// previewAccessChange: for each of the twelve changes it accepts, the preview (made first, writing
// nothing) must equal what the change then does, as explainAccess and link reads see it before
// and after, for every person of the account and anyone with each list's link.

const ENTRY =
  'edges { node { user { id } anyoneWithTheLink resourceType resourceId roleBefore roleAfter reachBefore reachAfter } } totalCount peopleCount listCount workspaceCount';
const PREVIEW = `
  query PreviewChange($change: AccessChangeInput!, $first: Int) {
    previewAccessChange(change: $change) {
      __typename
      ... on AccessChangePreview {
        gained(first: $first) { ${ENTRY} pageInfo { hasNextPage endCursor } }
        lost(first: $first) { ${ENTRY} pageInfo { hasNextPage endCursor } }
        changed(first: $first) { ${ENTRY} pageInfo { hasNextPage endCursor } }
      }
      ... on ValidationError { path }
      ... on Error { code message }
    }
  }
`;
const EXPLAIN = `
  query PreviewExplain($r: ID!, $u: ID) {
    explainAccess(resourceId: $r, userId: $u) { role decisions { question allowed } }
  }
`;
const LINK = `query PreviewLinkToken($id: ID!) { list(id: $id) { linkToken } }`;
const LINK_ROLE = `query PreviewLinkRole($id: ID!, $t: String) { list(id: $id, linkToken: $t) { viewerRole } }`;

interface Entry {
  user: { id: string } | null;
  anyoneWithTheLink: boolean;
  resourceType: string;
  resourceId: string;
  roleBefore: string | null;
  roleAfter: string | null;
  reachBefore: string | null;
  reachAfter: string | null;
}
interface Part {
  edges: { node: Entry }[];
  totalCount: number;
  peopleCount: number;
  listCount: number;
  workspaceCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}
interface Preview {
  __typename: string;
  gained: Part;
  lost: Part;
  changed: Part;
  code?: string;
  path?: string[];
}

interface Explained {
  role: string | null;
  decisions: { question: string; allowed: boolean }[];
}

/** What the oracle compares: a role, and for workspaces whether its content is read. */
type Standings = Map<string, string>;

let t: TestServer;
let w: AccountWorld;
let admin: string;
const userIds = new Map<string, string>();

async function preview(change: Record<string, unknown>, as = admin, first = 500): Promise<Preview> {
  const r = await raw(t, PREVIEW, { change, first }, as);
  expect(r.errors).toBeUndefined();
  return (r.data as { previewAccessChange: Preview }).previewAccessChange;
}

/** Everyone's standing on every list and workspace of account a, read through explainAccess and link reads. */
async function observe(): Promise<Standings> {
  const out: Standings = new Map();
  const resources = [...LIST_KEYS.map((k) => w.lists[k]), w.workspaces.open, w.workspaces.closed];
  for (const [, userId] of userIds) {
    for (const r of resources) {
      // The admin may explain anyone's access to what they manage; the owner the rest.
      let e: Explained | null = null;
      for (const asker of [admin, w.people.owner]) {
        const res = await raw(t, EXPLAIN, { r, u: userId }, asker);
        expect(res.errors).toBeUndefined();
        e ??= (res.data as { explainAccess: Explained | null }).explainAccess;
      }
      if (!e) throw new Error(`explainAccess refused for ${userId} on ${r}`);
      if (!e.role) continue;
      const isWorkspace = r === w.workspaces.open || r === w.workspaces.closed;
      const read = e.decisions.find((d) => d.question === 'workspace:read')?.allowed;
      out.set(`${userId}|${r}`, isWorkspace ? `${e.role}|${read}` : e.role);
    }
  }
  for (const k of LIST_KEYS) {
    const id = w.lists[k];
    // The link is read by whoever still manages the list (an admin is locked out of a closed workspace).
    let token: string | null | undefined = null;
    for (const asker of [admin, w.people.owner]) {
      token ??= ((await raw(t, LINK, { id }, asker)).data as { list: { linkToken: string | null } | null }).list
        ?.linkToken;
    }
    if (!token) continue;
    const role = ((await raw(t, LINK_ROLE, { id, t: token }, null)).data as { list: { viewerRole: string } | null })
      .list?.viewerRole;
    if (role) out.set(`link|${id}`, role);
  }
  return out;
}

/** The preview projected onto what `observe` sees: entries whose projection does not move drop out. */
function projected(p: Preview): { gained: string[]; lost: string[]; changed: string[] } {
  const show = (e: Entry, when: 'Before' | 'After') => {
    const role = e[`role${when}`];
    return e.resourceType === 'Workspace' ? `${role}|${e[`reach${when}`] === 'FULL'}` : role;
  };
  const key = (e: Entry) => `${e.user?.id ?? 'link'}|${e.resourceId}`;
  return {
    gained: p.gained.edges.map((x) => `${key(x.node)}=${show(x.node, 'After')}`).sort(),
    lost: p.lost.edges.map((x) => `${key(x.node)}=${show(x.node, 'Before')}`).sort(),
    changed: p.changed.edges
      .filter((x) => show(x.node, 'Before') !== show(x.node, 'After'))
      .map((x) => `${key(x.node)}=${show(x.node, 'Before')}>${show(x.node, 'After')}`)
      .sort(),
  };
}

function observedDiff(before: Standings, after: Standings) {
  const gained: string[] = [];
  const lost: string[] = [];
  const changed: string[] = [];
  for (const k of new Set([...before.keys(), ...after.keys()])) {
    const b = before.get(k);
    const a = after.get(k);
    if (b === undefined && a !== undefined) gained.push(`${k}=${a}`);
    else if (b !== undefined && a === undefined) lost.push(`${k}=${b}`);
    else if (b !== a) changed.push(`${k}=${b}>${a}`);
  }
  return { gained: gained.sort(), lost: lost.sort(), changed: changed.sort() };
}

/** The input of a mutation, sent the way the preview needs it. */
async function mutate(name: string, input: Record<string, unknown>, as: string): Promise<void> {
  const type = `${name[0]?.toUpperCase()}${name.slice(1)}Input`;
  const r = await raw(
    t,
    `mutation PreviewThen($input: ${type}!) { ${name}(input: $input) { __typename ... on Error { code message } } }`,
    { input },
    as,
  );
  expect(r.errors).toBeUndefined();
  expect((r.data as Record<string, { __typename: string }>)[name]?.__typename).toMatch(/Payload$/);
}

beforeAll(async () => {
  t = await startTestServer();
  w = (await buildWorld(t)).a;
  admin = w.people.admin;
  const h = listHelpers(t);
  for (const email of Object.values(w.people)) userIds.set(email, await h.userId(email));
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const LIST_EVENTS = `
  subscription PreviewListEvents($listId: ID!) {
    listEvents(listId: $listId) { __typename ... on AccessChanged { list { id } } ... on AccessRevoked { listId } }
  }
`;
const LIST_NAME = `query PreviewListName($id: ID!) { list(id: $id) { name } }`;

// These run first, on the untouched world: none of them may change it.
describe('previewAccessChange answers like the mutation and leaves no trace', () => {
  it('refuses what the mutation refuses, with its error, and writes nothing', async () => {
    const tables = await snapshot(t);
    const cases: [Record<string, unknown>, string][] = [
      [{ updateWorkspace: { workspaceId: w.workspaces.open, type: 'PRIVATE' } }, w.people.plain],
      [{ removeShare: { shareId: w.shares.user } }, w.people.guest],
      [{ setAccountPolicy: { accountId: w.accountId, externalSharing: false } }, w.people.owner],
      [{ removeGroupMember: { groupId: w.group, userId: userIds.get(w.people.grouped) } }, w.people.member],
    ];
    for (const [change, as] of cases) {
      const [name, input] = Object.entries(change)[0] as [string, Record<string, unknown>];
      const type = `${name[0]?.toUpperCase()}${name.slice(1)}Input`;
      const p = await preview(change, as);
      expect(p.__typename).toMatch(/Error$/);
      const m = await raw(
        t,
        `mutation PreviewRefused($input: ${type}!) { ${name}(input: $input) { __typename ... on Error { code } } }`,
        { input },
        as,
      );
      const refused = (m.data as Record<string, { __typename: string; code: string }>)[name];
      expect({ __typename: p.__typename, code: p.code }).toEqual(refused);
    }
    expect(await snapshot(t)).toEqual(tables);
  });

  it('answers NOT_FOUND for a missing target, and a ValidationError unless exactly one change is given', async () => {
    const missing = await preview({ removeShare: { shareId: btoa('Share:00000000-0000-7000-8000-000000000000') } });
    expect(missing.code).toBe('NOT_FOUND');
    const none = await preview({});
    expect(none.__typename).toBe('ValidationError');
    expect(none.path).toEqual(['change']);
    const two = await preview({
      removeShare: { shareId: w.shares.user },
      updateWorkspace: { workspaceId: w.workspaces.open, type: 'PRIVATE' },
    });
    expect(two.__typename).toBe('ValidationError');
    expect(two.path).toEqual(['change', 'removeShare', 'updateWorkspace']);
  });

  it('publishes nothing and keeps the answers the cache holds', async () => {
    const ws: WsClient = connectWs(t.server.url, await t.token(w.people.owner));
    try {
      const events = ws.subscribe(dynamic(LIST_EVENTS), { listId: w.lists.closedShareable });
      expect((await events.next()) as { listEvents: { __typename: string } }).toEqual({
        listEvents: { __typename: 'ListEventsSubscribed' },
      });
      const token = await t.token(w.people.nonMember);
      const read = () => t.gql(dynamic(LIST_NAME), { id: w.lists.closedShareable }, token);
      const first = await read();
      expect((first.data as { list: { name: string } | null }).list?.name).toBeTruthy();
      await expect.poll(() => countStatements(t, read)).toBe(0);

      // Closing the open workspace and taking back the non-member's share: both touch the list's people.
      const closing = await preview({ updateWorkspace: { workspaceId: w.workspaces.open, type: 'PRIVATE' } });
      expect(closing.lost.totalCount).toBeGreaterThan(0);
      const revoking = await preview({ removeShare: { shareId: w.shares.user } }, w.people.owner);
      expect(revoking.lost.edges.map((e) => e.node.resourceId)).toContain(w.lists.closedShareable);
      await events.nothingFor(300);
      expect(await countStatements(t, read)).toBe(0);
      expect(await read()).toEqual(first);
      events.dispose();
    } finally {
      await ws.dispose();
    }
  });

  it('pages through each part, with totals over all of it', async () => {
    const change = { updateWorkspace: { workspaceId: w.workspaces.open, type: 'PRIVATE' } };
    const all = await preview(change);
    const total = all.lost.totalCount;
    expect(total).toBeGreaterThan(1);
    expect(all.lost.edges).toHaveLength(total);
    expect(all.lost.peopleCount).toBe(new Set(all.lost.edges.map((e) => e.node.user?.id ?? 'link')).size);
    expect(all.lost.listCount).toBe(
      new Set(all.lost.edges.filter((e) => e.node.resourceType === 'List').map((e) => e.node.resourceId)).size,
    );
    const seen: Entry[] = [];
    let after: string | null = null;
    for (;;) {
      const r = await raw(
        t,
        `query PreviewPage($change: AccessChangeInput!, $after: String) {
        previewAccessChange(change: $change) { ... on AccessChangePreview { lost(first: 1, after: $after) {
          ${ENTRY} pageInfo { hasNextPage endCursor } } } } }`,
        { change, after },
        admin,
      );
      const page = (r.data as { previewAccessChange: { lost: Part } }).previewAccessChange.lost;
      expect(page.edges).toHaveLength(1);
      expect(page.totalCount).toBe(total);
      seen.push(...page.edges.map((e) => e.node));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(all.lost.edges.map((e) => e.node));
  });
});

describe('previewAccessChange, then the change: the preview is what happens', () => {
  const id = (email: string) => userIds.get(email) as string;
  // In order: each change acts on the world the previous ones left.
  // [mutation, its input, whether it must change someone's access, who makes it (the admin by default)]
  const changes: [string, () => Record<string, unknown>, boolean, string?][] = [
    [
      'setListGeneralAccess',
      () => ({ listId: w.lists.openShareable, access: 'ANYONE_WITH_LINK', role: 'VIEWER' }),
      true,
    ],
    [
      'shareList',
      () => ({ listId: w.lists.closedShareable, role: 'EDITOR', userId: id(w.people.plain) }),
      true,
      'owner',
    ],
    ['updateShare', () => ({ shareId: w.shares.user, role: 'EDITOR' }), true, 'owner'],
    ['removeShare', () => ({ shareId: w.shares.group }), true, 'owner'],
    ['updateWorkspace', () => ({ workspaceId: w.workspaces.open, type: 'CLOSED' }), true],
    [
      'setWorkspacePermission',
      () => ({ workspaceId: w.workspaces.closed, action: 'CREATE_SHAREABLE_LIST', role: 'MEMBER', allowed: false }),
      false,
    ],
    ['setAccountPolicy', () => ({ accountId: w.accountId, externalSharing: false }), false],
    ['removeWorkspaceMember', () => ({ workspaceId: w.workspaces.closed, userId: id(w.people.member) }), true],
    ['removeAccountMember', () => ({ accountId: w.accountId, userId: id(w.people.nonMember) }), true],
    ['setAccountMemberRole', () => ({ accountId: w.accountId, userId: id(w.people.plain), role: 'GUEST' }), true],
    ['removeGroupMember', () => ({ groupId: w.group, userId: id(w.people.grouped) }), false],
    ['anonymizeUser', () => ({ userId: id(w.people.guest) }), true],
  ];
  for (const [name, input, changesAccess, actor] of changes) {
    it(name, async () => {
      const as = actor === 'owner' ? w.people.owner : admin;
      const before = await observe();
      const tables = await snapshot(t);
      // A mutation's own dryRun does not hide the change from the preview.
      const dryRun = name === 'anonymizeUser' || name === 'removeAccountMember' ? { dryRun: true } : {};
      const p = await preview({ [name]: { ...input(), ...dryRun } }, as);

      expect(p.__typename, JSON.stringify(p)).toBe('AccessChangePreview');
      expect(await snapshot(t)).toEqual(tables);
      await mutate(name, input(), as);
      const after = await observe();
      expect(projected(p)).toEqual(observedDiff(before, after));
      const total = p.gained.totalCount + p.lost.totalCount + p.changed.totalCount;
      if (changesAccess) expect(total).toBeGreaterThan(0);
    }, 60_000);
  }
});
