import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from 'urql';
import type { Session } from './session.ts';

/** The urql client of a session and the graphql-ws client its subscriptions run on. */
export interface Connection {
  client: Client;
  ws: WsClient;
}

/**
 * Queries and mutations over HTTP with the token as a Bearer header; subscriptions over one
 * graphql-ws socket on the same path, which carries the token in `connectionParams` (the server
 * closes it with 4403 when the token is invalid, 4401 when it expires).
 */
export function connect(session: Session): Connection {
  const authorization = `Bearer ${session.token}`;
  const ws = createWsClient({
    url: session.api.replace(/^http/, 'ws'),
    connectionParams: { authorization },
    lazy: true,
    retryAttempts: Number.POSITIVE_INFINITY,
    // An invalid or expired token will not get better by retrying.
    shouldRetry: (event) => !(event instanceof CloseEvent && (event.code === 4401 || event.code === 4403)),
  });
  const client = new Client({
    url: session.api,
    fetchOptions: { headers: { authorization } },
    // urql sends short queries as GET; the server's CSRF prevention accepts only a JSON POST or
    // a request carrying its header, so POST every operation.
    preferGetMethod: false,
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });
  return { client, ws };
}
