import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TypedDocumentString } from '../generated/graphql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { connectWs } from '../helpers/ws.ts';

/** A request through `yoga.fetch`, with the SQL statements it caused. */
async function send(
  t: TestServer,
  init: { method?: string; body?: string; headers?: Record<string, string>; path?: string; as?: string },
) {
  const headers: Record<string, string> = { accept: 'application/graphql-response+json', ...init.headers };
  if (init.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/json';
  }
  if (init.as) headers.authorization = `Bearer ${await t.token(init.as)}`;
  const before = t.server.database.statements();
  const res = await t.server.yoga.fetch(`http://sharegraph.test${init.path ?? '/graphql'}`, {
    method: init.method ?? 'POST',
    headers,
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await res.text();
  let json: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] } | undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json, statements: t.server.database.statements() - before };
}

const post = (t: TestServer, query: string, as = 'limits@example.com', extra: Record<string, unknown> = {}) =>
  send(t, { body: JSON.stringify({ query, ...extra }), as });

/** `{ node { ... on List { shares { list { shares … { id } } } } } }`, `depth` fields deep counting `node` and `id`. */
function deepQuery(depth: number): string {
  let selection = 'id';
  for (let level = depth - 2; level >= 1; level--) selection = `${level % 2 ? 'shares' : 'list'} { ${selection} }`;
  return `{ node(id: "TGlzdDpub25l") { ... on List { ${selection} } } }`;
}

const aliased = (n: number) => `{ me { ${Array.from({ length: n }, (_, i) => `a${i}: id`).join(' ')} } }`;
const directed = (n: number) => `{ me { ${'__typename @skip(if: false) '.repeat(n)}} }`;
/** `{ __typename … }`, `n` tokens long (the braces count, the end of the document does not). */
const tokens = (n: number) => `{ ${'__typename '.repeat(n - 2)}}`;
/**
 * `sharedWithMe(first: 100)` costs 1 + 100 × 3 (its edges, node and id once per node asked for),
 * `me` 1 and each of its scalars 1 (src/security/complexity.ts).
 */
const costing = (cost: number) =>
  `{ sharedWithMe(first: 100) { edges { node { id } } } me { ${'id '.repeat(cost - 302)}} }`;

describe('query limits (GraphQL Armor), each just under and just over', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      env: {
        QUERY_MAX_DEPTH: '6',
        QUERY_MAX_ALIASES: '4',
        QUERY_MAX_DIRECTIVES: '3',
        QUERY_MAX_TOKENS: '50',
        QUERY_MAX_COST: '303',
      },
    });
    await post(t, '{ me { id } }'); // provision the user, so later statement counts see only the request
  });
  afterAll(() => t?.close());

  it.each([
    ['depth', deepQuery(6), deepQuery(7), /depth limit of 6 exceeded, found 7/],
    ['aliases', aliased(4), aliased(5), /Aliases limit of 4 exceeded, found 5/],
    ['directives', directed(3), directed(4), /Directives limit of 3 exceeded, found 4/],
    ['tokens', tokens(50), tokens(51), /Token limit of 50 exceeded/],
    ['cost', costing(303), costing(304), /complexity limit of 303 exceeded, found 304/],
  ])(
    '%s: the query at the limit runs, one step over is refused before anything executes',
    async (_name, under, over, message) => {
      const ok = await post(t, under);
      expect(ok.status).toBe(200);
      expect(ok.json?.errors?.some((e) => /limit/i.test(e.message)) ?? false).toBe(false);
      // It ran: data came back (its statements may be none: the viewer is remembered between requests).
      expect(ok.json?.data).toBeTruthy();

      const refused = await post(t, over);
      expect(refused.status).toBe(400);
      expect(refused.json?.data).toBeUndefined();
      expect(refused.json?.errors?.map((e) => e.message)).toContainEqual(expect.stringMatching(message));
      // Refused at parse or validation: not even the token's user was looked up.
      expect(refused.statements).toBe(0);
    },
  );

  it('limits apply to subscriptions over WS too (same parse and validate)', async () => {
    const ws = connectWs(t.server.url, await t.token('limits@example.com'));
    try {
      const query = `subscription { presence(listId: "TGlzdDpub25l") { ${'kind '.repeat(50)}} }`;
      const sub = ws.subscribe({ toString: () => query } as TypedDocumentString<unknown, unknown>);
      const { error } = await sub.closed;
      expect(JSON.stringify(error)).toMatch(/Token limit of 50 exceeded/);
    } finally {
      await ws.dispose();
    }
  });
});

describe('request size and batching', () => {
  let t: TestServer;
  let batched: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { REQUEST_MAX_BYTES: '2000' } });
    batched = await startTestServer({ env: { BATCH_LIMIT: '2' } });
  });
  afterAll(async () => {
    await t?.close();
    await batched?.close();
  });

  const padded = (bytes: number) => {
    const base = JSON.stringify({ query: '{ __typename }', variables: { pad: '' } });
    return JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(bytes - base.length) } });
  };

  it('reads a body at the limit and refuses one byte more with 413, before any statement', async () => {
    const at = await send(t, { body: padded(2000) });
    expect(at.status).toBe(200);
    expect(at.json?.data).toEqual({ __typename: 'Query' });
    const over = await send(t, { body: padded(2001) });
    expect(over.status).toBe(413);
    expect(over.statements).toBe(0);
  });

  /** A POST over a real socket: with its Content-Length, or `chunked` (written in pieces, no length). */
  const overSocket = (body: string, chunked: boolean) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        `${t.server.url}/graphql`,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(Buffer.byteLength(body)) }),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      if (chunked) for (let i = 0; i < body.length; i += 500) req.write(body.slice(i, i + 500));
      req.end(chunked ? undefined : body);
    });

  it.each([
    ['with a Content-Length', false],
    ['chunked, without one', true],
  ])('over HTTP %s: a body at the limit is read, one byte more is refused with 413', async (_, chunked) => {
    const before = t.server.database.statements();
    const at = await overSocket(padded(2000), chunked);
    expect(at.status).toBe(200);
    expect(JSON.parse(at.text).data).toEqual({ __typename: 'Query' });
    const over = await overSocket(padded(2001), chunked);
    expect(over.status).toBe(413);
    expect(JSON.parse(over.text).errors[0].extensions.code).toBe('REQUEST_ENTITY_TOO_LARGE');
    expect(t.server.database.statements() - before).toBe(0);
  });

  it('refuses a malformed Content-Length with 400', async () => {
    const res = await send(t, { body: padded(100), headers: { 'content-length': '1e2' } });
    expect(res.status).toBe(400);
  });

  it('refuses a batched request when batching is off (the default)', async () => {
    const res = await send(t, { body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]) });
    expect(res.status).toBe(400);
    expect(res.statements).toBe(0);
  });

  it('bounds batches when BATCH_LIMIT is set', async () => {
    const batch = (n: number) => JSON.stringify(Array.from({ length: n }, () => ({ query: '{ __typename }' })));
    const two = await send(batched, { body: batch(2), headers: { accept: 'application/json' } });
    expect(two.status).toBe(200);
    expect(two.json).toEqual([{ data: { __typename: 'Query' } }, { data: { __typename: 'Query' } }]);
    const three = await send(batched, { body: batch(3), headers: { accept: 'application/json' } });
    expect(three.status).toBe(413);
    expect(three.text).toMatch(/Batching is limited to 2 operations/);
  });
});

describe('CSRF prevention', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t?.close());

  const get = (query: string, headers: Record<string, string> = {}) =>
    send(t, { method: 'GET', path: `/graphql?query=${encodeURIComponent(query)}`, headers });

  it('refuses a simple GET without the preflight header, and answers it with the header', async () => {
    const refused = await get('{ __typename }');
    expect(refused.status).toBe(403);
    expect(refused.text).toMatch(/CSRF/);
    const allowed = await get('{ __typename }', { 'x-graphql-yoga-csrf': '1' });
    expect(allowed.status).toBe(200);
    expect(allowed.json?.data).toEqual({ __typename: 'Query' });
  });

  it('refuses a text/plain POST (a form or a no-cors fetch) without the header', async () => {
    const refused = await send(t, {
      body: JSON.stringify({ query: '{ __typename }' }),
      headers: { 'content-type': 'text/plain' },
    });
    expect(refused.status).toBe(403);
  });

  it('refuses a mutation over GET even with the header, and changes nothing', async () => {
    const res = await get('mutation { createAccount(input: { name: "via GET" }) { __typename } }', {
      'x-graphql-yoga-csrf': '1',
      authorization: `Bearer ${await t.token('csrf@example.com')}`,
    });
    expect(res.status).toBe(405);
    expect(res.statements).toBe(0);
    const accounts = await t.server.services.db.account.count({ where: { name: 'via GET' } });
    expect(accounts).toBe(0);
  });
});
