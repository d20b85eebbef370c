import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { GraphQLError, getOperationAST } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { type Logger, pino } from 'pino';
import { WebSocketServer } from 'ws';
import { AuthError, createTokenVerifier, hasExpired, resolveJwtSecret } from './auth/jwt.ts';
import { authenticate, signIn } from './auth/viewer.ts';
import { watchGenerations } from './cache/generations.ts';
import { createRevisions } from './cache/revisions.ts';
import type { Config } from './config.ts';
import type { Context, Services, Viewer } from './context.ts';
import { type Database, openDatabase } from './db/client.ts';
import { RateLimitedError } from './errors.ts';
import { httpDrain } from './http/drain.ts';
import { devMailPage } from './mail/dev-page.ts';
import { createMailer } from './mail/mailer.ts';
import { startExpirySweeper } from './modules/expiry/sweeper.ts';
import { prunePeriodically } from './modules/list/event-log.ts';
import { CSV_PATH, serveAccessReportCsv } from './modules/report/csv.ts';
import { documentCache } from './realtime/documents.ts';
import { createRealtime, type Realtime } from './realtime/pubsub.ts';
import { type MaskError, type SendNext, subscribeShared } from './realtime/shared-execution.ts';
import { subscriptionContext } from './realtime/subscription-context.ts';
import { complexityRefusal } from './security/complexity.ts';
import { malformedParams } from './security/plugins.ts';
import { createRateLimits } from './security/rate-limits.ts';
import { documentIdOf, loadTrustedDocuments } from './security/trusted-documents.ts';
import { createMetrics, rootFields, watchLiveCounts } from './telemetry/metrics.ts';
import { endSpan, tracer, within } from './telemetry/tracing.ts';
import { clientIp, createApp, type ServerContext } from './yoga.ts';

/** A running sharegraph server. */
export interface RunningServer {
  /** e.g. http://127.0.0.1:4000 */
  url: string;
  port: number;
  yoga: YogaServerInstance<ServerContext, Context>;
  services: Services;
  database: Database;
  /** The HS256 secret tokens are signed with (embedded and dev use), when JWKS is not used. */
  jwtSecret: string | undefined;
  /** Finishes in-flight requests, closes sockets with 1001, then Redis and the database. */
  close(): Promise<void>;
  /** Lets /readyz answer 200 (see `ServerOptions.holdReadiness`). */
  markReady(): void;
}

export interface ServerOptions {
  logger?: Logger;
  /** Skip migrations (a caller that migrated already). */
  skipMigrations?: boolean;
  /** Keep /readyz at 503 until `markReady()`, while the caller finishes starting (seeding). */
  holdReadiness?: boolean;
}

/** Opens the database (migrating it), the pub/sub, and listens with HTTP and graphql-ws on one port. */
export async function createServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const log =
    options.logger ??
    pino({ level: config.logLevel, redact: ['req.headers.authorization', 'headers.authorization', 'token'] });
  const trusted = config.trustedDocuments ? loadTrustedDocuments(config.trustedDocuments) : null;
  const jwtSecret = resolveJwtSecret(config);
  const verifier = createTokenVerifier({ ...config, jwtSecret });
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    directUrl: config.databaseDirectUrl,
    poolMax: config.databasePoolMax,
    dataDir: config.dataDir,
    onConnectionError: (err) => log.error({ err }, 'database connection error'),
  });
  let realtime: Realtime | undefined;
  try {
    if (!options.skipMigrations) {
      const { applied } = await database.migrate((msg) => log.info(msg));
      if (applied.length) log.info({ applied }, 'migrations applied');
    }
    realtime = createRealtime({
      redis: config.redis,
      keyPrefix: config.redisKeyPrefix,
      onError: (err) => log.warn({ err: err.message }, 'redis error'),
    });
  } catch (err) {
    await database.close();
    throw err;
  }
  const metrics = createMetrics();
  // Closed by the response cache plugin, which exists whenever they do.
  const generations = config.responseCache.enabled
    ? watchGenerations({ db: database.prisma, log, redis: config.redis, redisKeyPrefix: config.redisKeyPrefix })
    : null;
  const services: Services = {
    db: database.prisma,
    realtime,
    mail: createMailer({ db: database.prisma, smtpUrl: config.smtpUrl, from: config.mailFrom, log, ...config.mail }),
    config,
    log,
    limits: createRateLimits({
      config,
      onError: (err) => log.warn({ err: err.message }, 'rate limit store error'),
      onRefused: (budget) => metrics.rateLimited.inc({ budget }),
    }),
    metrics,
    generations,
    revisions: createRevisions(generations, config.accessRevisionWaitMs),
    authenticate: (token) => authenticate(database.prisma, verifier, token),
  };
  const yoga = createApp(services, trusted);
  const stopPruning = prunePeriodically(database.prisma, config.eventRetentionMs, (err) =>
    log.warn({ err: err.message }, 'pruning old list events failed'),
  );
  const sweeper = startExpirySweeper({ db: database.prisma, realtime, log });
  // Mail queued by changes that committed before a crash or restart goes out now.
  void services.mail.flush();

  let ready = !options.holdReadiness;
  const httpServer = createHttpServer((req, res) => {
    drain.track(res);
    if (req.url === '/healthz') return health(res, Promise.resolve());
    const path = req.url?.split('?')[0];
    if (path === '/demo' || path === '/demo/') return serveFile(res, DEMO_PAGE, 'text/html; charset=utf-8');
    if (path === '/demo/graphql-ws.js') return serveFile(res, GRAPHQL_WS_CLIENT, 'text/javascript; charset=utf-8');
    if (req.method === 'GET' && path?.startsWith(INVITATION_PAGE_PATH)) {
      return serveFile(res, INVITATION_PAGE, 'text/html; charset=utf-8');
    }
    if (path === '/dev/mail' && config.env === 'development') {
      return void devMailPage(database.prisma).then(
        (page) =>
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page),
        (err) => {
          log.error({ err: (err as Error).message }, 'dev mail page failed');
          res.writeHead(500).end();
        },
      );
    }
    if (path === '/metrics') {
      return void metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    }
    const report = path && CSV_PATH.exec(path);
    if (report?.[1]) {
      serveAccessReportCsv(services, req, res, report[1]).catch((err) => {
        log.error({ err }, 'access report failed');
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
      return;
    }
    if (req.url === '/readyz') {
      const checks = Promise.all([database.ping(), services.realtime.ping(), services.limits.ready()]);
      return health(res, ready ? checks : Promise.reject(new Error('starting')));
    }
    return yoga(req, res);
  });
  const drain = httpDrain(httpServer);
  const wss = new WebSocketServer({
    server: httpServer,
    path: yoga.graphqlEndpoint,
    maxPayload: config.limits.bodyBytes,
  });
  const expiryTimers = new Set<NodeJS.Timeout>();
  const documents = documentCache();
  const mask = maskOf(yoga);
  // Each socket's live subscriptions (operation id → root field), and how many there are of each field.
  const subscribed = new Map<string, number>();
  const count = (field: string, by: number) => subscribed.set(field, (subscribed.get(field) ?? 0) + by);
  watchLiveCounts(metrics, { websockets: () => wss.clients.size, subscriptions: () => subscribed });
  const wsServer = useServer<
    { authorization?: string },
    { viewer: Viewer | null; ip: string; subscriptions?: Map<string, string> }
  >(
    {
      connectionInitWaitTimeout: 3_000,
      onConnect: async (ctx) => {
        const ip = clientIp(ctx.extra.request, config);
        ctx.extra.ip = ip;
        try {
          const viewer = await signIn(services.limits, services.authenticate, ctx.connectionParams?.authorization, ip);
          ctx.extra.viewer = viewer;
          scheduleExpiry(ctx.extra.socket, viewer, expiryTimers);
          // Neither is needed once the socket is authenticated; a connection would keep both.
          forget(ctx);
          return true;
        } catch (err) {
          // graphql-ws closes with 4403 Forbidden when onConnect returns false.
          if (err instanceof RateLimitedError || err instanceof AuthError) return false;
          throw err;
        }
      },
      onSubscribe: async (ctx, id, payload) => {
        const viewer = ctx.extra.viewer ?? null;
        if (viewer && hasExpired(viewer.tokenExpiresAt)) {
          ctx.extra.socket.close(CloseCode.Unauthorized, 'Token expired');
          return [];
        }
        if (trusted) {
          const id = documentIdOf(payload);
          const query = id ? trusted.byId(id) : payload.query;
          if (id && !query)
            return [new GraphQLError('Unknown document id', { extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } })];
          if (!id && config.trustedDocumentsOnly && !trusted.has(payload.query)) {
            return [
              new GraphQLError('Only trusted documents are accepted here', {
                extensions: { code: 'PERSISTED_QUERY_ONLY' },
              }),
            ];
          }
          if (query) payload = { ...payload, query };
        }
        const malformed = malformedParams(payload);
        if (malformed) return [malformed];
        const client = { ip: ctx.extra.ip ?? 'unknown', requestId: randomUUID() };
        const checked = documents.check(payload.query, () =>
          yoga.getEnveloped({ wsViewer: viewer, wsClient: client, params: payload }),
        );
        if (checked.errors.length) return checked.errors;
        const { document } = checked;
        const refusal = complexityRefusal(
          checked.schema,
          document,
          payload.operationName,
          payload.variables,
          config.limits.cost,
        );
        if (refusal) return [refusal];
        const operation = getOperationAST(document, payload.operationName);
        if (operation?.operation === 'subscription') {
          const field = rootFields(document, payload.operationName)[0] ?? 'unknown';
          ctx.extra.subscriptions ??= new Map();
          ctx.extra.subscriptions.set(id, field);
          count(field, 1);
          metrics.operations.inc({
            operation: operation.name?.value ?? 'anonymous',
            type: 'subscription',
            outcome: 'ok',
          });
          // A subscription lives as long as the socket: it keeps a lean context and its events
          // are executed once per instance for every subscriber who may see the same result.
          const shared: SharedRoot = {
            key: documents.key(document, payload.operationName, payload.variables),
            sendNext: nextSender(ctx.extra.socket, id, field, () => metrics.eventsDelivered.inc({ field })),
          };
          return {
            schema: checked.schema,
            document,
            operationName: payload.operationName,
            variableValues: payload.variables,
            contextValue: subscriptionContext(services, viewer, client),
            rootValue: shared,
          };
        }
        const enveloped = yoga.getEnveloped({ wsViewer: viewer, wsClient: client, params: payload });
        return {
          schema: enveloped.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
      },
      onComplete: (ctx, id) => {
        const field = ctx.extra.subscriptions?.get(id);
        if (field === undefined) return;
        ctx.extra.subscriptions?.delete(id);
        count(field, -1);
      },
      execute: (args) => (args.rootValue as { execute: typeof import('graphql').execute }).execute(args),
      subscribe: (args) => {
        const root = args.rootValue as SharedRoot | { subscribe: typeof import('graphql').subscribe };
        if (!('key' in root)) return root.subscribe(args);
        const name = getOperationAST(args.document, args.operationName)?.name?.value;
        const span = tracer.startSpan(`subscription${name ? ` ${name}` : ''}`, {
          kind: SpanKind.SERVER,
          attributes: { 'graphql.operation.type': 'subscription', ...(name ? { 'graphql.operation.name': name } : {}) },
        });
        const subscribed = within(span, () =>
          subscribeShared(
            {
              schema: args.schema,
              document: args.document,
              operationName: args.operationName,
              variableValues: args.variableValues,
              contextValue: args.contextValue as Context,
              key: root.key,
            },
            mask,
            root.sendNext,
          ),
        );
        void Promise.resolve(subscribed).then(
          () => endSpan(span),
          (err: unknown) => endSpan(span, (err as Error).message),
        );
        return subscribed;
      },
    },
    wss,
    10_000,
  );

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    yoga,
    services,
    database,
    jwtSecret,
    markReady() {
      ready = true;
    },
    close() {
      closing ??= (async () => {
        for (const timer of expiryTimers) clearTimeout(timer);
        stopPruning();
        // In-flight requests get most of SHUTDOWN_TIMEOUT_MS; the rest closes Redis and the database.
        const httpClosed = drain.close(Date.now() + config.shutdownTimeoutMs * 0.8);
        for (const socket of wss.clients) socket.close(1001, 'Server shutting down');
        await wsServer.dispose();
        await httpClosed;
        await services.mail.flush();
        services.mail.close();
        await yoga.dispose();
        await sweeper.close();
        await services.realtime.close();
        await services.limits.close();
        await database.close();
      })();
      return closing;
    },
  };
}

// The demo presence page (src/demo) and the graphql-ws browser client it loads.
const DEMO_PAGE = new URL('./demo/index.html', import.meta.url);
// What an invitation link opens (`${PUBLIC_URL}/invitations/<token>`), unless INVITATION_URL
// points elsewhere: a page that previews and answers it through the API.
const INVITATION_PAGE = new URL('./modules/invitation/page.html', import.meta.url);
const INVITATION_PAGE_PATH = '/invitations/';
// The package does not export its UMD build; it sits beside dist/ in the package folder.
const GRAPHQL_WS_CLIENT = join(
  dirname(createRequire(import.meta.url).resolve('graphql-ws')),
  '..',
  'umd',
  'graphql-ws.min.js',
);

function serveFile(res: ServerResponse<IncomingMessage>, file: URL | string, type: string) {
  readFile(file).then(
    (body) => res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' }).end(body),
    () => res.writeHead(404).end(),
  );
}

function health(res: ServerResponse<IncomingMessage>, check: Promise<unknown>) {
  check.then(
    () => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    },
    () => {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"unavailable"}');
    },
  );
}

/** The root value of a subscription run by `subscribeShared`: what tells its results apart. */
interface SharedRoot {
  key: string;
  sendNext: SendNext;
}

/**
 * Writes the `next` messages of operation `id` on `socket` around a payload serialised once for
 * every subscriber who shares it: graphql-ws would serialise the whole message per subscriber.
 */
function nextSender(socket: import('ws').WebSocket, id: string, field: string, sent: () => void): SendNext {
  const head = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  return (payloadJson) => {
    if (socket.readyState !== socket.OPEN) return;
    // Nothing waits for a write: a client that stops reading would hold ever more of them.
    if (socket.bufferedAmount > MAX_UNSENT_BYTES) return socket.close(1013, 'Not reading its messages');
    tracer.startActiveSpan(
      `${field} event`,
      { kind: SpanKind.PRODUCER, attributes: { 'graphql.subscription.field': field } },
      (span) => {
        socket.send(`${head}${payloadJson}}`);
        span.end();
      },
    );
    sent();
  };
}

/** How much a socket may have waiting to be sent before it is closed (1013, try again later). */
const MAX_UNSENT_BYTES = 8 * 1024 * 1024;

/** Drops the upgrade request and the connection params (the token) from a socket's state. */
function forget(ctx: { connectionParams?: unknown; extra: { request?: IncomingMessage } }) {
  ctx.extra.request = undefined;
  ctx.connectionParams = undefined;
}

/**
 * yoga's error masking (its `maskedErrors` option, src/yoga.ts), for the subscriptions that
 * `subscribeShared` runs outside envelop. yoga keeps it on a property its types call private.
 */
function maskOf(yoga: YogaServerInstance<ServerContext, Context>): MaskError {
  const options = (
    yoga as unknown as {
      maskedErrorsOpts: {
        maskError(error: unknown, message: string, isDev?: boolean): Error;
        errorMessage: string;
        isDev?: boolean;
      } | null;
    }
  ).maskedErrorsOpts;
  if (!options) throw new Error('subscriptions need the masked errors of yoga');
  return (error) => {
    const masked = options.maskError(error, options.errorMessage, options.isDev);
    return masked instanceof GraphQLError ? masked : new GraphQLError(masked.message, { originalError: masked });
  };
}

/** Closes the socket with 4401 when the viewer's token expires while connected. */
function scheduleExpiry(socket: import('ws').WebSocket, viewer: Viewer | null, timers: Set<NodeJS.Timeout>) {
  if (!viewer?.tokenExpiresAt) return;
  const ms = Math.min(viewer.tokenExpiresAt * 1000 - Date.now(), 2 ** 31 - 1);
  const timer = setTimeout(
    () => {
      timers.delete(timer);
      socket.close(CloseCode.Unauthorized, 'Token expired');
    },
    Math.max(ms, 0),
  );
  timers.add(timer);
  socket.once('close', () => {
    clearTimeout(timer);
    timers.delete(timer);
  });
}
