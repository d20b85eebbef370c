import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { signToken } from '../../src/auth/jwt.ts';
import { graphql } from '../generated/gql.ts';
import type { TypedDocumentString } from '../generated/graphql.ts';
import { freshPostgresDatabase } from '../helpers/db.ts';
import { type ServerProcess, sparePort, startServerProcess } from '../helpers/processes.ts';
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

/** A GraphQL call over real HTTP to a server process; fails on errors. */
async function call<R, V>(url: string, doc: TypedDocumentString<R, V>, variables: V, token: string): Promise<R> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: doc.toString(), variables }),
  });
  const body = (await res.json()) as { data?: R; errors?: unknown };
  if (!res.ok || body.errors || !body.data) throw new Error(`${res.status}: ${JSON.stringify(body)}`);
  return body.data;
}

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

it('logs why and exits non-zero when it cannot start', async () => {
  // Nothing listens on this port, so the database cannot be reached.
  const port = await sparePort();
  const env = { NODE_ENV: 'test', JWT_SECRET: TEST_SECRET, DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/none` };
  await expect(startServerProcess(env)).rejects.toThrow(
    /exit code 1[\s\S]*"level":60.*ECONNREFUSED.*"msg":"sharegraph could not start"/,
  );
});
