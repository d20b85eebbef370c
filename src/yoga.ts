import { GraphQLError } from 'graphql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { AuthError } from './auth/jwt.ts';
import { bearerToken } from './auth/viewer.ts';
import { type Context, makeContext, type Services, type Viewer } from './context.ts';
import { schema } from './schema.ts';

/** What the server hands yoga per request: HTTP requests carry a Request, WS operations a viewer. */
export interface ServerContext {
  /** Set by the WS server, which authenticated the socket in connection_init. */
  wsViewer?: Viewer | null;
}

/** A 401-style GraphQL error; yoga sends its status and header as they are. */
export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } },
  });
}

/**
 * The GraphQL app: schema, context, plugins. Exported on its own so tests drive it in process
 * with `yoga.fetch`; `server.ts` puts it and graphql-ws on one port.
 */
export function createApp(services: Services): YogaServerInstance<ServerContext, Context> {
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { title: 'sharegraph', subscriptionsProtocol: 'WS' },
    logging: {
      debug: (...args) => services.log.debug(args),
      info: (...args) => services.log.info(args),
      warn: (...args) => services.log.warn(args),
      error: (...args) => services.log.error(args),
    },
    maskedErrors: { isDev: services.config.env === 'development' },
    context: async (initial) => {
      if (initial.wsViewer !== undefined) return makeContext(services, initial.wsViewer);
      let token: string | null;
      try {
        token = bearerToken(initial.request.headers.get('authorization'));
        return makeContext(services, token ? await services.authenticate(token) : null);
      } catch (err) {
        if (err instanceof AuthError) throw unauthenticated(err.message);
        throw err;
      }
    },
  });
}
