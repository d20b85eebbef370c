import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

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
 * A bare graphql-transport-ws client on one raw TCP socket. The load generator holds thousands of
 * these on the two cores the servers use, so every microsecond it spends reading is taken from
 * the servers and added to the latencies it measures. It skips what graphql-ws's client adds
 * (retries, lazy sockets, a promise per message) and what the ws package adds on top of the
 * frames (a Writable stream per socket, a copy of each message): the frames are read straight
 * from the socket's chunks, one JSON.parse per message, callbacks per subscription. What it sends
 * is masked, as RFC 6455 requires of a client.
 */
export class WsConnection {
  private readonly sinks = new Map<string, WsSink<unknown>>();
  private nextId = 0;
  /** Bytes of a frame not yet complete. */
  private pending: Buffer | undefined;
  /** The text of a message split over frames (the server does not split, but it may). */
  private fragments: Buffer[] | undefined;
  private open = true;
  /** Settles with the close code when the socket closes. */
  readonly closed: Promise<number>;

  private constructor(private readonly socket: Socket) {
    let code = 1006;
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.open = false;
        for (const sink of this.sinks.values()) sink.done?.(new Error(`socket closed (${code})`));
        this.sinks.clear();
        resolve(code);
      });
    });
    socket.on('error', () => {}); // a reset socket also emits close, where subscribers hear of it
    socket.on('data', (chunk: Buffer) => {
      const receivedAt = Date.now();
      const closeCode = this.read(chunk, receivedAt);
      if (closeCode !== undefined) code = closeCode;
    });
  }

  /** Opens a socket to `url` (`http://…` or `ws://…`, with or without `/graphql`) and waits for connection_ack. */
  static open(url: string, token?: string | null, timeoutMs = 15_000): Promise<WsConnection> {
    const { hostname, port } = new URL(url.replace(/^ws/, 'http'));
    const socket = connect({ host: hostname, port: Number(port) || 80, noDelay: true });
    const key = randomBytes(16).toString('base64');
    return new Promise((resolve, reject) => {
      let head = Buffer.alloc(0);
      let connection: WsConnection | undefined;
      const timer = setTimeout(
        () => fail(new Error(`no connection_ack from ${url} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const onHandshake = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onHandshake);
        const response = head.subarray(0, end).toString('latin1');
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        if (!response.startsWith('HTTP/1.1 101') || !response.includes(accept))
          return fail(new Error(`websocket upgrade refused: ${response.split('\r\n')[0]}`));
        const c = new WsConnection(socket);
        connection = c;
        // connection_ack is the first message; until then the connection is not handed out.
        c.sinks.set(ACK, {
          next: () => {
            clearTimeout(timer);
            c.sinks.delete(ACK);
            resolve(c);
          },
          done: (error) => fail(error instanceof Error ? error : new Error(`no connection_ack: ${String(error)}`)),
        });
        c.send({ type: 'connection_init', payload: token ? { authorization: `Bearer ${token}` } : {} });
        const rest = head.subarray(end + 4);
        if (rest.length) c.read(rest, Date.now());
      };
      socket.on('data', onHandshake);
      socket.once('error', (err) => {
        if (!connection) fail(err);
      });
      socket.once('close', () => {
        if (!connection) fail(new Error('socket closed before the websocket upgrade'));
      });
      socket.once('connect', () => {
        socket.write(
          `GET /graphql HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n`,
        );
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
    if (this.open) {
      const code = Buffer.alloc(2);
      code.writeUInt16BE(1000);
      this.frame(OP_CLOSE, code);
      this.socket.end();
      this.open = false;
    }
    return this.closed;
  }

  private send(message: unknown): void {
    this.frame(OP_TEXT, Buffer.from(JSON.stringify(message)));
  }

  /** Writes one masked frame. */
  private frame(opcode: number, payload: Buffer): void {
    if (!this.open || this.socket.destroyed) return;
    const length = payload.length;
    const size = length < 126 ? 2 : length < 65_536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(size + 4 + length);
    frame[0] = 0x80 | opcode;
    if (size === 2) frame[1] = 0x80 | length;
    else if (size === 4) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(length, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(length), 2);
    }
    const mask = randomBytes(4);
    mask.copy(frame, size);
    for (let i = 0; i < length; i++) frame[size + 4 + i] = (payload[i] as number) ^ (mask[i & 3] as number);
    this.socket.write(frame);
  }

  /** Reads every whole frame in `chunk` (after what was pending); returns the close code if one came. */
  private read(chunk: Buffer, receivedAt: number): number | undefined {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let closeCode: number | undefined;
    while (data.length >= 2) {
      const first = data[0] as number;
      const second = data[1] as number;
      let length = second & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (data.length < 4) break;
        length = data.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (data.length < 10) break;
        length = Number(data.readBigUInt64BE(2));
        offset = 10;
      }
      // Frames from a server are never masked.
      if (data.length < offset + length) break;
      const payload = data.subarray(offset, offset + length);
      data = data.subarray(offset + length);
      const opcode = first & 0x0f;
      const fin = (first & 0x80) !== 0;
      if (opcode === OP_TEXT || opcode === OP_CONTINUATION) {
        if (!fin || this.fragments) {
          this.fragments = [...(this.fragments ?? []), Buffer.from(payload)];
          if (!fin) continue;
          this.message(Buffer.concat(this.fragments), receivedAt);
          this.fragments = undefined;
        } else this.message(payload, receivedAt);
      } else if (opcode === OP_PING) this.frame(OP_PONG, Buffer.from(payload));
      else if (opcode === OP_CLOSE) {
        closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        if (this.open) this.frame(OP_CLOSE, Buffer.from(payload.subarray(0, 2)));
        this.open = false;
        this.socket.end();
      }
    }
    if (data.length) this.pending = Buffer.from(data);
    return closeCode;
  }

  private message(text: Buffer, receivedAt: number): void {
    const message = JSON.parse(text.toString()) as { id?: string; type: string; payload?: unknown };
    if (message.type === 'ping') {
      this.send({ type: 'pong' });
      return;
    }
    const sink =
      message.type === 'connection_ack' ? this.sinks.get(ACK) : message.id ? this.sinks.get(message.id) : undefined;
    if (!sink) return;
    if (message.type === 'next' || message.type === 'connection_ack')
      sink.next(message.payload as WsResult, receivedAt);
    else if (message.type === 'error' || message.type === 'complete') {
      this.sinks.delete(message.id as string);
      sink.done?.(message.type === 'error' ? message.payload : undefined);
    }
  }
}

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;
/** The sink that waits for connection_ack (no subscription id is empty). */
const ACK = '';

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
