import type { ExecutionResult } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { connectWs } from '../helpers/ws.ts';

const CreateAccount = graphql(`
  mutation Ds_CreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { account { id } } }
  }
`);

// @defer and @stream are added to the schema at run time (@graphql-yoga/plugin-defer-stream), so
// these documents are plain strings: schema.graphql, which codegen checks documents against,
// does not declare them.
const DEFERRED = `query Ds_Deferred { me { email ... @defer(label: "slow") { name accounts { role } } } }`;
const STREAMED = `query Ds_Streamed { me { email accounts @stream(initialCount: 1) { role } } }`;

const ADA = 'ada@defer.test';

interface Incremental extends ExecutionResult {
  hasNext?: boolean;
  incremental?: { data?: unknown; items?: unknown[]; path: (string | number)[]; label?: string }[];
}

/** The parts of a multipart/mixed answer, as JSON. */
function parts(body: string, boundary: string): Incremental[] {
  return body
    .split(`--${boundary}`)
    .map((part) => part.split('\r\n\r\n')[1]?.trim())
    .filter((json): json is string => !!json)
    .map((json) => JSON.parse(json) as Incremental);
}

describe('@defer and @stream', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
    for (const name of ['First', 'Second', 'Third']) await t.ok(CreateAccount, { input: { name } }, ADA);
  });
  afterAll(() => t?.close());

  const post = async (query: string, accept: string) => {
    const res = await t.server.yoga.fetch('http://sharegraph.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${await t.token(ADA)}` },
      body: JSON.stringify({ query }),
    });
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
  };

  it('over HTTP: the deferred fragment arrives in a later part of a multipart/mixed answer', async () => {
    const res = await post(DEFERRED, 'multipart/mixed');
    expect(res.status).toBe(200);
    const boundary = /boundary="?([^";]+)"?/.exec(res.type)?.[1] ?? '';
    expect(res.type).toContain('multipart/mixed');
    const [first, ...rest] = parts(res.body, boundary);
    expect(first).toMatchObject({ data: { me: { email: ADA } }, hasNext: true });
    expect(first?.data).not.toHaveProperty('me.accounts');
    const later = rest.flatMap((p) => p.incremental ?? []);
    expect(later).toEqual([
      expect.objectContaining({ label: 'slow', path: ['me'], data: { name: null, accounts: expect.any(Array) } }),
    ]);
    expect(rest.at(-1)?.hasNext).toBe(false);
  });

  it('over HTTP: @stream sends the first item at once and the others after', async () => {
    const res = await post(STREAMED, 'multipart/mixed');
    const boundary = /boundary="?([^";]+)"?/.exec(res.type)?.[1] ?? '';
    const [first, ...rest] = parts(res.body, boundary);
    expect((first?.data as { me: { accounts: unknown[] } } | undefined)?.me.accounts).toHaveLength(1);
    const streamed = rest.flatMap((p) => p.incremental ?? []).flatMap((i) => i.items ?? []);
    expect(streamed).toHaveLength(2);
  });

  it('over HTTP, a client that accepts no multipart answer is told so (406), unless the whole answer is kept', async () => {
    const fresh = await post(DEFERRED.replace('"slow"', '"fresh"'), 'application/graphql-response+json');
    expect(fresh.status).toBe(406);
    // The response cache kept the whole answer of the multipart request above: it serves it whole.
    const kept = await post(DEFERRED, 'application/graphql-response+json');
    expect(kept.status).toBe(200);
    expect(JSON.parse(kept.body)).toEqual({
      data: { me: { email: ADA, name: null, accounts: [{ role: 'ADMIN' }, { role: 'ADMIN' }, { role: 'ADMIN' }] } },
    });
  });

  it('over graphql-ws: the increments arrive as further `next` messages', async () => {
    const ws = connectWs(t.server.url, await t.token(ADA));
    try {
      const messages: Incremental[] = [];
      await new Promise<void>((resolve, reject) => {
        ws.client.subscribe<unknown>(
          { query: DEFERRED },
          { next: (m) => void messages.push(m as Incremental), error: reject, complete: resolve },
        );
      });
      expect(messages[0]).toMatchObject({ data: { me: { email: ADA } }, hasNext: true });
      expect(messages.flatMap((m) => m.incremental ?? [])).toEqual([
        expect.objectContaining({ label: 'slow', data: { name: null, accounts: expect.any(Array) } }),
      ]);
      expect(messages.at(-1)?.hasNext).toBe(false);
    } finally {
      await ws.dispose();
    }
  });

  it('GraphQL over server-sent events is turned off (406): subscriptions are served over graphql-ws', async () => {
    const res = await post('{ me { email } }', 'text/event-stream');
    expect(res.status).toBe(406);
    expect(JSON.parse(res.body).errors[0].extensions.code).toBe('NOT_ACCEPTABLE');
  });
});
