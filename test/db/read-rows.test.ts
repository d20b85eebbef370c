import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase, PREPARED, readRows } from '../../src/db/client.ts';
import { Prisma } from '../../src/generated/prisma/client.ts';
import { freshPostgresDatabase } from '../helpers/db.ts';

// readRows (src/db/client.ts) reads hot statements around Prisma's result mapping on PostgreSQL
// (through pg, with parsers of its own) and through $queryRaw on PGlite: either way a value must
// be what $queryRaw gives, in a time zone other than UTC too (pg reads timestamps without time
// zone as local time). Each test file runs in a process of its own (vitest's forks pool).
const ZONE = 'Pacific/Chatham';

/** SQL expressions of every kind of value the hot statements read, and the edges of each. */
const VALUES: [string, string][] = [
  ['timestamp', `'2026-12-06 10:19:22.781'::timestamp`],
  ['timestamp, whole second', `'2026-01-01 00:00:00'::timestamp`],
  ['timestamp, tenth of a second', `'1999-12-31 23:59:59.5'::timestamp`],
  ['timestamp(3) column', `'2026-03-29 01:30:00.123'::timestamp(3)`],
  ['timestamp array', `ARRAY['2026-12-06 10:19:22.781'::timestamp, NULL, '1970-01-01 00:00:00']`],
  ['timestamptz', `'2026-12-06 10:19:22.781+02'::timestamptz`],
  ['timestamptz array', `ARRAY['2026-12-06 10:19:22+05:30'::timestamptz]`],
  ['jsonb', `'{"n": 1, "tags": ["x", null], "nested": {"deep": true}}'::jsonb`],
  ['bigint', `9007199254740993::bigint`],
  ['bigint array', `ARRAY[1::bigint, NULL, -2]`],
  ['integer', `42`],
  ['double', `1.5::float8`],
  ['boolean', `true`],
  ['boolean array', `ARRAY[true, false, NULL]`],
  ['text', `'Ünïcode ✓'`],
  ['text array', `ARRAY['a', NULL, 'c,d', '"q"']::text[]`],
  ['enum as text', `'VIEWER'::"ListRole"::text`],
  ['null', `NULL::timestamp`],
];

let database: Database;
let dropDatabase: (() => Promise<void>) | undefined;
const zone = process.env.TZ;

beforeAll(async () => {
  process.env.TZ = ZONE;
  const fresh = await freshPostgresDatabase();
  dropDatabase = fresh?.drop;
  database = await openDatabase({ databaseUrl: fresh?.url, dataDir: null });
  await database.migrate();
}, 120_000);

afterAll(async () => {
  await database?.close();
  await dropDatabase?.();
  process.env.TZ = zone;
});

describe('readRows', () => {
  it('runs in a zone other than UTC', () => {
    expect(new Date(2026, 0, 1).getTimezoneOffset()).not.toBe(0);
  });

  it.each(VALUES)('reads a %s as $queryRaw does', async (_kind, expression) => {
    const statement = Prisma.sql`SELECT ${Prisma.raw(expression)} AS "value", 1 AS "one"`;
    const [expected] = await database.prisma.$queryRaw<Record<string, unknown>[]>(statement);
    const before = database.statements();
    const { columns, rows } = await readRows(database.prisma, statement);
    expect(database.statements() - before).toBe(1);
    expect(columns).toEqual(['value', 'one']);
    expect(rows).toHaveLength(1);
    expect(Object.fromEntries(columns.map((name, i) => [name, rows[0]?.[i]]))).toEqual(expected);
  });

  it('binds a Date parameter as $queryRaw does, in a prepared statement too', async () => {
    const at = new Date('2026-12-06T10:19:22.781Z');
    const statement = Prisma.sql`SELECT ${at}::timestamp AS "at", ${at}::timestamp = '2026-12-06 10:19:22.781' AS "utc"
${Prisma.raw(PREPARED)}`;
    for (let run = 0; run < 3; run++) {
      const [expected] = await database.prisma.$queryRaw<Record<string, unknown>[]>(statement);
      const { rows } = await readRows(database.prisma, statement);
      expect(rows).toEqual([[at, true]]);
      expect(expected).toEqual({ at, utc: true });
    }
  });

  it('runs reads only', async () => {
    await expect(readRows(database.prisma, Prisma.sql`DELETE FROM "User"`)).rejects.toThrow(/reads only/);
  });
});
