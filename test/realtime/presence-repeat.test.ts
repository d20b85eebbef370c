import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';

const CreateItem = graphql(`
  mutation Repeat_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id } } ... on Error { code message } }
  }
`);
const SetPresence = graphql(`
  mutation Repeat_SetPresence($input: SetPresenceInput!) {
    setPresence(input: $input) { __typename ... on SetPresencePayload { sessions } ... on Error { code message } }
  }
`);
const Watch = graphql(`
  subscription Repeat_Watch($listId: ID!) {
    presence(listId: $listId) { kind entry { user { email } status itemId } }
  }
`);

const OWNER = 'owner@repeat.test';
const EDITOR = 'editor@repeat.test';

const clients: WsClient[] = [];
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await t?.close();
});

describe('setPresence', () => {
  // A state set again after another (EDITING, VIEWING, EDITING the same item) is a new change:
  // its mutation runs and every watcher hears it, however alike the requests are.
  it('announces a state set again with the same input as an earlier one', async () => {
    const lists = listHelpers(t);
    const accountId = await lists.account(OWNER, [EDITOR]);
    const workspace = await lists.workspace(accountId, OWNER, 'OPEN');
    const listId = await lists.list(workspace.id, OWNER, 'MAIN');
    const created = (await t.ok(CreateItem, { input: { listId, title: 'Doc' } }, OWNER)).createItem;
    const itemId = created.__typename === 'CreateItemPayload' ? created.item.id : '';
    const owner = connectWs(t.server.url, await t.token(OWNER));
    const editor = connectWs(t.server.url, await t.token(EDITOR));
    clients.push(owner, editor);
    const watch = owner.subscribe(Watch, { listId });
    expect((await watch.next()).presence.kind).toBe('SNAPSHOT');
    const mine = editor.subscribe(Watch, { listId });
    expect((await mine.next()).presence.kind).toBe('SNAPSHOT');
    expect((await watch.next()).presence.kind).toBe('JOINED');

    const editing = { listId, status: 'EDITING' as const, itemId };
    const viewing = { listId, status: 'VIEWING' as const };
    for (const input of [editing, viewing, editing, viewing]) {
      expect((await t.ok(SetPresence, { input }, EDITOR)).setPresence).toEqual({
        __typename: 'SetPresencePayload',
        sessions: 1,
      });
      expect((await watch.next()).presence).toMatchObject({
        kind: 'UPDATED',
        entry: { user: { email: EDITOR }, status: input.status },
      });
      // Past the throttle of one user's changes (100 ms).
      await new Promise((r) => setTimeout(r, 150));
    }
  });
});
