import { ConfigError, loadConfig } from './config.ts';
import { seedDemo } from './db/seed.ts';
import { createServer } from './server.ts';

// The entry: config → database (migrated) → pub/sub → server; graceful shutdown on SIGTERM/SIGINT.
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`sharegraph: ${err.message}\n`);
  process.exit(1);
}

const server = await createServer(config);
const log = server.services.log;
if (config.seedDemo) {
  const demo = await seedDemo(server.services.db);
  if (demo.created) log.info('demo data seeded');
}
log.info(
  `sharegraph ready: GraphiQL at ${server.url}/graphql (${server.database.kind}, ${server.services.realtime.kind} pub/sub)`,
);
if (server.jwtSecret && !config.jwksUrl) {
  process.stdout.write(
    `\nTokens for the demo users: npm run token -- admin@demo.sharegraph.dev\n` +
      `(also ada@, grace@, linus@ and guest@partner.example). Paste it in GraphiQL's headers as\n` +
      `{ "Authorization": "Bearer <token>" }\n\n`,
  );
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: finishing in-flight requests`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
