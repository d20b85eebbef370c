import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';

/**
 * How long connections idle when a shutdown begins stay open: a request a client already sent on
 * one, not yet read by a busy event loop, is still answered (with `Connection: close`) instead of
 * being reset. `http.Server.close()` destroys idle connections at once, which is that reset.
 */
const IDLE_GRACE_MS = 500;

/** Lets an HTTP server's connections end without a reset once shutdown begins. */
export interface HttpDrain {
  /** Called first for every request: marks it in flight, and with `Connection: close` once closing. */
  track(res: ServerResponse<IncomingMessage>): void;
  /**
   * Stops accepting connections; every response in flight, and every one answered from now on,
   * says `Connection: close`, so keep-alive clients leave after their current response.
   * Connections still idle after IDLE_GRACE_MS close; at `deadline` (a `Date.now()` time) the
   * ones left are cut. Resolves once every connection has ended.
   */
  close(deadline: number): Promise<void>;
}

export function httpDrain(server: HttpServer): HttpDrain {
  let closing = false;
  const inFlight = new Set<ServerResponse<IncomingMessage>>();
  return {
    track(res) {
      if (closing) {
        res.setHeader('connection', 'close');
        return;
      }
      inFlight.add(res);
      res.once('close', () => inFlight.delete(res));
    },
    async close(deadline) {
      closing = true;
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      inFlight.clear();
      const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
      // net.Server's close: stop accepting, and leave open connections be (see IDLE_GRACE_MS).
      NetServer.prototype.close.call(server);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(IDLE_GRACE_MS, deadline - Date.now()))));
      // A connection becomes idle when a response without `Connection: close` (begun before the
      // shutdown, headers already sent) ends: closed then.
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const force = setTimeout(() => server.closeAllConnections(), Math.max(0, deadline - Date.now()));
      await closed;
      clearInterval(sweep);
      clearTimeout(force);
    },
  };
}
