import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { TypedDocumentString } from '../generated/graphql.ts';

/** A live subscription: events arrive in `next()` order; `closed` settles when the stream ends. */
export interface Subscription<T> {
  next(timeoutMs?: number): Promise<T>;
  /** Resolves with no event for `ms`, or rejects with the event that did arrive. */
  nothingFor(ms: number): Promise<void>;
  /** Settles when the server completes the stream (or errors it). */
  closed: Promise<{ error?: unknown }>;
  dispose(): void;
}

/** A real graphql-ws client on a real port; record it and `dispose` it in afterAll. */
export interface WsClient {
  client: Client;
  subscribe<R, V>(doc: TypedDocumentString<R, V>, variables?: V): Subscription<R>;
  /** Resolves with the close code once the socket closes. */
  closeCode: Promise<number>;
  dispose(): Promise<void>;
}

export function wsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/graphql`;
}

export function connectWs(httpUrl: string, token?: string | null): WsClient {
  let onClose: (code: number) => void = () => {};
  const closeCode = new Promise<number>((resolve) => {
    onClose = resolve;
  });
  const client = createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    on: { closed: (event) => onClose((event as { code: number }).code) },
    onNonLazyError: () => {},
  });
  return {
    client,
    closeCode,
    subscribe<R, V>(doc: TypedDocumentString<R, V>, variables?: V): Subscription<R> {
      const queue: R[] = [];
      const waiters: ((value: R) => void)[] = [];
      let end: (v: { error?: unknown }) => void = () => {};
      const closed = new Promise<{ error?: unknown }>((resolve) => {
        end = resolve;
      });
      const unsubscribe = client.subscribe<R>(
        { query: doc.toString(), variables: (variables ?? {}) as Record<string, unknown> },
        {
          next: (value) => {
            if (value.errors?.length) {
              end({ error: value.errors });
              return;
            }
            const data = value.data as R;
            const waiter = waiters.shift();
            if (waiter) waiter(data);
            else queue.push(data);
          },
          error: (error) => end({ error }),
          complete: () => end({}),
        },
      );
      return {
        closed,
        next(timeoutMs = 5_000) {
          const queued = queue.shift();
          if (queued !== undefined) return Promise.resolve(queued);
          return new Promise<R>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms`)), timeoutMs);
            waiters.push((v) => {
              clearTimeout(timer);
              resolve(v);
            });
          });
        },
        async nothingFor(ms) {
          await new Promise((r) => setTimeout(r, ms));
          if (queue.length) throw new Error(`unexpected event: ${JSON.stringify(queue[0])}`);
        },
        dispose: unsubscribe,
      };
    },
    async dispose() {
      await client.dispose();
    },
  };
}
