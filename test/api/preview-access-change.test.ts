import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from '../../bench/lib/round-trips.ts';
import { listHelpers } from '../helpers/lists.ts';
import { snapshot, startTestServer, type TestServer } from '../helpers/server.ts';
import { type AccountWorld, buildWorld, dynamic, LIST_KEYS, raw } from '../helpers/world.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';

// previewAccessChange: for each of the twelve changes it accepts, the preview (made first, writing
// nothing) must equal what the change then does, as explainAccess and link reads see it before
// and after, for every person of the account and anyone with each list's link.

const ENTRY = 'edges { node { user { id } anyoneWithTheLink resourceType resourceId roleBefore roleAfter reachBefore reachAfter } } totalCount peopleCount listCount workspaceCount';
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
    const token = ((await raw(t, LINK, { id }, admin)).data as { list: { linkToken: string | null } | null }).list
      ?.linkToken;
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
async function mutate(name: string, input: Record<string, unknown>): Promise<void> {
  const type = `${name[0]?.toUpperCase()}${name.slice(1)}Input`;
  const r = await raw(t, `mutation PreviewThen($input: ${type}!) { ${name}(input: $input) { __typename ... on Error { code message } } }`, { input }, admin);
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

describe('previewAccessChange, then the change: the preview is what happens', () => {
  const id = (email: string) => userIds.get(email) as string;
  // In order: each change acts on the world the previous ones left.
  const changes: [string, () => Record<string, unknown>, boolean][] = [
    ['setListGeneralAccess', () => ({ listId: w.lists.openShareable, access: 'LINK', role: 'EDITOR' }), true],
    ['shareList', () => ({ listId: w.lists.closedPrivate, role: 'EDITOR', userId: id(w.people.plain) }), true],
    ['updateShare', () => ({ shareId: w.shares.user, role: 'EDITOR' }), true],
    ['removeShare', () => ({ shareId: w.shares.group }), true],
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
  for (const [name, input, changesAccess] of changes) {
    it(name, async () => {
      const before = await observe();
      const tables = await snapshot(t);
      const p = await preview({ [name]: input() });
      expect(p.__typename, JSON.stringify(p)).toBe('AccessChangePreview');
      expect(await snapshot(t)).toEqual(tables);
      await mutate(name, input());
      const after = await observe();
      expect(projected(p)).toEqual(observedDiff(before, after));
      const total = p.gained.totalCount + p.lost.totalCount + p.changed.totalCount;
      if (changesAccess) expect(total).toBeGreaterThan(0);
    }, 60_000);
  }
});
