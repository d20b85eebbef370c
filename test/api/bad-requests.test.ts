import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const nestedObjects = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
const nestedArrays = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;

describe('requests that are not GraphQL requests', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t?.close());

  const post = async (body: string, token?: string) => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
    };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await t.server.yoga.fetch('http://sharegraph.test/graphql', { method: 'POST', headers, body });
    return {
      status: res.status,
      body: (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[] },
    };
  };

  it.each([
    ['query is a number', '{"query":42}', /"query" must be a string/],
    ['query is an object', '{"query":{"kind":"Document"}}', /"query" must be a string/],
    ['operationName is a number', '{"query":"{ __typename }","operationName":7}', /"operationName" must be a string/],
    ['variables are a string', '{"query":"{ __typename }","variables":"{}"}', /"variables" must be an object/],
    [
      'variables nest 20,000 objects deep',
      `{"query":"query($x: JSON) { __typename }","variables":{"x":${nestedObjects(20_000)}}}`,
      /nest deeper than 64 levels/,
    ],
    [
      'variables nest 20,000 arrays deep',
      `{"query":"{ __typename }","variables":{"x":${nestedArrays(20_000)}}}`,
      /nest deeper than 64 levels/,
    ],
  ])('%s: a 400 with a GraphQL error, anonymous or signed in', async (_name, body, message) => {
    for (const token of [undefined, await t.token('bad-requests@example.com')]) {
      const res = await post(body, token);
      expect(res.status).toBe(400);
      expect(res.body.errors?.[0]?.message).toMatch(message);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    }
  });

  it('accepts variables nested within the limit', async () => {
    const res = await post(`{"query":"{ __typename }","variables":{"x":${nestedObjects(60)}}}`);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
  });
});
