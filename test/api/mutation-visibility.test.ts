import {
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLInputObjectType,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/schema.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { buildWorld, fingerprint, missingId, raw, type World } from '../helpers/world.ts';

// Whoever cannot see a target gets the same answer as for an id that names nothing (DESIGN.md §3):
// for EVERY mutation of the schema and every id its input takes, asked as people who cannot see
// (some of) account A, an object of A they cannot see and a well-formed id of no object answer
// alike, code and message, and nothing changes. FORBIDDEN is only for what the caller sees.

const MUTATIONS = Object.values(schema.getMutationType()?.getFields() ?? {}).sort((a, b) =>
  a.name.localeCompare(b.name),
);

/** Mutations whose input names no object by id (tokens, names): nothing to look up, nothing to leak. */
const WITHOUT_IDS = ['acceptInvitation', 'createAccount', 'declineInvitation'];

function inputType(m: GraphQLField<unknown, unknown>): GraphQLInputObjectType {
  const arg = m.args.find((a) => a.name === 'input');
  const type = arg && getNamedType(arg.type);
  if (!type || !isInputObjectType(type)) throw new Error(`${m.name} takes no input object`);
  return type;
}

/** The Node types an ID input field takes (its `for`), or null when it takes any. */
function idTypes(f: GraphQLInputField): string[] | null {
  if (getNamedType(f.type).name !== 'ID') return null;
  const forTypes = (f.extensions as { relayGlobalIDFor?: { typename: string }[] | null }).relayGlobalIDFor;
  return forTypes?.map((x) => x.typename) ?? [];
}

/** The ID fields of a mutation's input (top level) that name an object of a known Node type. */
function targetFields(m: GraphQLField<unknown, unknown>): { name: string; type: string; required: boolean }[] {
  return Object.values(inputType(m).getFields()).flatMap((f) => {
    const types = idTypes(f);
    if (types === null) return [];
    // An id of any type (setPresence's itemId): an item is what it names.
    const type = types[0] ?? (f.name === 'itemId' ? 'Item' : 'List');
    return [{ name: f.name, type, required: isNonNullType(f.type) }];
  });
}

/** A value that passes input validation for every required non-id field. */
function filler(type: GraphQLInputObjectType): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of Object.values(type.getFields())) {
    if (!isNonNullType(f.type) || getNamedType(f.type).name === 'ID') continue;
    const named = getNamedType(f.type);
    if (isListType(f.type.ofType)) out[f.name] = [];
    else if (isInputObjectType(named)) out[f.name] = { ...filler(named), title: 'x' };
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

interface Persona {
  name: string;
  as: (w: World) => string;
  /** Types whose objects of A this person knows although `node` does not show them. */
  knows?: string[];
}

const PERSONAS: Persona[] = [
  { name: 'outsider (admin of account B)', as: (w) => w.b.people.admin },
  // A guest knows the account whose list was shared with them (its name shows on the list).
  { name: 'account GUEST with a VIEWER share', as: (w) => w.a.people.guest, knows: ['Account'] },
  { name: 'account member with nothing', as: (w) => w.a.people.plain },
  { name: 'NON_MEMBER of the CLOSED workspace', as: (w) => w.a.people.nonMember },
  { name: 'member of the CLOSED workspace', as: (w) => w.a.people.member },
  { name: 'account member in a group and holding a right', as: (w) => w.a.people.grouped },
];

let t: TestServer;
let world: World;

beforeAll(async () => {
  t = await startTestServer();
  world = await buildWorld(t);
}, 120_000);

afterAll(async () => {
  await t?.close();
});

/** Objects of account A by type, split by whether `node(id)` shows them to `who`. */
async function visibility(who: string, knows: string[] = []) {
  const seen = new Map<string, string[]>();
  const unseen = new Map<string, string[]>();
  for (const [type, ids] of world.a.nodes) {
    for (const id of ids) {
      const res = await raw(t, `query($id: ID!) { node(id: $id) { id } }`, { id }, who);
      const into = res.data?.node || knows.includes(type) ? seen : unseen;
      into.set(type, [...(into.get(type) ?? []), id]);
    }
  }
  return { seen, unseen };
}

const doc = (m: GraphQLField<unknown, unknown>) =>
  `mutation($input: ${inputType(m).name}!) { ${m.name}(input: $input) { __typename ... on Error { code message } } }`;

describe('the sweep covers the schema', () => {
  it('every mutation either names objects by id or is known to take none', () => {
    const without = MUTATIONS.filter((m) => targetFields(m).length === 0).map((m) => m.name);
    expect(without).toEqual(WITHOUT_IDS);
  });
});

describe.each(PERSONAS)('as $name', (p) => {
  it('every mutation answers an invisible target exactly as a missing one, and changes nothing', async () => {
    const who = p.as(world);
    const { seen, unseen } = await visibility(who, p.knows);
    const before = await fingerprint(t);
    const differences: string[] = [];
    let compared = 0;
    for (const m of MUTATIONS) {
      const fields = targetFields(m);
      const base = filler(inputType(m));
      for (const target of fields) {
        const targets = unseen.get(target.type) ?? [];
        // Every other id names something the persona sees where there is such a thing, so that
        // the answer turns on the target alone.
        const others = Object.fromEntries(
          fields
            .filter((f) => f.name !== target.name && f.required)
            .map((f) => [f.name, seen.get(f.type)?.[0] ?? missingId(f.type, 7)]),
        );
        const none = await raw(
          t,
          doc(m),
          { input: { ...base, ...others, [target.name]: missingId(target.type) } },
          who,
        );
        expect(none.errors, `${m.name} ${JSON.stringify(none.errors)}`).toBeUndefined();
        for (const id of targets) {
          const real = await raw(t, doc(m), { input: { ...base, ...others, [target.name]: id } }, who);
          compared++;
          if (JSON.stringify(real) !== JSON.stringify(none))
            differences.push(
              `${m.name}(${target.name}: ${target.type} ${id}): ${JSON.stringify(real.data ?? real.errors)} ≠ ${JSON.stringify(none.data)}`,
            );
        }
      }
    }
    expect(compared).toBeGreaterThan(0);
    expect(differences.length, `existence leaks:\n${differences.join('\n')}`).toBe(0);
    expect(await fingerprint(t)).toEqual(before);
  }, 120_000);
});

describe('setPresence', () => {
  it('decides before it validates: an invisible list is NOT_FOUND whatever else the input holds', async () => {
    const setPresence = MUTATIONS.find((m) => m.name === 'setPresence') as GraphQLField<unknown, unknown>;
    const a = world.a;
    const bad = [
      { status: 'EDITING' },
      { status: 'EDITING', itemId: a.items.openMain, field: 'x'.repeat(300) },
      { status: 'VIEWING', itemId: 'not-a-global-id' },
      { status: 'EDITING', itemId: missingId('Item'), field: 'title' },
    ];
    for (const who of [world.b.people.admin, a.people.guest, a.people.plain]) {
      const lists = [a.lists.closedPrivate, a.lists.closedMain, missingId('List')];
      for (const listId of lists) {
        for (const input of bad) {
          const res = await raw(t, doc(setPresence), { input: { ...input, listId } }, who);
          expect(res.data?.setPresence, `${who} ${JSON.stringify(input)}`).toEqual({
            __typename: 'NotFoundError',
            code: 'NOT_FOUND',
            message: 'The list was not found',
          });
        }
      }
    }
  });
});
