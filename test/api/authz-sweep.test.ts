import { decodeGlobalID } from '@pothos/plugin-relay';
import {
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  getNamedType,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/schema.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import {
  type AccountWorld,
  buildWorld,
  fingerprint,
  type ListKey,
  type MarkerScope,
  missingId,
  raw,
  type World,
} from '../helpers/world.ts';

// The authorization sweep: every root field and every Node type of the schema, asked as people who
// must not see (all of) account A — an outsider, anonymous, a guest, an account member who is a
// NON_MEMBER of the CLOSED workspace (and a list VIEWER there), an account member with nothing, a
// member of the CLOSED workspace — with every field of every object type reachable from Query
// selected. Nothing they may not read may appear in an answer: not a marker planted in A's data,
// not an id of A (for outsiders), and an invisible id answers exactly like a nonexistent one.

const HOPS = 2;
const Q = schema.getQueryType() as GraphQLObjectType;
const NODE_TYPES = schema
  .getPossibleTypes(schema.getType('Node') as never)
  .map((t) => t.name)
  .sort();

/** Wrappers whose fields are plumbing, not data (connections, edges, page info). */
const isPlumbing = (name: string) =>
  name.endsWith('Connection') || name.endsWith('ConnectionEdge') || name === 'PageInfo';

/** The type of a connection's nodes. */
function nodeOf(connection: GraphQLObjectType): GraphQLNamedType {
  const edges = connection.getFields().edges;
  const edge = edges && getNamedType(edges.type);
  const node = edge && isObjectType(edge) ? edge.getFields().node : undefined;
  if (!node) throw new Error(`${connection.name} is not a connection`);
  return getNamedType(node.type);
}

/** The named type of a mutation's \`input\` argument. */
function inputOf(m: GraphQLField<unknown, unknown>): GraphQLNamedType {
  const arg = m.args.find((a) => a.name === 'input');
  if (!arg) throw new Error(`${m.name} takes no input`);
  return getNamedType(arg.type);
}

/** Every (type, field) pair selected so far, per persona. */
const covered = new Map<string, Set<string>>();

/**
 * The selection of every field of `type` down to `hops` object levels (connections are
 * transparent), recording what it selects for the coverage guard.
 */
function selection(type: GraphQLNamedType, hops: number, cover: Set<string>): string {
  if (isAbstractType(type)) {
    return `__typename ${schema
      .getPossibleTypes(type)
      .map((t) => `... on ${t.name} { ${selection(t, hops, cover)} }`)
      .join(' ')}`;
  }
  if (!isObjectType(type)) return '';
  const parts = ['__typename'];
  for (const field of Object.values(type.getFields())) {
    if (field.args.some((a) => isNonNullType(a.type) && a.defaultValue === undefined)) continue;
    const named = getNamedType(field.type);
    if (isLeafType(named)) {
      parts.push(field.name);
      cover.add(`${type.name}.${field.name}`);
      continue;
    }
    if (hops === 0) continue;
    cover.add(`${type.name}.${field.name}`);
    const args = field.args.some((a) => a.name === 'first') ? '(first: 10)' : '';
    if (isPlumbing(named.name) && isObjectType(named)) {
      const node = nodeOf(named);
      parts.push(
        `${field.name}${args} { edges { cursor node { ${selection(node, hops - 1, cover)} } } pageInfo { hasNextPage endCursor } }`,
      );
    } else {
      parts.push(`${field.name}${args} { ${selection(named, hops - 1, cover)} }`);
    }
  }
  return parts.join(' ');
}

/** Every (type, field) that some viewer can reach from Query, minus plumbing. */
function reachableFields(): Set<string> {
  const out = new Set<string>();
  const seen = new Set<string>();
  const visit = (type: GraphQLNamedType) => {
    if (seen.has(type.name)) return;
    seen.add(type.name);
    if (isAbstractType(type)) for (const t of schema.getPossibleTypes(type)) visit(t);
    if (!isObjectType(type)) return;
    for (const field of Object.values(type.getFields())) {
      if (!isPlumbing(type.name)) out.add(`${type.name}.${field.name}`);
      visit(getNamedType(field.type));
    }
  };
  for (const field of Object.values(Q.getFields())) visit(getNamedType(field.type));
  return out;
}

const lit = (v: unknown) => JSON.stringify(v);

/** How each root field is called against account A: a list of argument sets. */
const ROOT_CALLS: Record<string, (a: AccountWorld) => Record<string, unknown>[]> = {
  me: () => [{}],
  // Asked for every object of both accounts in the lookup test below.
  node: () => [],
  account: (a) => [{ id: a.accountId }],
  workspaces: (a) => [{ accountId: a.accountId }],
  workspace: (a) => Object.values(a.workspaces).map((id) => ({ id })),
  list: (a) => Object.values(a.lists).flatMap((id) => [{ id }, { id, linkToken: 'not-the-token' }]),
  sharedWithMe: () => [{}],
  contentDirectory: (a) => [{ accountId: a.accountId }],
  contentDirectoryConnection: (a) => [{ accountId: a.accountId }],
  explainAccess: (a) =>
    [a.accountId, ...Object.values(a.workspaces), ...Object.values(a.lists)].flatMap((resourceId) => [
      { resourceId },
      { resourceId, userId: a.nodes.get('User')?.[0] },
    ]),
  auditLog: (a) =>
    [a.accountId, ...Object.values(a.workspaces), ...Object.values(a.lists), ...(a.nodes.get('User') ?? [])].map(
      (resourceId) => ({ resourceId }),
    ),
  invitation: () => [{ token: 'not-a-token' }],
  // Previews write nothing: the account stays as the sweep built it.
  previewAccessChange: (a) => [
    { change: { updateWorkspace: { workspaceId: a.workspaces.open, type: 'PRIVATE' } } },
    { change: { removeShare: { shareId: a.shares.group } } },
  ],
  accessReport: (a) => [{ accountId: a.accountId }],
  accessAt: (a) =>
    [a.accountId, ...Object.values(a.workspaces), ...Object.values(a.lists)].map((resourceId) => ({
      resourceId,
      ...pastArgs(a),
    })),
};

/** The other arguments of `accessAt`: a person of the account, now. */
function pastArgs(a: AccountWorld): Record<string, unknown> {
  return { userId: a.nodes.get('User')?.[0], at: new Date().toISOString() };
}

/**
 * Root fields that look one thing up by id, by the Node types they take: for an id the viewer may
 * not see, each must answer exactly as for an id that names nothing.
 */
const LOOKUPS: Record<string, [root: string, arg: string, rest?: (a: AccountWorld) => Record<string, unknown>][]> = {
  Account: [
    ['account', 'id'],
    ['workspaces', 'accountId'],
    ['contentDirectory', 'accountId'],
    ['contentDirectoryConnection', 'accountId'],
    ['explainAccess', 'resourceId'],
    ['auditLog', 'resourceId'],
    ['accessReport', 'accountId'],
    ['accessAt', 'resourceId', pastArgs],
  ],
  Workspace: [
    ['workspace', 'id'],
    ['explainAccess', 'resourceId'],
    ['auditLog', 'resourceId'],
    ['accessAt', 'resourceId', pastArgs],
  ],
  List: [
    ['list', 'id'],
    ['explainAccess', 'resourceId'],
    ['auditLog', 'resourceId'],
    ['accessAt', 'resourceId', pastArgs],
  ],
  User: [['auditLog', 'resourceId']],
};

const selections = new Map<string, { text: string; fields: Set<string> }>();

/** `selection(type, HOPS)`, built once per type; what it selects is added to `cover`. */
function fullSelection(type: GraphQLNamedType, cover: Set<string>): string {
  let sel = selections.get(type.name);
  if (!sel) {
    const fields = new Set<string>();
    sel = { text: selection(type, HOPS, fields), fields };
    selections.set(type.name, sel);
  }
  for (const f of sel.fields) cover.add(f);
  return sel.text;
}

/**
 * A query of one root field with every field below it, its arguments as variables (so that the
 * server parses and validates each document once, however many ids it is asked with).
 */
function rootQuery(
  field: GraphQLField<unknown, unknown>,
  args: Record<string, unknown>,
  cover: Set<string>,
): { query: string; variables: Record<string, unknown> } {
  const named = getNamedType(field.type);
  const used = field.args.filter((a) => a.name in args);
  const defs = used.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const argText = used
    .map((a) => `${a.name}: $${a.name}`)
    .concat(field.args.some((a) => a.name === 'first') ? ['first: 10'] : [])
    .join(', ');
  cover.add(`Query.${field.name}`);
  const call = `${field.name}${argText ? `(${argText})` : ''}`;
  const op = (body: string) => ({ query: `query Sweep${defs ? `(${defs})` : ''} { ${body} }`, variables: args });
  if (isPlumbing(named.name) && isObjectType(named)) {
    return op(`${call} { edges { node { ${fullSelection(nodeOf(named), cover)} } } pageInfo { hasNextPage } }`);
  }
  if (isLeafType(named)) return op(call);
  if (field.name === 'node') {
    const type = schema.getType(decodeGlobalID(String(args.id)).typename) as GraphQLNamedType;
    return op(`${call} { __typename ... on ${type.name} { ${fullSelection(type, cover)} } }`);
  }
  return op(`${call} { ${fullSelection(named, cover)} }`);
}

interface Persona {
  name: string;
  as: (w: World) => string | null;
  /** Scopes of account A whose markers this person may read. */
  may: MarkerScope[];
  /** An outsider: no id and no address of account A may reach them. */
  outsider?: boolean;
  /** Account B is their own (the outsider is B's admin). */
  ownsB?: boolean;
  /** An account GUEST, who reaches only what was shared with them. */
  guest?: boolean;
}

const openLists: MarkerScope[] = ['list:openMain'];
const PERSONAS: Persona[] = [
  { name: 'outsider (admin of account B)', as: (w) => w.b.people.admin, may: [], outsider: true, ownsB: true },
  { name: 'anonymous', as: () => null, may: [], outsider: true },
  {
    name: 'account GUEST with a VIEWER share',
    as: (w) => w.a.people.guest,
    may: ['ws:closed', 'list:closedShareable', 'account'],
    guest: true,
  },
  {
    name: 'NON_MEMBER of the CLOSED workspace (list VIEWER)',
    as: (w) => w.a.people.nonMember,
    may: [
      'account',
      'ws:open',
      'ws:closed',
      ...openLists,
      'list:closedShareable',
      'contact:open',
      'emailMeta:open',
      'group',
      'right',
      'joinRequest',
    ],
  },
  {
    name: 'account member with nothing',
    as: (w) => w.a.people.plain,
    // A CLOSED workspace is listed to the account with a lock: its name, never its content.
    may: ['account', 'ws:open', 'ws:closed', ...openLists, 'contact:open', 'emailMeta:open', 'group', 'right'],
  },
  {
    name: 'member of the CLOSED workspace',
    as: (w) => w.a.people.member,
    may: [
      'account',
      'ws:open',
      'ws:closed',
      ...openLists,
      'list:closedMain',
      'contact:open',
      'contact:closed',
      'emailMeta:open',
      'emailMeta:closed',
      'group',
      'right',
    ],
  },
];

let t: TestServer;
let world: World;

beforeAll(async () => {
  // Selecting every field to two levels costs far more than a client's query may: the query
  // limits have their own tests, and here they would only hide what the sweep looks for.
  t = await startTestServer({
    env: { QUERY_MAX_COST: '1000000000', QUERY_MAX_TOKENS: '1000000', QUERY_MAX_DEPTH: '64' },
  });
  world = await buildWorld(t);
}, 120_000);

afterAll(async () => {
  await t?.close();
});

/** The strings a persona must never receive. */
function forbidden(p: Persona): string[] {
  const out: string[] = [];
  for (const [marker, scope] of world.a.markers) if (!p.may.includes(scope)) out.push(marker);
  // Nobody of account A reaches account B.
  if (!p.ownsB) {
    for (const marker of world.b.markers.keys()) out.push(marker);
    for (const ids of world.b.nodes.values()) out.push(...ids);
  }
  if (p.outsider) {
    for (const ids of world.a.nodes.values()) out.push(...ids);
    out.push(...Object.values(world.a.people));
  } else if (p.guest) {
    // A guest has no business with the account's other people.
    out.push(world.a.people.plain);
  }
  return out;
}

function leaks(body: unknown, words: string[]): string[] {
  const text = JSON.stringify(body);
  return words.filter((w) => text.includes(w));
}

async function ask(p: Persona, { query, variables }: { query: string; variables: Record<string, unknown> }) {
  const res = await raw(t, query, variables, p.as(world));
  expect(res.status, `${query}\n${JSON.stringify(res.errors)}`).toBe(200);
  for (const e of res.errors ?? []) {
    // Only anonymous may be refused outright (explainAccess needs a viewer); nothing may crash.
    expect(p.as(world) === null && e.extensions?.code === 'UNAUTHENTICATED', `${query}\n${JSON.stringify(e)}`).toBe(
      true,
    );
  }
  return res;
}

describe('the sweep covers the schema', () => {
  it('knows how to call every root Query field', () => {
    expect(Object.keys(Q.getFields()).sort()).toEqual(Object.keys(ROOT_CALLS).sort());
  });

  it('has an object of account A for every Node type', () => {
    expect(NODE_TYPES.filter((type) => !world.a.nodes.get(type)?.length)).toEqual([]);
    expect(NODE_TYPES.filter((type) => !world.b.nodes.get(type)?.length)).toEqual([]);
  });
});

describe.each(PERSONAS)('as $name', (p) => {
  const cover = new Set<string>();
  covered.set(p.name, cover);

  it('every root field answers without a leak', async () => {
    for (const field of Object.values(Q.getFields())) {
      const calls = ROOT_CALLS[field.name]?.(world.a) ?? [];
      const found: string[] = [];
      for (const args of calls) {
        const res = await ask(p, rootQuery(field, args, cover));
        found.push(...leaks(res.data, forbidden(p)).map((w) => `${field.name}(${lit(args)}) → ${w}`));
      }
      expect(found.length, `${field.name} leaks:\n${found.join('\n')}`).toBe(0);
    }
  });

  it('node(id:) leaks nothing, and an id it may not see answers like one that does not exist', async () => {
    const found: string[] = [];
    const differences: string[] = [];
    const node = Q.getFields().node as GraphQLField<unknown, unknown>;
    // Every object of account A; of account B (all invisible alike), one of each type.
    const sample = [...world.b.nodes].map(([type, ids]) => [type, ids.slice(0, 1)] as const);
    const objects = p.ownsB ? [...world.a.nodes] : [...world.a.nodes, ...sample];
    const missingAnswers = new Map<string, unknown>();
    const answerForMissing = async (root: string, arg: string, type: string, rest: Record<string, unknown>) => {
      const key = `${root} ${type}`;
      if (!missingAnswers.has(key)) {
        const field = Q.getFields()[root] as GraphQLField<unknown, unknown>;
        missingAnswers.set(key, await ask(p, rootQuery(field, { [arg]: missingId(type), ...rest }, cover)));
      }
      return missingAnswers.get(key);
    };
    for (const [type, ids] of objects) {
      const none = await ask(p, rootQuery(node, { id: missingId(type) }, cover));
      for (const id of ids) {
        const seen = await ask(p, rootQuery(node, { id }, cover));
        found.push(...leaks(seen.data, forbidden(p)).map((w) => `node(${type} ${id}) → ${w}`));
        if (seen.data?.node !== null) continue;
        if (JSON.stringify(seen) !== JSON.stringify(none)) differences.push(`node(${type} ${id})`);
        // A guest belongs to account A without seeing it as a node: the account is no secret to them.
        if (p.guest && id === world.a.accountId) continue;
        for (const [root, arg, more] of LOOKUPS[type] ?? []) {
          const field = Q.getFields()[root] as GraphQLField<unknown, unknown>;
          const rest = more?.(world.a) ?? {};
          const real = await ask(p, rootQuery(field, { [arg]: id, ...rest }, cover));
          const missing = await answerForMissing(root, arg, type, rest);
          if (JSON.stringify(real) !== JSON.stringify(missing))
            differences.push(
              `${root}(${arg}: ${type} ${id}): ${JSON.stringify(real.data)} ≠ ${JSON.stringify(missing)}`,
            );
        }
      }
    }
    expect(found.length, `leaks:\n${found.join('\n')}`).toBe(0);
    expect(differences.length, `existence leaks:\n${differences.join('\n')}`).toBe(0);
  });
});

describe('coverage', () => {
  it('every field reachable from Query was selected as every persona', () => {
    const reachable = reachableFields();
    for (const p of PERSONAS) {
      const cover = covered.get(p.name) ?? new Set();
      const missing = [...reachable].filter((f) => !cover.has(f) && !f.startsWith('Query.'));
      expect(missing.length, `${p.name} never selected: ${missing.join(' ')}`).toBe(0);
    }
  });
});

const ids = (w: AccountWorld, key: ListKey) => ({ list: w.lists[key], item: w.items[key], update: w.updates[key] });

describe('field-level rules', () => {
  it('an email body and thread reach only its owner; its metadata the workspace', async () => {
    const q = `{ node(id: ${lit(world.a.emails.closed)}) { ... on Email { subject body thread { id } } } }`;
    const owner = await raw(t, q, {}, world.a.people.owner);
    expect(owner.data?.node).toMatchObject({
      body: expect.stringContaining('EMAILBODY_CLOSED'),
      thread: [expect.anything()],
    });
    const res = await raw(t, q, {}, world.a.people.member);
    expect(res.errors).toBeUndefined();
    expect(res.data?.node).toMatchObject({
      subject: expect.stringContaining('EMAILSUBJ_CLOSED'),
      body: null,
      thread: null,
    });
    // An account admin who has not joined the closed workspace sees none of its content.
    const admin = await raw(t, q, {}, world.a.people.admin);
    expect(admin.errors).toBeUndefined();
    expect(admin.data?.node).toBeNull();
  });

  it('a NON_MEMBER and a guest see the CLOSED workspace by name only, and only the list shared with them', async () => {
    const q = `{ workspace(id: ${lit(world.a.workspaces.closed)}) { name viewerRole members(first: 5) { edges { node { role } } }
      permissions { role } emails(first: 5) { edges { node { id } } } invitations { id } joinRequests { id }
      contacts(first: 5) { edges { node { id } } } lists(first: 10) { edges { node { id viewerRole linkToken } } } } }`;
    for (const who of [world.a.people.nonMember, world.a.people.guest]) {
      const res = await raw(t, q, {}, who);
      expect(res.errors, who).toBeUndefined();
      expect(res.data?.workspace, who).toEqual({
        name: expect.stringContaining('WS_CLOSED'),
        viewerRole: 'NON_MEMBER',
        members: null,
        permissions: null,
        emails: null,
        invitations: null,
        joinRequests: null,
        contacts: { edges: [] },
        lists: { edges: [{ node: { id: world.a.lists.closedShareable, viewerRole: 'VIEWER', linkToken: null } }] },
      });
    }
  });

  it('a guest reaches the account of a list shared with them by name, not its people or groups', async () => {
    const q = `{ list(id: ${lit(world.a.lists.closedShareable)}) {
      shares { role user { email } group { name } }
      workspace { account { name members { role user { email } } } } } }`;
    const res = await raw(t, q, {}, world.a.people.guest);
    expect(res.errors).toBeUndefined();
    expect(res.data?.list).toMatchObject({
      workspace: { account: { name: expect.stringContaining('ACCOUNT'), members: [] } },
    });
    expect(leaks(res.data, [world.a.people.plain, world.a.people.admin, 'zzA_GROUP'])).toEqual([]);
    expect(JSON.stringify(res.data)).toContain('"role":"EDITOR","user":null,"group":null');
  });

  it('a list VIEWER can do nothing an editor or co-owner does, and nothing changes', async () => {
    const { list, item, update } = ids(world.a, 'closedShareable');
    const share = world.a.shares.user;
    const attempts: [string, string, Record<string, unknown>][] = [
      ['createItem', 'CreateItemInput', { listId: list, title: 'x' }],
      ['updateItem', 'UpdateItemInput', { id: item, expectedVersion: 1, patch: { title: 'x' } }],
      ['moveItem', 'MoveItemInput', { id: item }],
      ['deleteItem', 'DeleteItemInput', { id: item }],
      ['postUpdate', 'PostUpdateInput', { itemId: item, body: 'x' }],
      ['postUpdate', 'PostUpdateInput', { itemId: item, body: 'x', parentId: update }],
      ['updateList', 'UpdateListInput', { listId: list, name: 'x' }],
      ['copyList', 'CopyListInput', { listId: list }],
      ['deleteList', 'DeleteListInput', { listId: list }],
      ['shareList', 'ShareListInput', { listId: list, role: 'EDITOR', userId: world.a.nodes.get('User')?.[0] }],
      ['updateShare', 'UpdateShareInput', { shareId: share, role: 'EDITOR' }],
      ['removeShare', 'RemoveShareInput', { shareId: share }],
      ['setListGeneralAccess', 'SetListGeneralAccessInput', { listId: list, access: 'WORKSPACE' }],
      ['rotateListLink', 'RotateListLinkInput', { listId: list }],
    ];
    const before = await fingerprint(t);
    for (const who of [world.a.people.nonMember, world.a.people.guest]) {
      for (const [name, type, input] of attempts) {
        const res = await raw(
          t,
          `mutation($input: ${type}!) { ${name}(input: $input) { __typename ... on Error { code } } }`,
          { input },
          who,
        );
        expect(res.data?.[name], `${who} ${name}`).toEqual({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
      }
    }
    expect(await fingerprint(t)).toEqual(before);
  });
});

describe('guessing ids', () => {
  it('many aliased lookups of foreign and random ids answer all null, the same for both', async () => {
    const b = world.b;
    // At most 15 aliases a request (the query limits); each lookup gets ids of the type it takes.
    const foreign = {
      node: [b.items.openMain, b.contacts.closed, b.emails.open, b.shares.user, b.group, b.invitation],
      list: [
        b.lists.closedPrivate,
        b.lists.openMain,
        b.lists.closedShareable,
        b.lists.openShareable,
        b.lists.openPrivate,
      ],
      workspace: [b.workspaces.closed, b.workspaces.open],
    };
    const lookups = (of: typeof foreign) =>
      `{ ${Object.entries(of)
        .flatMap(([root, list]) => list.map((id, i) => `${root[0]}${i}: ${root}(id: ${lit(id)}) { id }`))
        .join(' ')} }`;
    let n = 100;
    const random = Object.fromEntries(
      Object.entries(foreign).map(([root, list]) => [
        root,
        list.map((id) => missingId(decodeGlobalID(id).typename, n++)),
      ]),
    ) as typeof foreign;
    for (const who of [world.a.people.admin, world.a.people.member, world.a.people.guest, null]) {
      const real = await raw(t, lookups(foreign), {}, who);
      const none = await raw(t, lookups(random), {}, who);
      expect(real.status).toBe(200);
      expect(real.errors).toBeUndefined();
      expect(Object.keys(real.data ?? {})).toHaveLength(13);
      expect(
        Object.values(real.data ?? {}).every((v) => v === null),
        JSON.stringify(real),
      ).toBe(true);
      expect(real).toEqual(none);
    }
  });
});

describe('doing things to what one cannot see', () => {
  // Every mutation with an id in its input, as the outsider: an id of account A and one that
  // names nothing get the same answer, and nothing changes.
  const mutations = Object.values(schema.getMutationType()?.getFields() ?? {});

  function minimalInput(type: GraphQLNamedType, pick: (types: string[] | null) => string): Record<string, unknown> {
    if (!isInputObjectType(type)) return {};
    const out: Record<string, unknown> = {};
    for (const f of Object.values(type.getFields())) {
      const required = isNonNullType(f.type);
      const forTypes = (f.extensions as { relayGlobalIDFor?: { typename: string }[] | null }).relayGlobalIDFor;
      const named = getNamedType(f.type);
      if (named.name === 'ID' && (required || forTypes)) {
        out[f.name] = pick(forTypes?.map((x) => x.typename) ?? null);
        continue;
      }
      if (!required) continue;
      const inner = isNonNullType(f.type) ? f.type.ofType : f.type;
      if (isListType(inner)) out[f.name] = [];
      else if (isInputObjectType(named)) out[f.name] = minimalInput(named, pick);
      else if (isEnumType(named)) out[f.name] = named.getValues()[0]?.name;
      else
        out[f.name] = (
          {
            String: /email|sender/i.test(f.name) ? 'someone@x.test' : 'x',
            Int: 1,
            Boolean: false,
            DateTime: '2024-01-01T00:00:00Z',
            JSON: {},
          } as Record<string, unknown>
        )[named.name];
    }
    return out;
  }

  const withIds = mutations.filter((m) => {
    const input = inputOf(m);
    return isInputObjectType(input) && Object.values(input.getFields()).some((f) => getNamedType(f.type).name === 'ID');
  });

  it.each(withIds.map((m) => [m.name, m] as const))('%s', async (name, m) => {
    const type = inputOf(m);
    const a = world.a;
    const real = minimalInput(type, (types) => {
      const typ = types?.[0] ?? 'List';
      return a.nodes.get(typ)?.[0] ?? missingId(typ);
    });
    const none = minimalInput(type, (types) => missingId(types?.[0] ?? 'List'));
    const doc = `mutation($input: ${String(m.args[0]?.type)}) { ${name}(input: $input) { __typename ... on Error { code message } } }`;
    const before = await fingerprint(t);
    const onReal = await raw(t, doc, { input: real }, world.b.people.admin);
    const onNone = await raw(t, doc, { input: none }, world.b.people.admin);
    expect(onReal, JSON.stringify(real)).toEqual(onNone);
    expect(onReal.errors).toBeUndefined();
    expect(['NotFoundError', 'ForbiddenError', 'ValidationError']).toContain(
      (onReal.data?.[name] as { __typename: string } | undefined)?.__typename,
    );
    expect(await fingerprint(t)).toEqual(before);
  });
});
