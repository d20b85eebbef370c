import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A fresh, empty PostgreSQL database on the server of DATABASE_URL, for one test file; `drop`
 * removes it. Returns null when DATABASE_URL is unset (tests then use in-memory PGlite).
 */
export async function freshPostgresDatabase(
  baseUrl = process.env.DATABASE_URL,
): Promise<{ url: string; drop(): Promise<void> } | null> {
  if (!baseUrl) return null;
  const name = `sharegraph_t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: baseUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
