import { getNamedType, isNonNullType, isObjectType, isUnionType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/schema.ts';

// Read your writes (issue 20, part 3) is a property of the whole API: every mutation hands out an
// access revision and every query and subscription field takes one back. Read from the schema, so
// a mutation or field added later cannot forget it.
describe('access revisions in the schema', () => {
  const mutations = Object.values(schema.getMutationType()?.getFields() ?? {});

  it.each(mutations.map((f) => [f.name, f] as const))('%s: its payload has accessRevision: String!', (_, field) => {
    const type = getNamedType(field.type);
    const payloads = isUnionType(type)
      ? type.getTypes().filter((t) => !t.getInterfaces().some((i) => i.name === 'Error'))
      : isObjectType(type)
        ? [type]
        : [];
    expect(payloads.length).toBeGreaterThan(0);
    for (const payload of payloads) {
      const revision = payload.getFields().accessRevision;
      expect(revision, payload.name).toBeDefined();
      expect(String(revision?.type)).toBe('String!');
      expect(isNonNullType(revision?.type)).toBe(true);
    }
  });

  const readers = [schema.getQueryType(), schema.getSubscriptionType()].flatMap((root) =>
    Object.values(root?.getFields() ?? {}).map((f) => [`${root?.name}.${f.name}`, f] as const),
  );

  it.each(readers)('%s takes minRevision: String', (_, field) => {
    const arg = field.args.find((a) => a.name === 'minRevision');
    expect(arg).toBeDefined();
    expect(String(arg?.type)).toBe('String');
    expect(arg?.description).toMatch(/accessRevision/);
  });

  it('covers every mutation and reader (the lists above are not empty)', () => {
    expect(mutations.length).toBeGreaterThan(40);
    expect(readers.some(([name]) => name === 'Subscription.listEvents')).toBe(true);
    expect(readers.some(([name]) => name === 'Query.me')).toBe(true);
  });
});
