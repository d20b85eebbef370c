import pg from 'pg';

/** How the cpu meter tells the sampler's own backend from the server's (bench/lib/cpu.ts skips it). */
export const SAMPLER_APP = 'bench-sampler';

/** What the server's PostgreSQL backends were doing, averaged over the samples of a run. */
export interface WaitProfile {
  samples: number;
  /** Backends open to the database (the server's pool), on average. */
  backends: number;
  /** Backends running a statement, on average, by what they waited on ("CPU" when nothing). */
  active: Record<string, number>;
  /** Backends waiting for a row lock, on average, by the table of the row. */
  rowLockWaits: Record<string, number>;
  /** The most backends seen running a statement at once, and the share of samples with `poolMax` or more. */
  activeMax: number;
  poolFull: number;
}

/**
 * Samples `pg_stat_activity` and `pg_locks` of the bench's database every `everyMs` while a run
 * goes on: how many of the server's backends run a statement, and what they wait on
 * (`Lock:transactionid` / `Lock:tuple` for a row another transaction holds, `IO:WALSync` for the
 * commit's flush, `Client:ClientRead` for the server between statements of a transaction), and
 * which table's rows the lock waits are on, and how often the server's pool (`poolMax`
 * connections) had every connection busy. Its own backend is named `SAMPLER_APP`.
 */
export async function waitSampler(databaseUrl: string, poolMax: number, everyMs = 10) {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: SAMPLER_APP });
  await client.connect();
  return {
    async start(): Promise<() => Promise<WaitProfile>> {
      let samples = 0;
      let backends = 0;
      let activeMax = 0;
      let poolFull = 0;
      const active: Record<string, number> = {};
      const rowLockWaits: Record<string, number> = {};
      let running = true;
      const loop = (async () => {
        while (running) {
          const { rows } = await client.query<{ state: string | null; wait: string | null; relation: string | null }>(
            `SELECT a.state, a.wait_event_type || ':' || a.wait_event AS wait,
                (SELECT l.relation::regclass::text FROM pg_locks l
                  WHERE l.pid = a.pid AND l.locktype = 'tuple' LIMIT 1) AS relation
              FROM pg_stat_activity a
              WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
                AND a.application_name <> $1 AND a.backend_type = 'client backend'`,
            [SAMPLER_APP],
          );
          samples++;
          const running = rows.filter((r) => r.state === 'active').length;
          activeMax = Math.max(activeMax, running);
          if (running >= poolMax) poolFull++;
          for (const row of rows) {
            backends++;
            if (row.state !== 'active') continue;
            const wait = row.wait ?? 'CPU';
            active[wait] = (active[wait] ?? 0) + 1;
            if (wait.startsWith('Lock:')) {
              const table = row.relation ?? '(row of the holder, table unknown)';
              rowLockWaits[table] = (rowLockWaits[table] ?? 0) + 1;
            }
          }
          await new Promise((r) => setTimeout(r, everyMs));
        }
      })();
      return async () => {
        running = false;
        await loop;
        const avg = (r: Record<string, number>) =>
          Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round((v / samples) * 100) / 100]));
        return {
          samples,
          backends: Math.round((backends / samples) * 100) / 100,
          active: avg(active),
          rowLockWaits: avg(rowLockWaits),
          activeMax,
          poolFull: Math.round((poolFull / samples) * 100) / 100,
        };
      };
    },
    close: () => client.end(),
  };
}
