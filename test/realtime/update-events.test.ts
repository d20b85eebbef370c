import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';

const CreateItem = graphql(`
  mutation RtU_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id } } ... on Error { code message } }
  }
`);
const PostUpdate = graphql(`
  mutation RtU_PostUpdate($input: PostUpdateInput!) {
    postUpdate(input: $input) { __typename ... on PostUpdatePayload { update { id } } ... on Error { code message } }
  }
`);
const UpdateUpdate = graphql(`
  mutation RtU_UpdateUpdate($input: UpdateUpdateInput!) {
    updateUpdate(input: $input) { __typename ... on Error { code message } }
  }
`);
const DeleteUpdate = graphql(`
  mutation RtU_DeleteUpdate($input: DeleteUpdateInput!) {
    deleteUpdate(input: $input) { __typename ... on Error { code message } }
  }
`);
const ListEvents = graphql(`
  subscription RtU_ListEvents($listId: ID!) {
    listEvents(listId: $listId) {
      __typename
      ... on UpdatePosted { update { id body } }
      ... on UpdateEdited { update { id body } }
      ... on UpdateDeleted { updateId itemId }
    }
  }
`);

const OWNER = 'owner@rtu.test';

let t: TestServer;
const clients: WsClient[] = [];
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await t?.close();
});

describe('updates on a live list', () => {
  it('an edit and a deletion reach the list’s subscribers', async () => {
    const h = listHelpers(t);
    const accountId = await h.account(OWNER);
    const listId = await h.list((await h.workspace(accountId, OWNER)).id, OWNER);
    const item = (await t.ok(CreateItem, { input: { listId, title: 'Deal' } }, OWNER)).createItem;
    if (item.__typename !== 'CreateItemPayload') throw new Error(JSON.stringify(item));
    const ws = connectWs(t.server.url, await t.token(OWNER));
    clients.push(ws);
    const events = ws.subscribe(ListEvents, { listId });
    expect((await events.next()).listEvents.__typename).toBe('ListEventsSubscribed');
    const posted = (await t.ok(PostUpdate, { input: { itemId: item.item.id, body: 'draft' } }, OWNER)).postUpdate;
    if (posted.__typename !== 'PostUpdatePayload') throw new Error(JSON.stringify(posted));
    const updateId = posted.update.id;
    expect((await events.next()).listEvents).toEqual({
      __typename: 'UpdatePosted',
      update: { id: updateId, body: 'draft' },
    });
    await t.ok(UpdateUpdate, { input: { updateId, body: 'final' } }, OWNER);
    expect((await events.next()).listEvents).toEqual({
      __typename: 'UpdateEdited',
      update: { id: updateId, body: 'final' },
    });
    await t.ok(DeleteUpdate, { input: { updateId } }, OWNER);
    expect((await events.next()).listEvents).toEqual({ __typename: 'UpdateDeleted', updateId, itemId: item.item.id });
  });
});
