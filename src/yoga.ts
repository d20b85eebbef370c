import type { IncomingMessage } from 'node:http';
import { GraphQLError } from 'graphql';
import { createYoga, type GraphiQLOptions, maskError, type YogaServerInstance } from 'graphql-yoga';
import { AuthError } from './auth/jwt.ts';
import { signIn } from './auth/viewer.ts';
import { rememberFacts } from './cache/facts.ts';
import { responseCache } from './cache/responses.ts';
import { accessRevisions } from './cache/revision-api.ts';
import { FROM_DATABASE } from './cache/revisions.ts';
import { rememberViewers } from './cache/viewers.ts';
import { compiledQueries } from './compiled-queries.ts';
import type { Config } from './config.ts';
import { type Client, type Context, makeContext, type Services, type Viewer } from './context.ts';
import { isDatabaseUnavailable } from './db/unavailable.ts';
import { RateLimitedError } from './errors.ts';
import { planListPage } from './modules/list/page-plan.ts';
import { RedisUnavailableError } from './realtime/redis.ts';
import { schema } from './schema.ts';
import { requestIdOf, requestLog, securityPlugins } from './security/plugins.ts';
import type { TrustedDocuments } from './security/trusted-documents.ts';
import { metricsPlugin } from './telemetry/metrics.ts';
import { tracingPlugin } from './telemetry/tracing.ts';

/** What the server hands yoga per request: HTTP requests carry a Request, WS operations a viewer. */
export interface ServerContext {
  /** Set by the WS server, which authenticated the socket in connection_init. */
  wsViewer?: Viewer | null;
  /** The socket's origin, set by the WS server. */
  wsClient?: Client;
  /** Node's request, when served by node:http (absent for in-process `yoga.fetch`). */
  req?: IncomingMessage;
}

/** The client address of a node request: the socket's, or X-Forwarded-For's first hop behind a trusted proxy. */
export function clientIp(req: IncomingMessage | undefined, config: Pick<Config, 'trustProxy'>): string {
  if (!req) return 'in-process';
  const forwarded = config.trustProxy ? req.headers['x-forwarded-for'] : undefined;
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
  return first || req.socket.remoteAddress || 'unknown';
}

/** A 429 for a caller who spent their budget, with Retry-After. */
export function rateLimited(err: RateLimitedError, at?: GraphQLError): GraphQLError {
  return new GraphQLError(err.message, {
    ...(at ? { nodes: at.nodes ?? null, path: at.path ?? null } : {}),
    extensions: {
      code: err.code,
      retryAfterSeconds: err.retryAfterSeconds,
      http: { status: 429, headers: { 'Retry-After': String(err.retryAfterSeconds) } },
    },
  });
}

/** A 401-style GraphQL error; yoga sends its status and header as they are. */
export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } },
  });
}

/** Who an HTTP request is: its origin and the viewer its token names. */
interface Identity {
  client: Client;
  viewer: Viewer | null;
}

/**
 * Decides who a request is, once (the response cache asks before the context is built): the
 * Authorization header's token, refused while the address is locked out for failed attempts,
 * then authenticated; a failure spends the address's budget.
 */
function identifier(
  services: Services,
  authenticate: Services['authenticate'],
  fromDatabase: (serverContext: ServerContext) => boolean,
) {
  const identities = new WeakMap<Request, Promise<Identity>>();
  const identify = async (request: Request, serverContext: ServerContext, fresh: boolean): Promise<Identity> => {
    const client: Client = { ip: clientIp(serverContext.req, services.config), requestId: requestIdOf(request) };
    // An access revision no cache can vouch for: the user's row is read afresh.
    const header = request.headers.get('authorization');
    return {
      client,
      viewer: await signIn(services.limits, fresh ? services.authenticate : authenticate, header, client.ip),
    };
  };
  return (request: Request, serverContext: ServerContext): Promise<Identity> => {
    if (fromDatabase(serverContext)) return identify(request, serverContext, true);
    let identity = identities.get(request);
    if (!identity) {
      identity = identify(request, serverContext, false);
      identities.set(request, identity);
    }
    return identity;
  };
}

/** What GraphiQL opens on in development: a first query, and how to get the token it needs. */
export const GRAPHIQL_FIRST_QUERY = `# Welcome to sharegraph.
#
# Most fields need a signed-in user. Get a token for a demo user with
#   npm run token -- ada@demo.sharegraph.dev
# then open "Headers" below and paste
#   { "Authorization": "Bearer <the token>" }
# and run this query (the ▶ button or Ctrl-Enter).
{
  me {
    email
    name
  }
}
`;

function graphiqlOptions(config: Config): GraphiQLOptions {
  return {
    title: 'sharegraph',
    subscriptionsProtocol: 'WS',
    ...(config.env === 'development'
      ? { defaultQuery: GRAPHIQL_FIRST_QUERY, defaultEditorToolsVisibility: 'headers' as const }
      : {}),
  };
}

/**
 * The GraphQL app: schema, context, plugins. Exported on its own so tests drive it in process
 * with `yoga.fetch`; `server.ts` puts it and graphql-ws on one port, and disposes of it.
 */
export function createApp(
  services: Services,
  trusted: TrustedDocuments | null = null,
): YogaServerInstance<ServerContext, Context> {
  const { config, generations } = services;
  const revisions = accessRevisions(services.revisions, config.limits.tokens);
  const fromDatabase = (context: object) => revisions.needed(context) === FROM_DATABASE;
  const identify = identifier(
    services,
    generations ? rememberViewers(generations, services.authenticate) : services.authenticate,
    fromDatabase,
  );
  const facts = generations ? rememberFacts(generations, config.responseCache.ttlMs) : undefined;
  const cachePlugins = generations
    ? [
        responseCache(
          config.responseCache,
          config.limits.tokens,
          generations,
          identify,
          services.log,
          () => services.metrics.cacheHits.inc(),
          fromDatabase,
        ),
      ]
    : [];
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: config.graphiql ? graphiqlOptions(config) : false,
    // Served from node_modules, so the page works with no network but the server's; loaded on
    // the first GET of the page (18 MB of script that no other request needs).
    renderGraphiQL: async (options) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
    // Bounded by securityPlugins' own check (limitBodySize).
    maxRequestBodySize: false,
    batching: config.limits.batch > 0 ? { limit: config.limits.batch } : false,
    plugins: [
      // First, so that the plugins after it wrap the executor it sets (tracing's span among them).
      compiledQueries({
        onCompiledRun: () => services.metrics.compiledExecutions.inc(),
        onPlannedRun: () => services.metrics.plannedExecutions.inc(),
        planners: [planListPage],
      }),
      tracingPlugin(),
      metricsPlugin(services.metrics),
      ...securityPlugins(config, trusted),
      requestLog(),
      revisions.plugin,
      ...cachePlugins,
    ],
    logging: {
      debug: (...args) => services.log.debug(args),
      info: (...args) => services.log.info(args),
      warn: (...args) => services.log.warn(args),
      error: (...args) => services.log.error(args),
    },
    maskedErrors: {
      isDev: services.config.env === 'development',
      // A spent budget outside a result union (a query field) is still the caller's to know.
      maskError: (error, message, isDev) => {
        const original = error instanceof GraphQLError ? error.originalError : error;
        if (original instanceof RateLimitedError) {
          return rateLimited(original, error instanceof GraphQLError ? error : undefined);
        }
        // PostgreSQL or Redis is down: not a bug, so say so (503) and let the client retry.
        if (isDatabaseUnavailable(error) || original instanceof RedisUnavailableError) {
          return new GraphQLError('The service is temporarily unavailable; try again shortly', {
            ...(error instanceof GraphQLError ? { nodes: error.nodes, path: error.path } : {}),
            extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503, headers: { 'Retry-After': '1' } } },
          });
        }
        return maskError(error, message, isDev);
      },
    },
    context: async (initial) => {
      if (initial.wsViewer !== undefined && initial.wsClient) {
        return makeContext(services, initial.wsViewer, initial.wsClient);
      }
      try {
        const { viewer, client } = await identify(initial.request, initial);
        const needed = revisions.needed(initial);
        return makeContext(services, viewer, client, needed === FROM_DATABASE ? undefined : facts, needed);
      } catch (err) {
        if (err instanceof AuthError) throw unauthenticated(err.message);
        if (err instanceof RateLimitedError) throw rateLimited(err);
        throw err;
      }
    },
  });
}
