import { randomBytes } from 'node:crypto';
import { freshPostgresDatabase } from '../test/helpers/db.ts';
import { startTestServer } from '../test/helpers/server.ts';
import { POSTGRES_URL, REDIS_URL } from '../test/helpers/services.ts';
import type { Bench, Figure } from './lib/figure.ts';
import { COUNTED_OPERATIONS, countAll, countStatements, inProcessActor, seedCountFixture } from './lib/round-trips.ts';

const TOO_DEEP = `query { me { accounts { user { accounts { user { accounts { user { accounts { user { accounts { user { accounts { user { id } } } } } } } } } } } } }`;

/**
 * SQL statements per operation on PostgreSQL (with Redis), counted by the Prisma client, for a
 * fixture of 10 and one of 100 items, lists and workspaces. test/api/query-counts.test.ts
 * asserts the same numbers; here they go into the table.
 */
export const bench: Bench = {
  name: 'db-round-trips',
  description:
    'SQL statements per operation at 10 and at 100 items (no N+1); list query ≤ 4; a refused query runs none',
  async run() {
    const db = await freshPostgresDatabase(POSTGRES_URL);
    const t = await startTestServer({
      ...(db ? { databaseUrl: db.url } : {}),
      redisKeyPrefix: `sharegraph-bench:${randomBytes(6).toString('hex')}:`,
      // What operations cost when they execute: kept answers (the response cache) cost none.
      env: { REDIS_URL, RESPONSE_CACHE: 'false' },
    });
    try {
      const ten = await countAll(t, await seedCountFixture(inProcessActor(t), 10, 'ten'));
      const hundred = await countAll(t, await seedCountFixture(inProcessActor(t), 100, 'hundred'));
      const figures: Figure[] = COUNTED_OPERATIONS.map((op, i) => {
        const runs = [ten[op.name] as number, hundred[op.name] as number];
        const same = runs[0] === runs[1];
        const isList = i === 0;
        return {
          bench: 'db-round-trips',
          metric: `${op.kind} ${op.name}`,
          value: runs[1] as number,
          unit: 'statements',
          runs,
          target: isList ? 'same at 10 and 100, ≤ 4' : 'same at 10 and 100',
          met: same && (!isList || (runs[1] as number) <= 4),
          note: 'runs: [10 items, 100 items]; a mutation in a transaction counts its COMMIT, not its BEGIN (Prisma reports only the COMMIT); item mutations need no transaction',
        };
      });
      const token = await t.token('viewer-ten@counts.test');
      const refused = await countStatements(t, async () => {
        const res = await t.server.yoga.fetch('http://bench/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: TOO_DEEP }),
        });
        const body = (await res.json()) as { errors?: unknown[] };
        if (!body.errors?.length) throw new Error('the over-deep query was not refused');
      });
      figures.push({
        bench: 'db-round-trips',
        metric: 'query refused by the depth limit',
        value: refused,
        unit: 'statements',
        runs: [refused],
        target: '0',
        met: refused === 0,
      });
      return figures;
    } finally {
      await t.close();
      await db?.drop();
    }
  },
};

export default bench;
