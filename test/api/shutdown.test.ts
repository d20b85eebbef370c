import { request } from 'node:http';
import { expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createServer } from '../../src/server.ts';
import { startTestServer, TEST_SECRET } from '../helpers/server.ts';
import { connectWs } from '../helpers/ws.ts';

it('shuts down gracefully: an in-flight request finishes, sockets close with 1001, the database closes', async () => {
  const t = await startTestServer();
  const ws = connectWs(t.server.url, await t.token('bye@shutdown.test'));
  await new Promise((r) => setTimeout(r, 200));

  // A request whose body is still arriving when the shutdown begins.
  const body = JSON.stringify({ query: '{ me { id } }' });
  const req = request(`${t.server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  const response = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
  await new Promise<void>((resolve) => req.on('socket', (s) => s.on('connect', () => resolve())));
  req.write(body.slice(0, 5));
  await new Promise((r) => setTimeout(r, 100));
  const closing = t.close();
  await new Promise((r) => setTimeout(r, 100));
  req.end(body.slice(5));

  expect(await response).toBe(200);
  expect(await ws.closeCode).toBe(1001);
  await closing;
  await expect(fetch(`${t.server.url}/healthz`)).rejects.toThrow();
  await expect(t.server.database.ping()).rejects.toThrow();
  await ws.dispose();
});

it('answers /healthz at once but /readyz only once the starter marks it ready', async () => {
  const server = await createServer(
    { ...loadConfig({ PORT: '0', JWT_SECRET: TEST_SECRET }), dataDir: null },
    {
      holdReadiness: true,
    },
  );
  try {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    server.markReady();
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  } finally {
    await server.close();
  }
});
