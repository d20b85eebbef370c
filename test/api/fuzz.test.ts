import fc from 'fast-check';
import {
  type GraphQLField,
  type GraphQLInputType,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  isUnionType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/schema.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { buildWorld, fingerprint, missingId, raw, type World } from '../helpers/world.ts';

// Every mutation of the schema, fuzzed with inputs generated from its input type: valid shapes with
// hostile values, and now and then a malformed shape. Replay a failure with FUZZ_SEED=<seed> (and
// FUZZ_RUNS to change how many inputs each mutation gets).
const SEED = Number(process.env.FUZZ_SEED ?? 20_240_611);
const RUNS = Number(process.env.FUZZ_RUNS ?? 10);

const ERROR_CODES = new Set([
  'FORBIDDEN',
  'NOT_FOUND',
  'VALIDATION',
  'CONFLICT',
  'CAPPED_BY_ACCOUNT_POLICY',
  'LAST_OWNER',
  'INVITATION_INVALID',
  'RATE_LIMITED',
]);
const ERROR_TYPES = new Set(schema.getPossibleTypes(schema.getType('Error') as never).map((t) => t.name));

const mutations = Object.values(schema.getMutationType()?.getFields() ?? {});

let t: TestServer;
let world: World;
/** Global ids by Node type, from both accounts, plus ids that name nothing. */
let pool: Map<string, string[]>;
let actors: (string | null)[];

beforeAll(async () => {
  t = await startTestServer();
  world = await buildWorld(t);
  pool = new Map();
  for (const w of [world.a, world.b])
    for (const [type, ids] of w.nodes) pool.set(type, [...(pool.get(type) ?? []), ...ids, missingId(type)]);
  // An account member who owns workspaces and created lists, a plain workspace member, and anonymous.
  actors = [world.a.people.owner, world.a.people.member, null];
}, 120_000);

afterAll(async () => {
  await t?.close();
});

const hostileStrings = [
  '',
  ' ',
  '\t\n',
  'a\u0000b',
  '\u0000',
  '\ud800',
  'x\udfffy',
  '💥'.repeat(50),
  'ｆｕｌｌ\u202eRTL\u200b',
  '\'; DROP TABLE "User"; --',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, sent as it is
  '%s%n%x{{7*7}}${7*7}',
  '<script>alert(1)</script>',
  'x'.repeat(12_000),
  'é'.repeat(1_001),
  '__proto__',
  'constructor',
];

const emailish = fc.oneof(
  fc.emailAddress(),
  fc.constantFrom('a@b', 'nobody@nowhere.test', `${'x'.repeat(320)}@x.test`, 'A\u0000@x.test', 'owner@a.test'),
);

function stringArb(field: string): fc.Arbitrary<string> {
  const plain = fc.string({ minLength: 1, maxLength: 24 });
  const wild = fc.string({ unit: 'binary', maxLength: 40 });
  const picks: fc.WeightedArbitrary<string>[] = [
    { arbitrary: plain, weight: 3 },
    { arbitrary: wild, weight: 2 },
    { arbitrary: fc.constantFrom(...hostileStrings), weight: 4 },
  ];
  if (/email|sender|participants/i.test(field)) picks.push({ arbitrary: emailish, weight: 5 });
  return fc.oneof(...picks);
}

function idArb(types: string[] | null): fc.Arbitrary<string> {
  const all = [...pool.values()].flat();
  const right = types ? types.flatMap((type) => pool.get(type) ?? []) : all;
  return fc.oneof(
    { arbitrary: fc.constantFrom(...(right.length ? right : all)), weight: 6 },
    { arbitrary: fc.constantFrom(...all), weight: 2 },
    {
      arbitrary: fc.constantFrom(
        '',
        'garbage',
        '%%%',
        Buffer.from('List:').toString('base64'),
        Buffer.from(':x').toString('base64'),
        Buffer.from('List:a\u0000b').toString('base64'),
        Buffer.from('Workspace:\ud800').toString('base64'),
        Buffer.from(`List:${'x'.repeat(5_000)}`).toString('base64'),
        Buffer.from("Item:' OR 1=1 --").toString('base64'),
      ),
      weight: 2,
    },
    { arbitrary: fc.string({ maxLength: 30 }), weight: 1 },
  );
}

/** JSON nested `depth` levels; named in reports, which could not print it (a symbol key stays out of the JSON sent). */
function deepJson(depth: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v };
  return Object.assign(v as object, { [fc.toStringMethod]: () => `deepJson(${depth})` });
}

const jsonArb: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }), weight: 5 },
  { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 2 },
  {
    arbitrary: fc.constantFrom<unknown>(
      {},
      { a: 'b\u0000c' },
      { 'k\u0000': 1 },
      { s: '\ud800' },
      { '\udfff': true },
      // Parsed, so that `__proto__` is a key sent to the server rather than this object's prototype.
      JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}'),
      { a: deepJson(40) },
      deepJson(2_000),
      { big: 'y'.repeat(200_000) },
      Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`k${i}`, i])),
      { n: 1e308, m: -1e308, z: -0 },
      [1, 2, 3],
      'a string',
      42,
      null,
    ),
    weight: 4,
  },
);

const dateArb = fc.oneof(
  fc
    .date({ min: new Date('1900-01-01'), max: new Date('2200-01-01'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  fc.constantFrom(
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
    '1970-01-01T00:00:00Z',
    '2024-02-30T00:00:00Z',
    'not a date',
    '',
    '+275760-09-13T00:00:00.000Z',
  ),
);

const intArb = fc.oneof(
  fc.integer({ min: -5, max: 150 }),
  fc.constantFrom(0, -1, 2_147_483_647, -2_147_483_648),
  fc.integer(),
);

/** Arbitrary values for an input type: mostly well-shaped, sometimes not (null where required, wrong types). */
function arb(type: GraphQLInputType, field: string, depth = 0): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) {
    return fc.oneof(
      { arbitrary: arb(type.ofType, field, depth), weight: 30 },
      { arbitrary: fc.constant(null), weight: 1 },
    );
  }
  const valid = wellShaped(type, field, depth);
  return fc.oneof(
    { arbitrary: valid, weight: 25 },
    { arbitrary: fc.constant(null), weight: 2 },
    { arbitrary: fc.constantFrom<unknown>(7, 'text', true, [], {}, 1.5, 2 ** 40), weight: 1 },
  );
}

function wellShaped(type: GraphQLInputType, field: string, depth: number): fc.Arbitrary<unknown> {
  if (isListType(type)) {
    const item = arb(type.ofType, field, depth + 1);
    return fc.oneof(
      { arbitrary: fc.array(item, { maxLength: 4 }), weight: 6 },
      { arbitrary: fc.array(item, { minLength: 501, maxLength: 520 }), weight: 1 },
    );
  }
  if (isEnumType(type)) {
    const values = type.getValues().map((v) => v.name);
    return fc.oneof(
      { arbitrary: fc.constantFrom(...values), weight: 12 },
      { arbitrary: fc.constantFrom('NOPE', ''), weight: 1 },
    );
  }
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields());
    const parts: Record<string, fc.Arbitrary<unknown>> = {};
    for (const f of fields) {
      const value = arb(f.type, f.name, depth + 1);
      parts[f.name] = isNonNullType(f.type)
        ? fc.oneof({ arbitrary: value, weight: 40 }, { arbitrary: fc.constant(undefined), weight: 1 })
        : fc.option(value, { nil: undefined, freq: 3 });
    }
    const object = fc
      .record(parts)
      .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)));
    return fc.oneof(
      { arbitrary: object, weight: 30 },
      { arbitrary: object.map((o) => ({ ...o, unexpectedField: 'x' })), weight: 1 },
    );
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case 'ID':
        return idArb(null);
      case 'String':
        return stringArb(field);
      case 'Int':
        return intArb;
      case 'Float':
        return fc.oneof(fc.double({ noNaN: true }), fc.constantFrom(0, -1, 1e308));
      case 'Boolean':
        return fc.boolean();
      case 'DateTime':
        return dateArb;
      case 'JSON':
        return jsonArb;
    }
  }
  throw new Error(`fuzz: no generator for input type ${String(type)} (field ${field}); add one`);
}

/** An input object's ID fields know which Node types they take (relay's `for:`). */
function inputArb(type: GraphQLInputType): fc.Arbitrary<unknown> {
  const named = getNamedType(type);
  if (!isInputObjectType(named)) return arb(type, 'input');
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of Object.values(named.getFields())) {
    const forTypes = (f.extensions as { relayGlobalIDFor?: { typename: string }[] | null }).relayGlobalIDFor;
    const isId = getNamedType(f.type).name === 'ID';
    const base = isId
      ? fc.oneof(
          { arbitrary: idArb(forTypes?.map((x) => x.typename) ?? null), weight: 30 },
          { arbitrary: fc.constant(null), weight: 1 },
        )
      : arb(f.type, f.name, 1);
    parts[f.name] = isNonNullType(f.type)
      ? fc.oneof({ arbitrary: base, weight: 40 }, { arbitrary: fc.constant(undefined), weight: 1 })
      : fc.option(base, { nil: undefined, freq: 3 });
  }
  return fc.record(parts).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)));
}

/** A request-level error that is the server's answer to malformed input (never a crash). */
function isInputError(e: { message: string; extensions?: Record<string, unknown> }): boolean {
  if (e.message === 'Unexpected error.' || e.extensions?.code === 'INTERNAL_SERVER_ERROR') return false;
  return (
    /^Variable "\$input"/.test(e.message) ||
    e.message === 'Too many errors processing variables, error limit reached. Execution aborted.' ||
    /^Invalid global ID/.test(e.message) ||
    /^ID: .* is not of type: /.test(e.message) ||
    // Variables nested past MAX_VARIABLES_DEPTH (deepJson(2_000)) are refused whole, with a 400.
    (e.extensions?.code === 'BAD_REQUEST' && /^Invalid request: "variables" nest deeper than/.test(e.message))
  );
}

function mutationDocument(m: GraphQLField<unknown, unknown>): string {
  const arg = m.args.find((a) => a.name === 'input');
  if (!arg) throw new Error(`${m.name} takes no input: every mutation takes one \`input\` (DESIGN.md §6)`);
  const result = getNamedType(m.type);
  if (!isUnionType(result)) throw new Error(`${m.name} returns ${result.name}, not a result union`);
  return `mutation Fuzz($input: ${String(arg.type)}) { ${m.name}(input: $input) { __typename ... on Error { code message } } }`;
}

describe('every mutation survives hostile input', () => {
  it('enumerates the mutations from the schema', () => {
    expect(mutations.length).toBeGreaterThan(40);
  });

  for (const m of mutations) {
    it(m.name, async () => {
      const doc = mutationDocument(m);
      const input = inputArb(m.args.find((a) => a.name === 'input')?.type as GraphQLInputType);
      const seen = new Map<string, number>();
      // The fingerprint after a refused input is the one before the next (nothing changed since).
      let known: Record<string, string> | null = null;
      await fc.assert(
        fc.asyncProperty(input, fc.constantFrom(...actors), async (value, actor) => {
          await t.server.services.mail.flush();
          const before = known ?? (await fingerprint(t));
          known = null;
          const res = await raw(t, doc, { input: value }, actor);
          const outcome = (res.data?.[m.name] ?? null) as { __typename: string; code?: string } | null;
          const label = outcome?.__typename ?? `status ${res.status}`;
          seen.set(label, (seen.get(label) ?? 0) + 1);

          expect([200, 400], JSON.stringify(res.errors)).toContain(res.status);
          for (const e of res.errors ?? []) {
            const anonymousRefused = actor === null && e.extensions?.code === 'UNAUTHENTICATED';
            expect(anonymousRefused || isInputError(e), `${m.name}: ${JSON.stringify(e)}`).toBe(true);
          }
          if (res.status === 400) expect(res.data ?? null).toBeNull();
          if (outcome && ERROR_TYPES.has(outcome.__typename)) {
            expect(ERROR_CODES.has(outcome.code ?? ''), JSON.stringify(outcome)).toBe(true);
          }
          const failed = !outcome || ERROR_TYPES.has(outcome.__typename);
          if (failed) {
            await t.server.services.mail.flush();
            const after = await fingerprint(t);
            expect(after, `${m.name} failed and changed the database`).toEqual(before);
            known = after;
          }
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
      expect(seen.size).toBeGreaterThan(0);
    });
  }
});

describe('string arguments of queries survive hostile values', () => {
  // Each String argument of the schema's output fields (connection cursors aside), with a query
  // that reaches it; a new one fails the guard until it is probed here.
  const probes: Record<string, (w: World) => string> = {
    'Query.list.linkToken': (w) => `{ list(id: "${w.a.lists.openMain}", linkToken: $s) { id } }`,
    'Query.invitation.token': () => '{ invitation(token: $s) { email } }',
    'Workspace.contacts.search': (w) =>
      `{ workspace(id: "${w.a.workspaces.open}") { contacts(first: 5, search: $s) { edges { node { id } } } } }`,
    'Subscription.listEvents.linkToken': () => '',
    'Subscription.presence.linkToken': () => '',
  };

  it('probes every String argument', () => {
    const found: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!('getFields' in type) || type.name.startsWith('__') || isInputObjectType(type)) continue;
      for (const field of Object.values(type.getFields()))
        for (const arg of (field as GraphQLField<unknown, unknown>).args ?? [])
          if (getNamedType(arg.type).name === 'String' && !['after', 'before', 'minRevision'].includes(arg.name))
            found.push(`${type.name}.${field.name}.${arg.name}`);
    }
    expect(found.sort()).toEqual(Object.keys(probes).sort());
  });

  // minRevision (on every field of Query and Subscription) is read before any field resolves, the
  // same way for all: a hostile value is a typed VALIDATION error (400), never an unexpected one.
  it('answers every hostile minRevision with a VALIDATION error', async () => {
    for (const s of hostileStrings) {
      const res = await raw(t, 'query Probe($s: String!) { me(minRevision: $s) { id } }', { s }, world.a.people.owner);
      expect(res.status, JSON.stringify(s).slice(0, 40)).toBe(400);
      expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['VALIDATION']);
    }
  });

  it('answers every hostile string without an unexpected error', async () => {
    for (const [name, probe] of Object.entries(probes)) {
      const body = probe(world);
      if (!body) continue; // subscriptions: the same arguments, checked on their HTTP twins
      for (const s of hostileStrings) {
        const res = await raw(t, `query Probe($s: String!) ${body}`, { s }, world.a.people.owner);
        expect(res.status, name).toBe(200);
        expect(res.errors, `${name} with ${JSON.stringify(s).slice(0, 40)}`).toBeUndefined();
      }
    }
  });
});
