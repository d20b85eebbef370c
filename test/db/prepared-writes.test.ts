import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { type OnOwnDatabase, startOnOwnDatabase, type TestServer } from '../helpers/server.ts';
import { servicesAvailable } from '../helpers/services.ts';

const CreateItem = graphql(`
  mutation Prep_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id title version } } ... on Error { code } }
  }
`);
const UpdateItem = graphql(`
  mutation Prep_UpdateItem($input: UpdateItemInput!) {
    updateItem(input: $input) { __typename ... on UpdateItemPayload { item { title version } } ... on Error { code } }
  }
`);
const MoveItem = graphql(`
  mutation Prep_MoveItem($input: MoveItemInput!) {
    moveItem(input: $input) { __typename ... on MoveItemPayload { item { id } } ... on Error { code } }
  }
`);
const PostUpdate = graphql(`
  mutation Prep_PostUpdate($input: PostUpdateInput!) {
    postUpdate(input: $input) { __typename ... on PostUpdatePayload { update { id body } } ... on Error { code } }
  }
`);
const UpdateUpdate = graphql(`
  mutation Prep_UpdateUpdate($input: UpdateUpdateInput!) {
    updateUpdate(input: $input) { __typename ... on UpdateUpdatePayload { update { body } } ... on Error { code } }
  }
`);
const DeleteItem = graphql(`
  mutation Prep_DeleteItem($input: DeleteItemInput!) {
    deleteItem(input: $input) { __typename ... on DeleteItemPayload { itemId } ... on Error { code } }
  }
`);

const ListPage = graphql(`
  query Prep_ListPage($id: ID!) {
    list(id: $id) {
      name
      items(first: 10) { edges { node { title updatedBy { email } updates(last: 1) { edges { node { body } } } } } }
    }
  }
`);

const OWNER = 'owner@prepared-writes.test';

// Only real PostgreSQL keeps prepared statements; CI must have it (servicesAvailable throws there).
const available = await servicesAvailable();

describe.skipIf(!available)('item changes kept prepared on the server', () => {
  let own: OnOwnDatabase;
  let t: TestServer;
  let owner: pg.Client;

  beforeAll(async () => {
    // One connection: every statement is prepared on the session the table change is seen by.
    own = await startOnOwnDatabase({ DATABASE_POOL_MAX: '1' });
    t = own.t;
    owner = new pg.Client({ connectionString: own.url });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await own?.close();
  });

  it('go on working when a newer version adds columns to their tables (a rolling deploy)', async () => {
    const lists = listHelpers(t);
    const accountId = await lists.account(OWNER);
    const workspace = await lists.workspace(accountId, OWNER);
    const listId = await lists.list(workspace.id, OWNER);
    /** Every kind of item change and the list's page, each run more than five times (past PostgreSQL's custom plans). */
    const changeEverything = async (round: string) => {
      for (let i = 0; i < 7; i++) {
        const created = (await t.ok(CreateItem, { input: { listId, title: `${round} ${i}` } }, OWNER)).createItem;
        if (created.__typename !== 'CreateItemPayload') throw new Error(JSON.stringify(created));
        const { id } = created.item;
        const patch = { title: `${round} ${i} edited` };
        expect((await t.ok(UpdateItem, { input: { id, expectedVersion: 1, patch } }, OWNER)).updateItem).toEqual({
          __typename: 'UpdateItemPayload',
          item: { title: `${round} ${i} edited`, version: 2 },
        });
        expect((await t.ok(MoveItem, { input: { id, afterId: null } }, OWNER)).moveItem).toEqual({
          __typename: 'MoveItemPayload',
          item: { id },
        });
        const posted = (await t.ok(PostUpdate, { input: { itemId: id, body: 'hello', kind: 'UPDATE' } }, OWNER))
          .postUpdate;
        if (posted.__typename !== 'PostUpdatePayload') throw new Error(JSON.stringify(posted));
        expect(
          (await t.ok(UpdateUpdate, { input: { updateId: posted.update.id, body: 'hello again' } }, OWNER))
            .updateUpdate,
        ).toEqual({ __typename: 'UpdateUpdatePayload', update: { body: 'hello again' } });
        const page = (await t.ok(ListPage, { id: listId }, OWNER)).list;
        expect(page?.items.edges[0]?.node).toEqual({
          title: `${round} ${i} edited`,
          updatedBy: { email: OWNER },
          updates: { edges: [{ node: { body: 'hello again' } }] },
        });
        expect((await t.ok(DeleteItem, { input: { id } }, OWNER)).deleteItem).toEqual({
          __typename: 'DeleteItemPayload',
          itemId: id,
        });
      }
    };
    await changeEverything('before');
    await owner.query('ALTER TABLE "Item" ADD COLUMN "addedLater" text');
    await owner.query('ALTER TABLE "ItemUpdate" ADD COLUMN "addedLater" text');
    await changeEverything('after');
  });
});
