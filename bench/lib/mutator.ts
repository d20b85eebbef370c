import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ChildJobs, serveJobs } from './child-jobs.ts';

/** What one client of a closed-loop mutation load edits or adds to. */
export interface MutatorClient {
  /** createItem: the list it adds items to. */
  listId?: string;
  /** updateItem: the item it edits, and its version (followed from each answer). */
  itemId?: string;
  version?: number;
}

export interface MutatorJob {
  /** e.g. http://127.0.0.1:4000/graphql */
  url: string;
  token: string;
  kind: 'updateItem' | 'createItem';
  clients: MutatorClient[];
  seconds: number;
}

export interface MutatorRun {
  /** Mutations answered per second over the run. */
  rps: number;
  p50: number;
  p99: number;
  total: number;
  /** CPU seconds (user + system) the generator itself spent over the run. */
  generatorCpu: number;
  /** The clients as they ended (updateItem: each item's last version). */
  clients: MutatorClient[];
}

export const UPDATE_ITEM = `mutation BenchUpdateItem($input: UpdateItemInput!) {
  updateItem(input: $input) { __typename ... on UpdateItemPayload { item { id version } } ... on Error { code message } }
}`;
export const CREATE_ITEM = `mutation BenchCreateItem($input: CreateItemInput!) {
  createItem(input: $input) { __typename ... on CreateItemPayload { item { id version } } ... on Error { code message } }
}`;

const HEAD_END = Buffer.from('\r\n\r\n');

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/**
 * `clients` keep-alive HTTP/1.1 connections, each sending its next mutation when the last is
 * answered, for `seconds`. Raw sockets and prepared request heads, as in `paced.ts`: node:http's
 * client cost the generator about as much CPU per request as the server spends on a mutation, on
 * the two cores they share. Every answer is parsed and must carry the item; updateItem follows the
 * item's version from it.
 */
export async function mutatorLoad(job: MutatorJob): Promise<MutatorRun> {
  const url = new URL(job.url);
  const head = (length: number) =>
    `POST ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\nauthorization: Bearer ${job.token}\r\ncontent-length: ${length}\r\n\r\n`;
  const bodyOf = (c: MutatorClient) =>
    job.kind === 'createItem'
      ? JSON.stringify({
          query: CREATE_ITEM,
          variables: { input: { listId: c.listId, title: 'New', fields: { n: 1 } } },
        })
      : JSON.stringify({
          query: UPDATE_ITEM,
          variables: { input: { id: c.itemId, expectedVersion: c.version, patch: { title: `v${c.version}` } } },
        });
  const latencies = new Float64Array(2_000_000);
  let answered = 0;
  const failures: string[] = [];
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const end = started + job.seconds * 1000;
  await Promise.all(
    job.clients.map(
      (client) =>
        new Promise<void>((resolve, reject) => {
          const socket: Socket = connect(Number(url.port), url.hostname);
          socket.setNoDelay(true);
          let buffered: Buffer = Buffer.alloc(0);
          let sent = 0;
          const send = () => {
            const body = bodyOf(client);
            sent = performance.now();
            socket.write(head(Buffer.byteLength(body)) + body);
          };
          const fail = (why: string) => {
            failures.push(why);
            socket.destroy();
            resolve();
          };
          socket.on('error', (err) => (failures.length ? resolve() : reject(err)));
          socket.on('connect', send);
          socket.on('data', (chunk: Buffer) => {
            buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
            const at = buffered.indexOf(HEAD_END);
            if (at < 0) return;
            const headText = buffered.toString('latin1', 0, at);
            const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(headText)?.[1] ?? Number.NaN);
            if (!headText.startsWith('HTTP/1.1 200') || Number.isNaN(length))
              return fail(headText.split('\r\n')[0] ?? '');
            if (buffered.length < at + 4 + length) return;
            const text = buffered.toString('utf8', at + 4, at + 4 + length);
            buffered = Buffer.alloc(0);
            latencies[answered++] = performance.now() - sent;
            const item = (JSON.parse(text) as { data?: Record<string, { item?: { version: number } }> }).data?.[
              job.kind
            ]?.item;
            if (!item) return fail(text.slice(0, 300));
            if (job.kind === 'updateItem') client.version = item.version;
            if (performance.now() < end) send();
            else {
              socket.destroy();
              resolve();
            }
          });
        }),
    ),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  if (failures.length) throw new Error(`${job.kind}: ${failures.length} failed, e.g. ${failures[0]}`);
  const sorted = latencies.subarray(0, answered).sort();
  return {
    rps: answered / elapsed,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    total: answered,
    generatorCpu: (cpu.user + cpu.system) / 1e6,
    clients: job.clients,
  };
}

const FLAG = 'BENCH_MUTATOR_CHILD';

/** `mutatorLoad` in a child process of its own (`child-jobs.ts`), one run at a time. */
export const startMutator = () => ChildJobs.start<MutatorJob, MutatorRun>(fileURLToPath(import.meta.url), FLAG);
export type Mutator = ReturnType<typeof startMutator>;

serveJobs(FLAG, mutatorLoad);
