import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The GraphQL-over-HTTP audits of graphql-http, against the real port: every MUST passes; a
// SHOULD or MAY that does not is annotated on its test as a warning.

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});

afterAll(async () => {
  await t?.close();
});

/** Browsers' simple requests cannot set custom headers; the CSRF plugin wants this one on GETs and non-JSON POSTs. */
const fetchFn: typeof fetch = (input, init) => {
  const headers = new Headers(init?.headers);
  headers.set('x-graphql-yoga-csrf', '1');
  return fetch(input, { ...init, headers });
};

const audits = serverAudits({ url: () => `${t.server.url}/graphql`, fetchFn });

describe('GraphQL over HTTP', () => {
  it('has audits to run', () => {
    expect(audits.filter((a) => a.name.startsWith('MUST')).length).toBeGreaterThan(10);
  });

  for (const audit of audits) {
    it(`${audit.id} ${audit.name}`, async ({ annotate }) => {
      const result = await audit.fn();
      if (result.status === 'ok') return;
      const detail = `${result.reason} (${result.response.status}: ${await result.response.text().catch(() => '')})`;
      if (audit.name.startsWith('MUST')) expect.fail(detail);
      await annotate(detail, 'warning');
    });
  }
});
