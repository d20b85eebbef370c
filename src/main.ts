import { pino } from 'pino';
import { ConfigError, loadConfig } from './config.ts';
import { prepareDataDir } from './db/pglite-template.ts';
import { seedDemo } from './db/seed.ts';
import { createServer, type RunningServer } from './server.ts';
import { startTracing, tracingRequested } from './telemetry/tracing.ts';

// The entry: config → database (migrated) → pub/sub → server; graceful shutdown on SIGTERM/SIGINT.
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`sharegraph: ${err.message}\n`);
  process.exit(1);
}

// Until the server's own logger exists, startup failures are logged here.
let log = pino({ level: config.logLevel });
// A bug that escaped every handler leaves the process in an unknown state: say so, and exit
// non-zero so the supervisor restarts it.
process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'uncaught exception');
  process.exit(1);
});
process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));

// Where start-up time goes, in milliseconds since the process began: in the ready line, for the
// cold-start bench and whoever wants the start quicker.
const startup: Record<string, number> = { loaded: Math.round(performance.now()) };
const mark = (phase: string) => {
  startup[phase] = Math.round(performance.now());
};

// Traces go out over OTLP only when the OTEL_* variables ask for them.
const stopTracing = tracingRequested(process.env) ? await startTracing() : async () => {};

let server: RunningServer;
try {
  // A first start copies a prepared database (src/db/pglite-template.ts) instead of paying for
  // PGlite's initdb, the migrations and the demo seed.
  const origin =
    config.databaseUrl || !config.dataDir ? null : await prepareDataDir(config.dataDir, { demo: config.seedDemo });
  mark('dataDir');
  server = await createServer(config, { holdReadiness: true });
  mark('server');
  log = server.services.log;
  if (origin?.from === 'template') {
    log.info(`database copied from the prepared template${origin.demo ? ', demo data included' : ''}`);
  }
  if (origin?.from === 'initdb') log.warn({ reason: origin.reason }, 'no prepared template: PGlite runs initdb');
  if (config.seedDemo && origin?.from !== 'template') {
    const demo = await seedDemo(server.services.db);
    if (demo.created) log.info('demo data seeded');
    mark('seed');
  }
} catch (err) {
  log.fatal({ err }, 'sharegraph could not start');
  process.exit(1);
}
log.info(
  { startup },
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
    const force = setTimeout(() => {
      log.error(`shutdown took over ${config.shutdownTimeoutMs} ms (SHUTDOWN_TIMEOUT_MS); exiting anyway`);
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    server
      .close()
      .then(stopTracing)
      .then(
        () => {
          log.info('stopped');
          process.exit(0);
        },
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  });
}
// Only now, with demo data in place and the signals handled, may a load balancer send traffic.
server.markReady();
