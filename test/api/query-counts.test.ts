import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BenchList,
  type CountFixture,
  countAll,
  countStatements,
  inProcessActor,
  seedCountFixture,
} from '../../bench/lib/round-trips.ts';
import { graphql } from '../generated/gql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// SQL statements per operation, exactly, on PGlite and on PostgreSQL alike: the same for 10 and
// for 100 items (no N+1), the list query in at most 2. Authentication is one statement (the
// viewer's row); an access decision on a list is one (its facts with its workspace's and
// account's, joined); a Pothos selection is one include tree, joined in SQL (relationJoins). The
// list query reads its list, its page of items and its access facts in one (list/read.ts). A
// mutation in an interactive transaction adds its writes, its audit row and the COMMIT Prisma
// reports (it does not report BEGIN). An item mutation writes the change and its audit row in one
// statement, with no transaction around it; it reads the item's list id first only the first time
// the instance meets the item (items never change lists), so after updateItem the item is known;
// a payload selecting a relation of the new row (createItem's updatedBy, postUpdate's author) loads it.
// A list event is written in the item mutation's own statement, and in a transaction's as one more
// statement (shareList).
// These are the costs of operations that execute: the response cache is off here (a kept answer
// costs no statement at all, see response-cache.test.ts).
const EXPECTED: Record<string, number> = {
  'list with 50 items, last update, author (group-share viewer)': 2,
  me: 2,
  'workspaces (viewer)': 3,
  'workspace with its lists (owner)': 4,
  'sharedWithMe (viewer)': 3,
  createItem: 4,
  updateItem: 4,
  'updateItem (again, its list known)': 3,
  moveItem: 3,
  'moveItem (after an item)': 3,
  postUpdate: 4,
  'postUpdate (reply)': 4,
  // One asks whether the sharer sees the person named (who does not is told NOT_FOUND); one writes the list event.
  'shareList (user)': 11,
  createList: 6,
  deleteItem: 3,
};

const TooDeep = graphql(`
  query CountsTooDeep($id: ID!) {
    list(id: $id) {
      workspace { lists { edges { node { workspace { lists { edges { node { workspace { lists { edges { node { id } } } } } } } } } } } }
    }
  }
`);

let t: TestServer;
let small: CountFixture;
let large: CountFixture;
beforeAll(async () => {
  t = await startTestServer({ env: { RESPONSE_CACHE: 'false' } });
  small = await seedCountFixture(inProcessActor(t), 10, 'ten');
  large = await seedCountFixture(inProcessActor(t), 100, 'hundred');
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe('SQL statements per operation', () => {
  it('are the same for 10 and for 100 items, and exactly the expected number', async () => {
    const ten = await countAll(t, small);
    const hundred = await countAll(t, large);
    expect(hundred).toEqual(ten);
    expect(ten).toEqual(EXPECTED);
    expect(ten['list with 50 items, last update, author (group-share viewer)']).toBeLessThanOrEqual(2);
  });

  it('are none for a query refused by a limit, even with a token', async () => {
    const token = await t.token(small.viewer);
    const refused = await countStatements(t, async () => {
      const res = await t.gql(TooDeep, { id: small.listId }, token);
      expect(res.data ?? null).toBeNull();
      expect(res.errors?.[0]?.message).toMatch(/depth/i);
    });
    expect(refused).toBe(0);
    expect(await countStatements(t, () => t.ok(BenchList, { id: small.listId }, token))).toBe(2);
  });
});
