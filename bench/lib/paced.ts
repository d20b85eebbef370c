import { Agent, request } from 'node:http';

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
function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/**
 * An open-loop load at a steady `rate`: request i is due at start + i/rate, sent then on one of
 * `connections` keep-alive sockets, and its latency counts from when it was due (so a server that
 * falls behind is charged for the wait, not spared it). autocannon's `overallRate` sends each
 * second's quota in a burst at the top of the second, which measures a burst's queue, not the
 * latency at that rate. Throws when any answer differs from `expectBody` or fails.
 */
export async function pacedLoad(
  target: PacedTarget,
  seconds: number,
  rate: number,
  connections: number,
): Promise<PacedLoad> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const url = new URL(target.url);
  const headers = { ...target.headers, 'content-length': String(Buffer.byteLength(target.body)) };
  const total = Math.round(seconds * rate);
  const expected = Buffer.from(target.expectBody);
  const latencies: number[] = [];
  const failures: string[] = [];
  const one = (due: number) =>
    new Promise<void>((resolve) => {
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers, agent },
        (res) => {
          // Compared chunk by chunk as it arrives: the generator shares the cores, so it keeps
          // no copies of the answers (its own garbage collection would show in the latencies).
          let offset = 0;
          let same = res.statusCode === 200;
          res.on('data', (c: Buffer) => {
            same &&=
              offset + c.length <= expected.length && expected.compare(c, 0, c.length, offset, offset + c.length) === 0;
            offset += c.length;
          });
          res.on('end', () => {
            latencies.push(performance.now() - due);
            if (!same || offset !== expected.length) failures.push(`status ${res.statusCode}, ${offset} bytes`);
            resolve();
          });
        },
      );
      // No Nagle: a small request must not wait for the previous segment's ACK.
      req.on('socket', (socket) => socket.setNoDelay(true));
      req.on('error', (err) => {
        failures.push(err.message);
        resolve();
      });
      req.end(target.body);
    });
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  // Each timer tick sends every request due by then and gives the event loop back, so answers
  // are read as they come rather than after a run of sends.
  await new Promise<void>((done) => {
    let i = 0;
    const tick = () => {
      const now = performance.now();
      for (; i < total && started + (i * 1000) / rate <= now; i++) inFlight.push(one(started + (i * 1000) / rate));
      if (i >= total) return done();
      setTimeout(tick, Math.max(0, started + (i * 1000) / rate - performance.now()));
    };
    tick();
  });
  await Promise.all(inFlight);
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  if (failures.length) throw new Error(`${target.url}: ${failures.length} failed requests, e.g. ${failures[0]}`);
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
}
