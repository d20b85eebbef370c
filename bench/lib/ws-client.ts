import WebSocket from 'ws';

/** A GraphQL result as a `next` message carries it. */
export interface WsResult<T = Record<string, unknown>> {
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** What a subscriber hears: each result with the time it arrived, then the end of the stream. */
export interface WsSink<T> {
  /** `receivedAt` is `Date.now()` when the message was read, before any other work on it. */
  next(result: WsResult<T>, receivedAt: number): void;
  /** The server completed the stream, sent an error, or the socket closed. */
  done?(error?: unknown): void;
}

/**
 * A bare graphql-transport-ws client on one socket. The load generator holds thousands of
 * these, so it skips what graphql-ws's client adds (retries, lazy sockets, promise per message):
 * one socket, one JSON.parse per message, callbacks per subscription.
 */
export class WsConnection {
  private readonly sinks = new Map<string, WsSink<unknown>>();
  private nextId = 0;
  /** Settles with the close code when the socket closes. */
  readonly closed: Promise<number>;

  private constructor(private readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => {
      socket.once('close', (code) => {
        for (const sink of this.sinks.values()) sink.done?.(new Error(`socket closed (${code})`));
        this.sinks.clear();
        resolve(code);
      });
    });
    socket.on('message', (raw) => {
      const receivedAt = Date.now();
      const message = JSON.parse(String(raw)) as { id?: string; type: string; payload?: unknown };
      if (message.type === 'ping') return this.send({ type: 'pong' });
      const sink = message.id ? this.sinks.get(message.id) : undefined;
      if (!sink) return;
      if (message.type === 'next') sink.next(message.payload as WsResult, receivedAt);
      else if (message.type === 'error' || message.type === 'complete') {
        this.sinks.delete(message.id as string);
        sink.done?.(message.type === 'error' ? message.payload : undefined);
      }
    });
  }

  /** Opens a socket to `url` (`http://…` or `ws://…`, with or without `/graphql`) and waits for connection_ack. */
  static open(url: string, token?: string | null, timeoutMs = 15_000): Promise<WsConnection> {
    const endpoint = url.replace(/^http/, 'ws').replace(/\/?(graphql)?$/, '/graphql');
    const socket = new WebSocket(endpoint, 'graphql-transport-ws', { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error(`no connection_ack from ${endpoint} within ${timeoutMs} ms`));
      }, timeoutMs);
      const fail = (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      };
      socket.once('error', fail);
      socket.once('close', (code) => fail(new Error(`socket closed (${code}) before connection_ack`)));
      socket.once('open', () => {
        socket.send(
          JSON.stringify({ type: 'connection_init', payload: token ? { authorization: `Bearer ${token}` } : {} }),
        );
      });
      socket.once('message', (raw) => {
        const message = JSON.parse(String(raw)) as { type: string };
        if (message.type !== 'connection_ack') return fail(new Error(`expected connection_ack, got ${message.type}`));
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        socket.on('error', () => {}); // a reset socket also emits close, where subscribers hear of it
        resolve(new WsConnection(socket));
      });
    });
  }

  /** Starts a subscription and returns its id (pass it to `complete`). */
  subscribe<T>(query: string, variables: Record<string, unknown>, sink: WsSink<T>): string {
    const id = String(++this.nextId);
    this.sinks.set(id, sink as WsSink<unknown>);
    this.send({ id, type: 'subscribe', payload: { query, variables } });
    return id;
  }

  /** Tells the server the client is done with subscription `id` (no reply comes). */
  complete(id: string): void {
    if (!this.sinks.delete(id)) return;
    this.send({ id, type: 'complete' });
  }

  /** Closes the socket normally and waits until it is closed. */
  close(): Promise<number> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING)
      this.socket.close(1000);
    return this.closed;
  }

  private send(message: unknown): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }
}

/** Opens `count` connections with at most `concurrency` handshakes in flight; `target(i)` picks URL and token. */
export async function openMany(
  count: number,
  target: (i: number) => { url: string; token: string | null },
  concurrency = 50,
): Promise<WsConnection[]> {
  const connections: WsConnection[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const { url, token } = target(i);
      connections[i] = await WsConnection.open(url, token);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  } catch (err) {
    await Promise.all(connections.filter(Boolean).map((c) => c.close()));
    throw err;
  }
  return connections;
}

/** Percentile `p` (0–100) of `values` by nearest rank; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
