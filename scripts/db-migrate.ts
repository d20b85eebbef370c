import { ConfigError, loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/client.ts';

// `npm run db:migrate`: applies pending migrations to DATABASE_URL, or to the embedded database.
try {
  const config = loadConfig();
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    directUrl: config.databaseDirectUrl,
    dataDir: config.dataDir,
  });
  try {
    const { applied } = await db.migrate((msg) => process.stdout.write(`${msg}\n`));
    process.stdout.write(applied.length ? `applied ${applied.length} migration(s)\n` : 'database is up to date\n');
  } finally {
    await db.close();
  }
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`sharegraph: ${err.message}\n`);
  process.exit(1);
}
