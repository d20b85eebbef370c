import { randomBytes } from 'node:crypto';
import { freshPostgresDatabase } from '../test/helpers/db.ts';
import { startTestServer, type TestServer } from '../test/helpers/server.ts';
import { POSTGRES_URL, REDIS_URL } from '../test/helpers/services.ts';
import { raw } from '../test/helpers/world.ts';
import { type Figure, measured } from './lib/figure.ts';
import { type CountFixture, countStatements, inProcessActor, seedCountFixture } from './lib/round-trips.ts';

const PAST = `query BenchAccessAt($r: ID!, $u: ID!, $at: DateTime!) {
  accessAt(resourceId: $r, userId: $u, at: $at) { role decisions { question allowed reasons { rule detail } } }
}`;

/** accessAt on `resourceId` for the fixture's viewer, as its admin; fails unless it answers. */
async function ask(t: TestServer, f: CountFixture, viewerId: string, resourceId: string): Promise<void> {
  const res = await raw(t, PAST, { r: resourceId, u: viewerId, at: new Date().toISOString() }, f.admin);
  const role = (res.data as { accessAt: { role: string | null } | null } | null)?.accessAt?.role;
  if (res.errors || !role) throw new Error(`accessAt: ${JSON.stringify(res)}`);
}

/**
 * The access history (issue 20, part 4) on PostgreSQL: SQL statements per `accessAt` on a
 * workspace of 10 and of 100 lists (each shared with a group) and on one list, its in-process
 * time, and the history rows an access change writes (by triggers, inside its commit).
 */
export const bench = {
  name: 'access-history',
  description: 'accessAt: statements at 10 and 100 lists (bounded), ms per call in process; history rows per change',
  async run({ runs, quick }: { runs: number; quick: boolean }): Promise<Figure[]> {
    const db = await freshPostgresDatabase(POSTGRES_URL);
    const t = await startTestServer({
      ...(db ? { databaseUrl: db.url } : {}),
      redisKeyPrefix: `sharegraph-bench:${randomBytes(6).toString('hex')}:`,
      env: { REDIS_URL, RESPONSE_CACHE: 'false' },
    });
    try {
      const figures: Figure[] = [];
      const fixtures = [
        await seedCountFixture(inProcessActor(t), 10, 'ten'),
        await seedCountFixture(inProcessActor(t), 100, 'hundred'),
      ];
      const viewers: string[] = [];
      for (const f of fixtures) {
        await t.token(f.admin);
        viewers.push(((await raw(t, '{ me { id } }', {}, f.viewer)).data as { me: { id: string } }).me.id);
      }
      // When the history began is read once per database client: the first call pays for it.
      await ask(t, fixtures[0] as CountFixture, viewers[0] as string, fixtures[0]?.listId ?? '');
      for (const [what, key] of [
        ['workspace', 'workspaceId'],
        ['list', 'listId'],
      ] as const) {
        const counts: number[] = [];
        for (const [i, f] of fixtures.entries())
          counts.push(await countStatements(t, () => ask(t, f, viewers[i] as string, f[key])));
        figures.push(
          measured('access-history', {
            metric: `accessAt on a ${what} (statements)`,
            unit: 'statements',
            runs: counts,
            target: 'same at 10 and 100 lists',
            met: counts[0] === counts[1],
            note: 'runs: [10 lists, 100 lists]; with the viewer look-up every request makes, after a first call (which reads when the history began, once per process)',
          }),
        );
      }
      const big = fixtures[1] as CountFixture;
      const calls = quick ? 10 : 50;
      const times: number[] = [];
      for (let r = 0; r < runs; r++) {
        const started = performance.now();
        for (let c = 0; c < calls; c++) await ask(t, big, viewers[1] as string, big.workspaceId);
        times.push((performance.now() - started) / calls);
      }
      figures.push(
        measured('access-history', {
          metric: 'accessAt on a workspace of 100 lists (ms per call)',
          unit: 'ms',
          runs: times.map((v) => Math.round(v * 100) / 100),
          note: 'wall time in process (yoga.fetch, PostgreSQL), sequential calls; a reference, not a CPU figure',
        }),
      );
      const facts = () => t.server.services.db.auditFact.count();
      const before = await facts();
      const share = await raw(
        t,
        'mutation($input: ShareListInput!) { shareList(input: $input) { __typename } }',
        { input: { listId: big.listId, role: 'EDITOR', userId: big.otherUserId } },
        big.owner,
      );
      if ((share.data as { shareList: { __typename: string } }).shareList.__typename !== 'ShareListPayload')
        throw new Error(`shareList: ${JSON.stringify(share)}`);
      const rows = (await facts()) - before;
      figures.push(
        measured('access-history', {
          metric: 'history rows written by shareList',
          unit: 'rows',
          runs: [rows],
          target: '1 (the share)',
          met: rows === 1,
        }),
      );
      return figures;
    } finally {
      await t.close();
      await db?.drop();
    }
  },
};

export default bench;
