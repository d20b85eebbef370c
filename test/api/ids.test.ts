import {
  type GraphQLInputObjectType,
  type GraphQLInputType,
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/schema.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const MALFORMED = 'not-an-id';
// A well-formed global id of a type no argument or input field asks for.
const OTHER_TYPE = Buffer.from('AuditEvent:00000000-0000-0000-0000-000000000000').toString('base64');

/** A value of `type` that passes validation, with `id` wherever an ID goes; `hasId` says whether one went in. */
function sampleOf(type: GraphQLInputType, name: string, id: string, seen: { hasId: boolean }): unknown {
  const nullable = getNullableType(type);
  if (isListType(nullable)) return [sampleOf(nullable.ofType, name, id, seen)];
  if (isInputObjectType(nullable)) return inputOf(nullable, id, seen);
  if (isEnumType(nullable)) return nullable.getValues()[0]?.value;
  if (!isScalarType(nullable)) return null;
  switch (nullable.name) {
    case 'ID':
      seen.hasId = true;
      return id;
    case 'String':
      return /email|sender|participants/i.test(name) ? 'nobody@ids.test' : 'x';
    case 'Int':
    case 'Float':
      return 1;
    case 'Boolean':
      return false;
    case 'DateTime':
      return new Date().toISOString();
    default:
      return {};
  }
}

/** Every required field, and every ID field, of an input. */
function inputOf(type: GraphQLInputObjectType, id: string, seen: { hasId: boolean }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of Object.values(type.getFields())) {
    const isId = getNamedType(field.type).name === 'ID';
    if (isNonNullType(field.type) || isId) out[field.name] = sampleOf(field.type, field.name, id, seen);
  }
  // "exactly one of" inputs (shareList) take the first principal only.
  if (type.name === 'ShareListInput') {
    delete out.groupId;
    delete out.rightId;
    delete out.email;
  }
  return out;
}

const mutations = Object.values(schema.getMutationType()?.getFields() ?? {})
  .map((field) => {
    const input = field.args.find((a) => a.name === 'input');
    const seen = { hasId: false };
    if (input) sampleOf(input.type, 'input', MALFORMED, seen);
    return { name: field.name, input, hasId: seen.hasId };
  })
  .filter((m) => m.input && m.hasId);

const queries = Object.values(schema.getQueryType()?.getFields() ?? {}).filter((field) =>
  field.args.some((a) => isNonNullType(a.type) && getNamedType(a.type).name === 'ID'),
);

describe('ids that name nothing', () => {
  let t: TestServer;
  let token: string;
  beforeAll(async () => {
    t = await startTestServer();
    token = await t.token('ids@ids.test');
  });
  afterAll(() => t?.close());

  const run = async (query: string, variables: Record<string, unknown>) => {
    const res = await t.server.yoga.fetch('http://sharegraph.test/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query, variables }),
    });
    return {
      status: res.status,
      body: (await res.json()) as { data?: Record<string, unknown> | null; errors?: unknown[] },
    };
  };

  it('covers the mutations that take ids', () => {
    expect(mutations.length).toBeGreaterThan(30);
  });

  describe.each([
    ['a malformed id', MALFORMED],
    ['an id of another type', OTHER_TYPE],
  ])('%s', (_what, id) => {
    it.each(mutations.map((m) => [m.name, m] as const))('in the input of %s is its NotFoundError', async (name, m) => {
      const input = sampleOf(m.input?.type as GraphQLInputType, 'input', id, { hasId: false });
      const query = `mutation($input: ${String(m.input?.type)}) { ${name}(input: $input) { __typename ... on Error { code } } }`;
      const before = t.server.database.statements();
      const res = await run(query, { input });
      expect(res.body.errors).toBeUndefined();
      expect(res.status).toBe(200);
      expect(res.body.data?.[name]).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
      expect(t.server.database.statements() - before).toBeLessThan(20);
    });

    it.each(queries.map((f) => [f.name, f] as const))('as an argument of %s reads as nothing', async (name, field) => {
      const args = field.args.filter((a) => isNonNullType(a.type));
      const vars = Object.fromEntries(args.map((a) => [a.name, sampleOf(a.type, a.name, id, { hasId: false })]));
      const decl = args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
      const call = args.map((a) => `${a.name}: $${a.name}`).join(', ');
      const connection = getNamedType(field.type).name.endsWith('Connection');
      const res = await run(
        `query(${decl}) { result: ${name}(${call}) { ${connection ? 'edges { __typename }' : '__typename'} } }`,
        vars,
      );
      expect(res.body.errors).toBeUndefined();
      // A nullable field is null; a connection that cannot be null has no edges.
      expect(res.body.data?.result ?? null).toEqual(isNonNullType(field.type) ? { edges: [] } : null);
    });
  });
});
