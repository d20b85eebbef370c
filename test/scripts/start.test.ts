import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'graphql-ws';
import { afterAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { signToken } from '../../src/auth/jwt.ts';
import { sparePort } from '../helpers/processes.ts';

// `npm start` runs scripts/start.mjs: src/main.ts and most dependencies bundled by esbuild. The
// other tests run the sources through tsx, so this one checks the bundle itself.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD = join(ROOT, 'node_modules/.cache/sharegraph/main.mjs');
const dataDir = mkdtempSync(join(tmpdir(), 'sharegraph-start-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Runs `node scripts/start.mjs` as `npm start` does, resolving once it is ready or has exited. */
async function start(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await Promise.race([
    exited,
    (async () => {
      while (!output.includes('sharegraph ready')) await new Promise((r) => setTimeout(r, 50));
    })(),
  ]);
  return { child, output: () => output, exited };
}

it('reuses its build while the sources are unchanged', { timeout: 120_000 }, async () => {
  // A bad PORT stops main.ts right after the build loaded, with one line naming it.
  const first = await start({ PORT: 'not-a-port' });
  expect(await first.exited).toBe(1);
  const built = statSync(BUILD).mtimeMs;
  const second = await start({ PORT: 'not-a-port' });
  expect(await second.exited).toBe(1);
  expect(second.output()).toContain('Invalid PORT="not-a-port"');
  expect(statSync(BUILD).mtimeMs).toBe(built);
});

it('serves GraphiQL, queries, mutations and subscriptions from the bundle', { timeout: 120_000 }, async () => {
  const port = await sparePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await start({ PORT: String(port), DATA_DIR: dataDir });
  expect(server.output()).toContain('sharegraph ready');
  const secret = readFileSync(join(dataDir, 'jwt-secret'), 'utf8').trim();
  const token = await signToken(secret, { email: 'admin@demo.sharegraph.dev' }, '1h');
  const call = async (query: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data: Record<string, Record<string, Record<string, { id: string }>>> };
    expect(body).not.toHaveProperty('errors');
    return body.data;
  };

  const graphiql = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
  expect(graphiql.status).toBe(200);
  expect(await graphiql.text()).toContain('GraphiQL');

  const accountId = (
    await call(
      'mutation($name: String!) { createAccount(input: { name: $name }) { ... on CreateAccountPayload { account { id } } } }',
      {
        name: 'Bundled',
      },
    )
  ).createAccount?.account?.id;
  const workspaceId = (
    await call(
      'mutation($id: ID!) { createWorkspace(input: { accountId: $id, name: "W" }) { ... on CreateWorkspacePayload { workspace { id } } } }',
      { id: accountId },
    )
  ).createWorkspace?.workspace?.id;
  const listId = (
    await call(
      'mutation($id: ID!) { createList(input: { workspaceId: $id, name: "L" }) { ... on CreateListPayload { list { id } } } }',
      { id: workspaceId },
    )
  ).createList?.list?.id;

  const ws = createClient({
    url: `${url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  try {
    const events = ws.iterate<{ listEvents: { __typename: string } }>({
      query: 'subscription($id: ID!) { listEvents(listId: $id) { __typename } }',
      variables: { id: listId },
    });
    expect((await events.next()).value?.data?.listEvents.__typename).toBe('ListEventsSubscribed');
    await call(
      'mutation($id: ID!) { createItem(input: { listId: $id, title: "Hello" }) { ... on CreateItemPayload { item { id } } } }',
      { id: listId },
    );
    expect((await events.next()).value?.data?.listEvents.__typename).toBe('ItemCreated');
    await events.return?.();
  } finally {
    await ws.dispose();
  }

  server.child.kill('SIGTERM');
  expect(await server.exited).toBe(0);
});
