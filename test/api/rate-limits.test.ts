import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import type { TypedDocumentString } from '../generated/graphql.ts';
import {
  startTestServer,
  startTwoInstances,
  statusBecomes,
  type TestServer,
  type TwoInstances,
} from '../helpers/server.ts';
import { connectWs } from '../helpers/ws.ts';

const RlCreateAccount = graphql(`
  mutation RlCreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) {
      __typename
      ... on CreateAccountPayload { account { id } }
      ... on RateLimitedError { retryAfterSeconds }
      ... on Error { code message }
    }
  }
`);

const RlCreateWorkspace = graphql(`
  mutation RlCreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) {
      __typename
      ... on CreateWorkspacePayload { workspace { id } }
      ... on Error { code }
    }
  }
`);

const RlInvite = graphql(`
  mutation RlInvite($input: InviteToWorkspaceInput!) {
    inviteToWorkspace(input: $input) {
      __typename
      ... on Error { code }
    }
  }
`);

const RlAccept = graphql(`
  mutation RlAccept($input: AcceptInvitationInput!) {
    acceptInvitation(input: $input) {
      __typename
      ... on RateLimitedError { retryAfterSeconds }
      ... on Error { code }
    }
  }
`);

/** A raw request over the real port (the client address is then 127.0.0.1). */
async function overHttp(t: TestServer, query: string, variables: Record<string, unknown> = {}, token?: string) {
  const res = await fetch(`${t.server.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    json: (await res.json()) as {
      data?: Record<string, { __typename?: string; code?: string } | null>;
      errors?: { message: string; extensions?: { code?: string } }[];
    },
  };
}

const accountCount = (t: TestServer) => t.server.services.db.account.count();

describe('mutation budgets', () => {
  // One server for both budgets: the per-user test runs in process (its own address), the
  // per-address test over the real port from 127.0.0.1.
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      env: { RATE_LIMIT_MUTATIONS_PER_MINUTE: '3', RATE_LIMIT_IP_MUTATIONS_PER_MINUTE: '6' },
    });
  });
  afterAll(() => t?.close());

  it('per user: past the budget a mutation returns RateLimitedError and changes nothing; others are not affected', async () => {
    for (const n of [1, 2, 3]) {
      const ok = await t.ok(RlCreateAccount, { input: { name: `A${n}` } }, 'busy@example.com');
      expect(ok.createAccount.__typename).toBe('CreateAccountPayload');
    }
    const before = await accountCount(t);
    const refused = (await t.ok(RlCreateAccount, { input: { name: 'A4' } }, 'busy@example.com')).createAccount;
    expect(refused).toMatchObject({ __typename: 'RateLimitedError', code: 'RATE_LIMITED' });
    expect(refused.__typename === 'RateLimitedError' && refused.retryAfterSeconds).toBeGreaterThan(0);
    expect(await accountCount(t)).toBe(before);
    const other = await t.ok(RlCreateAccount, { input: { name: 'B1' } }, 'calm@example.com');
    expect(other.createAccount.__typename).toBe('CreateAccountPayload');
  });

  it('per address: users sharing one address share its budget', async () => {
    const query = RlCreateAccount.toString();
    const users = ['one@example.com', 'two@example.com', 'three@example.com'];
    for (let n = 0; n < 6; n++) {
      const res = await overHttp(t, query, { input: { name: `ip${n}` } }, await t.token(users[n % 3] as string));
      expect(res.json.data?.createAccount?.__typename).toBe('CreateAccountPayload');
    }
    const before = await accountCount(t);
    const refused = await overHttp(t, query, { input: { name: 'ip6' } }, await t.token('four@example.com'));
    expect(refused.json.data?.createAccount).toMatchObject({ __typename: 'RateLimitedError', code: 'RATE_LIMITED' });
    expect(await accountCount(t)).toBe(before);
  });
});

describe('failed authentication budget', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '3' } });
  });
  afterAll(() => t?.close());

  it('after three bad tokens from an address, even a good token from it is refused with 429 for a while', async () => {
    const good = await t.token('good@example.com');
    expect((await overHttp(t, '{ me { email } }', {}, good)).json.data?.me).toEqual({ email: 'good@example.com' });
    for (let n = 0; n < 3; n++) {
      const bad = await overHttp(t, '{ me { email } }', {}, `${good}x`);
      expect(bad.status).toBe(401);
    }
    const locked = await overHttp(t, '{ me { email } }', {}, good);
    expect(locked.status).toBe(429);
    expect(Number(locked.retryAfter)).toBeGreaterThan(0);
    expect(locked.json.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    // Over WS from the same address, the socket is refused too.
    const ws = connectWs(t.server.url, good);
    expect(await ws.closeCode).toBe(4403);
    await ws.dispose();
    // Asking without a token is not an authentication attempt, and still works.
    const anonymous = await overHttp(t, '{ __typename }');
    expect(anonymous.status).toBe(200);
  });
});

describe('lock-outs across instances', () => {
  let two: TwoInstances;
  beforeAll(async () => {
    two = await startTwoInstances({ RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '3' });
  });
  afterAll(() => two?.close());

  /** Polls `ask` until it answers `status` (an announcement takes a moment to cross Redis), at most 3 s. */
  it('failures on one instance lock the address out on the other, and on an instance started later', async () => {
    const { a, b } = two;
    const good = await a.token('mirror@example.com');
    // B has served the address before (and knows of no lock-out for it).
    expect((await overHttp(b, '{ me { email } }', {}, good)).json.data?.me).toEqual({ email: 'mirror@example.com' });
    for (let n = 0; n < 3; n++) expect((await overHttp(a, '{ me { email } }', {}, `${good}x`)).status).toBe(401);
    expect((await overHttp(a, '{ me { email } }', {}, good)).status).toBe(429);
    expect(await statusBecomes(async () => (await overHttp(b, '{ me { email } }', {}, good)).status, 429)).toBe(429);
    // A third instance, started after the lock-out began, reads it from the store.
    const c = await startTestServer({
      databaseUrl: a.server.services.config.databaseUrl,
      redisKeyPrefix: a.server.services.config.redisKeyPrefix,
      env: { REDIS_URL: a.server.services.config.redisUrl as string, RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '3' },
    });
    try {
      expect(await statusBecomes(async () => (await overHttp(c, '{ me { email } }', {}, good)).status, 429)).toBe(429);
    } finally {
      await c.close();
    }
  });
});

describe('guessing secret tokens gains nothing', () => {
  let t: TestServer;
  let token: string;
  const OWNER = 'owner@example.com';
  const GUESSER = 'guesser@example.com';
  beforeAll(async () => {
    t = await startTestServer({ env: { RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '3' } });
    const account = (await t.ok(RlCreateAccount, { input: { name: 'Acme' } }, OWNER)).createAccount;
    if (account.__typename !== 'CreateAccountPayload') throw new Error('no account');
    const ws = (await t.ok(RlCreateWorkspace, { input: { accountId: account.account.id, name: 'W' } }, OWNER))
      .createWorkspace;
    if (ws.__typename !== 'CreateWorkspacePayload') throw new Error('no workspace');
    await t.ok(RlInvite, { input: { workspaceId: ws.workspace.id, email: GUESSER } }, OWNER);
    const mail = await t.server.services.db.mailOutbox.findFirstOrThrow({ where: { to: GUESSER } });
    token = /\/invitations\/([A-Za-z0-9_-]+)/.exec(mail.text)?.[1] ?? '';
  });
  afterAll(() => t?.close());

  it('aliased invitation look-ups: misses spend the budget, then even the right token answers RATE_LIMITED', async () => {
    const guesses = Array.from({ length: 6 }, (_, i) => `g${i}: invitation(token: "guess-${i}") { email }`);
    const res = await overHttp(t, `{ ${guesses.join(' ')} }`, {}, await t.token(GUESSER));
    const answered = Object.values(res.json.data ?? {}).filter((v) => v !== null);
    expect(answered).toEqual([]);
    const limited = (res.json.errors ?? []).filter((e) => e.extensions?.code === 'RATE_LIMITED');
    expect(limited.length).toBe(3);

    const right = await overHttp(t, '{ invitation(token: $t) { email } }'.replace('$t', JSON.stringify(token)));
    expect(right.json.data?.invitation ?? null).toBeNull();
    expect(right.json.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    const accept = (await t.ok(RlAccept, { input: { token } }, GUESSER)).acceptInvitation;
    // In process (yoga.fetch) the address differs, but the guessing user's own budget is spent too.
    expect(accept).toMatchObject({ __typename: 'RateLimitedError', code: 'RATE_LIMITED' });
    const stored = await t.server.services.db.invitation.findFirstOrThrow({ where: { email: GUESSER } });
    expect(stored.status).toBe('PENDING');
  });
});

describe('request logs', () => {
  let t: TestServer;
  const lines: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    t = await startTestServer({ logger: pino({ level: 'info' }, sink) });
  });
  afterAll(() => t?.close());

  it('carry the request id and the viewer id, never the token or the variables', async () => {
    const token = await t.token('logged@example.com');
    const res = await t.server.yoga.fetch('http://sharegraph.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': 'req-42' },
      body: JSON.stringify({ query: RlCreateAccount.toString(), variables: { input: { name: 'SECRET-NAME-9' } } }),
    });
    expect(res.headers.get('x-request-id')).toBe('req-42');
    const me = await t.server.services.db.user.findFirstOrThrow({ where: { email: 'logged@example.com' } });
    const line = lines.find((l) => l.requestId === 'req-42' && l.msg === 'graphql operation');
    expect(line).toMatchObject({ viewerId: me.id, operation: 'RlCreateAccount' });
    expect(typeof line?.durationMs).toBe('number');
    const all = JSON.stringify(lines);
    expect(all).not.toContain(token);
    expect(all).not.toContain('SECRET-NAME-9');
  });

  it('give each request a fresh id when the caller sends none (or a strange one)', async () => {
    const res = await t.server.yoga.fetch('http://sharegraph.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'has spaces, and is odd' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('guessing link tokens over websockets gains nothing', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '3' } });
  });
  afterAll(() => t?.close());

  it('wrong link tokens on listEvents and presence spend the budget; then the answer is RATE_LIMITED', async () => {
    const ws = connectWs(t.server.url);
    try {
      const guess = (field: 'listEvents' | 'presence', n: number) => {
        const query = `subscription { ${field}(listId: "TGlzdDpub25l", linkToken: "guess-${n}") { __typename } }`;
        return ws.subscribe({ toString: () => query } as TypedDocumentString<unknown, unknown>).closed;
      };
      const codes: string[] = [];
      for (const [n, field] of (
        ['listEvents', 'presence', 'listEvents', 'presence', 'listEvents'] as const
      ).entries()) {
        const { error } = await guess(field, n);
        codes.push(String((error as { extensions?: { code?: string } }[])?.[0]?.extensions?.code));
      }
      // Three misses are answered like any unknown list; from then on only RATE_LIMITED.
      expect(codes).toEqual(['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'RATE_LIMITED', 'RATE_LIMITED']);
    } finally {
      await ws.dispose();
    }
  });
});
