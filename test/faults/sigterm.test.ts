import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { signToken } from '../../src/auth/jwt.ts';
import { graphql } from '../generated/gql.ts';
import { freshPostgresDatabase } from '../helpers/db.ts';
import { call, type ServerProcess, sparePort, startServerProcess } from '../helpers/processes.ts';
import { TEST_SECRET } from '../helpers/server.ts';
import { connectWs } from '../helpers/ws.ts';

const CreateAccount = graphql(`
  mutation Sig_CreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { account { id } } }
  }
`);
const CreateWorkspace = graphql(`
  mutation Sig_CreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) { __typename ... on CreateWorkspacePayload { workspace { id } } }
  }
`);
const CreateList = graphql(`
  mutation Sig_CreateList($input: CreateListInput!) {
    createList(input: $input) { __typename ... on CreateListPayload { list { id } } }
  }
`);
const CreateItem = graphql(`
  mutation Sig_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id } } }
  }
`);
const Items = graphql(`
  query Sig_Items($id: ID!) { list(id: $id) { items(first: 10) { edges { node { title } } } } }
`);
const ListEvents = graphql(`
  subscription Sig_ListEvents($listId: ID!) { listEvents(listId: $listId) { __typename } }
`);

const OWNER = 'owner@sigterm.test';

const processes: ServerProcess[] = [];
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill()));
  for (const step of cleanup) await step();
});

/** The environment of a server process on a database of its own (PostgreSQL, or PGlite on disk). */
async function environment(): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: 'info',
    SEED_DEMO: 'false',
    REDIS_KEY_PREFIX: `sharegraph-test:sigterm-${process.pid}:`,
  };
  if (process.env.REDIS_URL) env.REDIS_URL = process.env.REDIS_URL;
  const db = await freshPostgresDatabase();
  if (db) {
    env.DATABASE_URL = db.url;
    cleanup.push(() => db.drop());
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'sharegraph-sigterm-'));
    env.DATA_DIR = dir;
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  }
  return env;
}

it('on SIGTERM finishes the in-flight request, closes sockets with 1001, exits 0, and keeps what committed', async () => {
  const env = await environment();
  const first = await startServerProcess(env);
  processes.push(first);
  const token = await signToken(TEST_SECRET, { email: OWNER }, '1h');

  const account = (await call(first.url, CreateAccount, { input: { name: 'Sig' } }, token)).createAccount;
  const accountId = account.__typename === 'CreateAccountPayload' ? account.account.id : '';
  const ws = (await call(first.url, CreateWorkspace, { input: { accountId, name: 'Sig' } }, token)).createWorkspace;
  const workspaceId = ws.__typename === 'CreateWorkspacePayload' ? ws.workspace.id : '';
  const list = (await call(first.url, CreateList, { input: { workspaceId, name: 'Sig' } }, token)).createList;
  const listId = list.__typename === 'CreateListPayload' ? list.list.id : '';

  const client = connectWs(first.url, token);
  const events = client.subscribe(ListEvents, { listId });
  expect((await events.next()).listEvents.__typename).toBe('ListEventsSubscribed');
  const created = await call(first.url, CreateItem, { input: { listId, title: 'Committed before' } }, token);
  expect(created.createItem.__typename).toBe('CreateItemPayload');
  expect((await events.next()).listEvents.__typename).toBe('ItemCreated');

  // A request whose body is still arriving when the signal comes.
  const body = JSON.stringify({ query: Items.toString(), variables: { id: listId } });
  const req = request(`${first.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      authorization: `Bearer ${token}`,
    },
  });
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
  });
  await new Promise<void>((resolve) => req.on('socket', (s) => s.on('connect', () => resolve())));
  req.write(body.slice(0, 10));
  await new Promise((r) => setTimeout(r, 100));

  first.child.kill('SIGTERM');
  // Wait until the server is shutting down before the request's body ends.
  while (!first.output().includes('SIGTERM: finishing in-flight requests')) {
    await new Promise((r) => setTimeout(r, 10));
  }
  req.end(body.slice(10));

  const answered = await response;
  expect(answered.status).toBe(200);
  expect(JSON.parse(answered.text)).toMatchObject({
    data: { list: { items: { edges: [{ node: { title: 'Committed before' } }] } } },
  });
  expect(await client.closeCode).toBe(1001);
  expect(await first.exited).toBe(0);
  await client.dispose();

  // The same database, a new process: the item is there.
  const second = await startServerProcess(env);
  processes.push(second);
  const items = await call(second.url, Items, { id: listId }, token);
  expect(items.list?.items.edges.map((e) => e.node.title)).toEqual(['Committed before']);
  second.child.kill('SIGINT');
  expect(await second.exited).toBe(0);
}, 60_000);

/** `sentAt`: when the request left, by the test's clock. */
type Answer = { status: number; text: string; connection: string | undefined; sentAt: number } | { error: string };

/** One request over a keep-alive agent: its status, body and Connection header, or the transport error. */
function post(url: string, agent: Agent, body: string, token: string) {
  const sentAt = performance.now();
  return new Promise<Answer>((resolve) => {
    const req = request(`${url}/graphql`, {
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        authorization: `Bearer ${token}`,
      },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, connection: res.headers.connection, sentAt }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end(body);
  });
}

it('under load, SIGTERM fails none of the requests sent before it, closes keep-alive connections after their response, and exits within SHUTDOWN_TIMEOUT_MS', async () => {
  const env = { ...(await environment()), SHUTDOWN_TIMEOUT_MS: '5000' };
  const server = await startServerProcess(env);
  processes.push(server);
  const token = await signToken(TEST_SECRET, { email: OWNER }, '1h');
  const account = (await call(server.url, CreateAccount, { input: { name: 'Load' } }, token)).createAccount;
  const accountId = account.__typename === 'CreateAccountPayload' ? account.account.id : '';
  const ws = (await call(server.url, CreateWorkspace, { input: { accountId, name: 'Load' } }, token)).createWorkspace;
  const workspaceId = ws.__typename === 'CreateWorkspacePayload' ? ws.workspace.id : '';
  const list = (await call(server.url, CreateList, { input: { workspaceId, name: 'Load' } }, token)).createList;
  const listId = list.__typename === 'CreateListPayload' ? list.list.id : '';

  // Sixteen clients, each on its own keep-alive connection, alternating a mutation and a query
  // until the server no longer answers.
  let signalledAt = Number.POSITIVE_INFINITY;
  const before: Answer[] = [];
  const after: Answer[] = [];
  const client = async (n: number) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; ; i++) {
      const body =
        i % 2
          ? JSON.stringify({ query: Items.toString(), variables: { id: listId } })
          : JSON.stringify({ query: CreateItem.toString(), variables: { input: { listId, title: `c${n}-${i}` } } });
      const sentAt = performance.now();
      const answer = await post(server.url, agent, body, token);
      (sentAt < signalledAt ? before : after).push(answer);
      if ('error' in answer) break;
    }
    agent.destroy();
  };
  const clients = Array.from({ length: 16 }, (_, n) => client(n));
  await new Promise((r) => setTimeout(r, 3_000));
  signalledAt = performance.now();
  server.child.kill('SIGTERM');
  // The server logs this in the same turn as it starts closing: every response after it says close.
  let closingSeenAt = Number.POSITIVE_INFINITY;
  while (!server.output().includes('SIGTERM: finishing in-flight requests')) await new Promise((r) => setTimeout(r, 5));
  closingSeenAt = performance.now();
  const code = await server.exited;
  const exitedAfterMs = performance.now() - signalledAt;
  await Promise.all(clients);

  // Every client had requests answered before the signal, and had one in flight when it came.
  expect(before.length).toBeGreaterThan(32);
  const failed = before.filter((a) => 'error' in a || a.status !== 200 || a.text.includes('"errors"'));
  expect(failed).toEqual([]);
  // The requests in flight at the signal were answered, telling their keep-alive client to leave
  // (the test may notice the log line only after those answers, so they are found by the header),
  // and every request sent after the test saw the server closing was answered so too. (Not every
  // answer that arrived after: one the server wrote before closing may be read after its log line,
  // which comes through another pipe.)
  const answered = [...before, ...after].filter((a) => !('error' in a));
  expect(answered.filter((a) => !('error' in a) && a.connection === 'close').length).toBeGreaterThan(0);
  const sentAfter = answered.filter((a) => !('error' in a) && a.sentAt > closingSeenAt);
  expect(sentAfter.filter((a) => !('error' in a) && a.connection !== 'close')).toEqual([]);
  expect(code).toBe(0);
  expect(exitedAfterMs).toBeLessThan(5_000);
}, 60_000);

it('logs why and exits non-zero when it cannot start', async () => {
  // Nothing listens on this port, so the database cannot be reached.
  const port = await sparePort();
  const env = { NODE_ENV: 'test', JWT_SECRET: TEST_SECRET, DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/none` };
  await expect(startServerProcess(env)).rejects.toThrow(
    /exit code 1[\s\S]*"level":60.*ECONNREFUSED.*"msg":"sharegraph could not start"/,
  );
});
