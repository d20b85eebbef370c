import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A TCP proxy in front of Redis for one instance, to make its view of Redis late or cut off
 * while Redis itself (and every other instance) goes on: what Redis sends the instance is held
 * `lagMs`, or not delivered at all while `freeze()` lasts (the connections stay open, so the
 * instance cannot tell). Close it in afterAll.
 */
export interface RedisProxy {
  url: string;
  /** Delays everything Redis sends from now on by `ms`. */
  lag(ms: number): void;
  /** Delays `extraMs` more what Redis sends on connections whose commands ever named `needle` (a channel). */
  slower(needle: string, extraMs: number): void;
  /** Holds everything Redis sends until `thaw()`. */
  freeze(): void;
  thaw(): void;
  /** Closes every connection and refuses new ones until `restore()`: the instance sees Redis down. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startRedisProxy(target: string): Promise<RedisProxy> {
  const { hostname, port } = new URL(target);
  let lagMs = 0;
  let frozen = false;
  const slowerOn: { needle: string; extraMs: number }[] = [];
  const held: (() => void)[] = [];
  const sockets = new Set<Socket>();
  // Chunks are delivered in order: each waits for the one before it.
  let down = false;
  const server: Server = createServer((client) => {
    if (down) return void client.destroy();
    const upstream = tcpConnect(Number(port), hostname);
    sockets.add(client).add(upstream);
    let last = Promise.resolve();
    let extraMs = 0;
    client.on('data', (chunk) => {
      const text = chunk.toString('latin1');
      for (const slow of slowerOn) if (text.includes(slow.needle)) extraMs = Math.max(extraMs, slow.extraMs);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      const sentAt = Date.now();
      const delay = lagMs + extraMs;
      last = last.then(async () => {
        const wait = sentAt + delay - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (frozen) await new Promise<void>((r) => held.push(r));
        if (!client.destroyed) client.write(chunk);
      });
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `redis://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const thaw = () => {
    frozen = false;
    for (const release of held.splice(0)) release();
  };
  return {
    url,
    lag: (ms) => {
      lagMs = ms;
    },
    slower: (needle, extraMs) => {
      slowerOn.push({ needle, extraMs });
    },
    freeze: () => {
      frozen = true;
    },
    thaw,
    cut: () => {
      down = true;
      for (const socket of sockets) socket.destroy();
    },
    restore: () => {
      down = false;
    },
    async close() {
      thaw();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
