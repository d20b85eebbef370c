import { Socket } from 'node:net';

/** The PostgreSQL and Redis the multi-instance tests use: DATABASE_URL/REDIS_URL, or the local defaults. */
export const POSTGRES_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.connect(Number(port), hostname);
  });
}

/**
 * Whether PostgreSQL and Redis can be reached. In CI they must be: a suite that needs them fails
 * loudly instead of skipping. On a laptop without them, the suite is skipped with a message.
 */
export async function servicesAvailable(): Promise<boolean> {
  const ok = (await reachable(POSTGRES_URL)) && (await reachable(REDIS_URL));
  if (!ok && process.env.CI) throw new Error(`CI needs PostgreSQL (${POSTGRES_URL}) and Redis (${REDIS_URL})`);
  return ok;
}
