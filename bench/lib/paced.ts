import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ChildJobs, serveJobs } from './child-jobs.ts';

/** Latencies of an evenly paced load, in milliseconds. */
export interface PacedLoad {
  /** Requests answered per second over the run. */
  rps: number;
  p50: number;
  p99: number;
}

export interface PacedTarget {
  /** e.g. http://127.0.0.1:4000/graphql */
  url: string;
  body: string;
  headers: Record<string, string>;
  /** The exact answer every request must get. */
  expectBody: string;
}

/** The `q` quantile of sorted `values`. */
function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * One keep-alive HTTP/1.1 connection that sends the same request bytes again and again and checks
 * each answer against the expected body as it arrives, keeping no copy of it. Much lighter than
 * node:http's client (which costs the generator more CPU than the server it measures on these
 * shared cores): like autocannon, it writes prepared bytes and reads only the status line and
 * content-length.
 */
class Connection {
  private head: Buffer = Buffer.alloc(0);
  private remaining = -1;
  private offset = 0;
  private same = true;
  private due = 0;
  busy = false;
  private closing = false;

  constructor(
    private readonly socket: Socket,
    private readonly request: Buffer,
    private readonly expected: Buffer,
    private readonly done: (connection: Connection, due: number, failure: string | null) => void,
    private readonly stray: (failure: string) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.busy) this.finish('connection closed');
      else if (!this.closing) this.stray('connection closed between requests');
    });
  }

  send(due: number): void {
    this.busy = true;
    this.due = due;
    this.head = Buffer.alloc(0);
    this.remaining = -1;
    this.offset = 0;
    this.same = true;
    this.socket.write(this.request);
  }

  close(): void {
    this.closing = true;
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    if (!this.busy) {
      // An answer nobody asked for: count it against the run rather than as a latency.
      this.stray(`${chunk.length} bytes without a request`);
      return;
    }
    let body = chunk;
    if (this.remaining < 0) {
      this.head = this.head.length ? Buffer.concat([this.head, chunk]) : chunk;
      const end = this.head.indexOf(HEAD_END);
      if (end < 0) return;
      const head = this.head.toString('latin1', 0, end);
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
      if (!head.startsWith('HTTP/1.1 200') || length === undefined) {
        this.finish(head.split('\r\n')[0] ?? head);
        return;
      }
      this.remaining = Number(length);
      this.same = this.remaining === this.expected.length;
      body = this.head.subarray(end + HEAD_END.length);
    }
    this.same &&=
      body.length <= this.remaining &&
      this.expected.compare(body, 0, body.length, this.offset, this.offset + body.length) === 0;
    this.offset += body.length;
    this.remaining -= body.length;
    if (this.remaining <= 0)
      this.finish(this.same && this.remaining === 0 ? null : `${this.offset} bytes, not the answer`);
  }

  private finish(failure: string | null): void {
    this.busy = false;
    this.done(this, this.due, failure);
  }
}

/**
 * An open-loop load at a steady `rate`: request i is due at start + i/rate, sent then on an idle
 * one of `connections` keep-alive connections (or, when all are busy, as soon as one is free), and
 * its latency counts from when it was due (so a server that falls behind is charged for the wait,
 * not spared it). autocannon's `overallRate` sends each second's quota in a burst at the top of the
 * second, which measures a burst's queue, not the latency at that rate. Throws when any answer
 * differs from `expectBody` or fails.
 */
export async function pacedLoad(
  target: PacedTarget,
  seconds: number,
  rate: number,
  connections: number,
): Promise<PacedLoad> {
  const url = new URL(target.url);
  const headers = { ...target.headers, host: url.host, 'content-length': String(Buffer.byteLength(target.body)) };
  const request = Buffer.from(
    `POST ${url.pathname} HTTP/1.1\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n${target.body}`,
  );
  const expected = Buffer.from(target.expectBody);
  const total = Math.round(seconds * rate);
  // Preallocated, outside the JS heap: a growing array of 30,000 numbers promoted to the old
  // generation would have the generator collect its old space every few hundred ms, its pauses
  // counted as the server's latency.
  const latencies = new Float64Array(total);
  const failures: string[] = [];
  const idle: Connection[] = [];
  const waiting: number[] = [];
  let answered = 0;
  let allAnswered = () => {};
  const finished = new Promise<void>((resolve) => {
    allAnswered = resolve;
  });
  const done = (connection: Connection, due: number, failure: string | null) => {
    latencies[answered] = performance.now() - due;
    if (failure) failures.push(failure);
    const next = waiting.shift();
    if (next !== undefined) connection.send(next);
    else idle.push(connection);
    if (++answered === total) allAnswered();
  };
  const pool = await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<Connection>((resolve, reject) => {
          const socket = connect(Number(url.port), url.hostname);
          socket.once('error', reject);
          socket.once('connect', () =>
            resolve(new Connection(socket, request, expected, done, (failure) => failures.push(failure))),
          );
        }),
    ),
  );
  idle.push(...pool);
  const started = performance.now();
  // Each timer tick sends every request due by then and gives the event loop back, so answers
  // are read as they come rather than after a run of sends.
  await new Promise<void>((sent) => {
    let i = 0;
    const tick = () => {
      const now = performance.now();
      for (; i < total && started + (i * 1000) / rate <= now; i++) {
        const due = started + (i * 1000) / rate;
        const connection = idle.shift(); // the longest idle: every connection stays in use (none reaches the keep-alive timeout)
        if (connection) connection.send(due);
        else waiting.push(due);
      }
      if (i >= total) return sent();
      setTimeout(tick, Math.max(0, started + (i * 1000) / rate - performance.now()));
    };
    tick();
  });
  await finished;
  const elapsed = (performance.now() - started) / 1000;
  for (const connection of pool) connection.close();
  if (failures.length) throw new Error(`${target.url}: ${failures.length} failed requests, e.g. ${failures[0]}`);
  latencies.sort();
  return { rps: total / elapsed, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
}

/** What a `PacedGenerator` child is asked to run. */
interface PacedJob {
  target: PacedTarget;
  seconds: number;
  rate: number;
  connections: number;
}

const FLAG = 'BENCH_PACED_CHILD';

/**
 * `pacedLoad` in a child process of its own, one run at a time (`child-jobs.ts`). With the bench
 * process's heap, its collector's incremental marking (brought on by the 64 KB read buffers of
 * 80 MB/s of answers) took 8–13 ms steps every few hundred milliseconds, and each step held back
 * the requests due meanwhile, counted as the server's latency (p99 16–22 ms where the server
 * alone gave 3 ms).
 */
export class PacedGenerator {
  private constructor(private readonly jobs: ChildJobs<PacedJob, PacedLoad>) {}

  static start(): PacedGenerator {
    return new PacedGenerator(ChildJobs.start(fileURLToPath(import.meta.url), FLAG));
  }

  run(target: PacedTarget, seconds: number, rate: number, connections: number): Promise<PacedLoad> {
    return this.jobs.run({ target, seconds, rate, connections });
  }

  close(): void {
    this.jobs.close();
  }
}

serveJobs(FLAG, (job: PacedJob) => pacedLoad(job.target, job.seconds, job.rate, job.connections));
