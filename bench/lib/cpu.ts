import pg from 'pg';
import { SAMPLER_APP } from './waits.ts';
import { cpuSeconds } from './ws-fixtures.ts';

/** CPU seconds (user + system, from /proc) the server and its PostgreSQL backends used meanwhile. */
export interface CpuSpent {
  server: number;
  postgres: number;
}

/**
 * Measures the CPU time of one server process and of the PostgreSQL backends serving its database
 * (`pg_stat_activity`, same machine): less disturbed by a busy machine than a rate, since the
 * other engineers' work on the two cores does not count in it. A backend that starts during the
 * measure counts from zero; the meter's own connection is idle throughout.
 */
export async function cpuMeter(serverPid: number, databaseUrl: string) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const backends = async (): Promise<Map<number, number>> => {
    const { rows } = await client.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name <> $1',
      [SAMPLER_APP],
    );
    const spent = new Map<number, number>();
    for (const { pid } of rows) {
      try {
        spent.set(pid, cpuSeconds(pid));
      } catch {
        // Ended meanwhile.
      }
    }
    return spent;
  };
  return {
    /** Starts a measure; the returned function ends it. */
    async start(): Promise<() => Promise<CpuSpent>> {
      const server = cpuSeconds(serverPid);
      const before = await backends();
      return async () => {
        const serverSpent = cpuSeconds(serverPid) - server;
        const after = await backends();
        let postgres = 0;
        for (const [pid, seconds] of after) postgres += seconds - (before.get(pid) ?? 0);
        return { server: serverSpent, postgres };
      };
    },
    close: () => client.end(),
  };
}
