import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';

// Events are executed once per instance for every subscriber who may see the same result
// (src/realtime/shared-execution.ts); these tests hold it to never sharing what depends on the viewer.

const RenameList = graphql(`
  mutation Shared_RenameList($input: UpdateListInput!) {
    updateList(input: $input) { __typename ... on Error { code message } }
  }
`);
const CreateItem = graphql(`
  mutation Shared_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on Error { code message } }
  }
`);
const ListView = graphql(`
  subscription Shared_ListView($listId: ID!, $linkToken: String) {
    listEvents(listId: $listId, linkToken: $linkToken) {
      __typename
      ... on ItemCreated { item { title } }
      ... on ListRenamed { list { name viewerRole linkToken } }
    }
  }
`);
const Watch = graphql(`
  subscription Shared_Watch($listId: ID!) {
    presence(listId: $listId) { kind entry { user { email accounts { role } } } }
  }
`);

const OWNER = 'owner@shared.test';
const VIEWER = 'viewer@shared.test';
const EDITOR = 'editor@shared.test';

const clients: WsClient[] = [];
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await t?.close();
});

/** A list of OWNER shared with VIEWER (VIEWER) and EDITOR (EDITOR), open to anyone with its link. */
async function sharedList() {
  const lists = listHelpers(t);
  const accountId = await lists.account(OWNER, [VIEWER, EDITOR]);
  const workspace = await lists.workspace(accountId, OWNER, 'CLOSED');
  const listId = await lists.list(workspace.id, OWNER, 'SHAREABLE');
  await lists.share(OWNER, { listId, role: 'VIEWER', userId: await lists.userId(VIEWER) });
  await lists.share(OWNER, { listId, role: 'EDITOR', userId: await lists.userId(EDITOR) });
  const { linkToken } = await lists.generalAccess(OWNER, listId, 'ANYONE_WITH_LINK');
  return { listId, linkToken: linkToken ?? '' };
}

async function connect(as: string | null) {
  const client = connectWs(t.server.url, as ? await t.token(as) : null);
  clients.push(client);
  return client;
}

describe('one execution per event for subscribers who see the same result', () => {
  it('never shows one viewer the role or link token of another, on the same document and variables', async () => {
    const { listId, linkToken } = await sharedList();
    const as = [OWNER, OWNER, VIEWER, EDITOR, null] as const;
    const subs = await Promise.all(
      as.map(async (who) => (await connect(who)).subscribe(ListView, { listId, linkToken })),
    );
    for (const sub of subs) expect((await sub.next()).listEvents.__typename).toBe('ListEventsSubscribed');

    await t.ok(CreateItem, { input: { listId, title: 'Same for all' } }, EDITOR);
    for (const sub of subs)
      expect((await sub.next()).listEvents).toEqual({ __typename: 'ItemCreated', item: { title: 'Same for all' } });

    await t.ok(RenameList, { input: { listId, name: 'Renamed' } }, OWNER);
    const seen = await Promise.all(subs.map(async (sub) => (await sub.next()).listEvents));
    const list = (role: string | null, token: string | null) => ({
      __typename: 'ListRenamed',
      list: { name: 'Renamed', viewerRole: role, linkToken: token },
    });
    expect(seen).toEqual([
      list('CREATOR', linkToken),
      list('CREATOR', linkToken),
      list('VIEWER', null),
      list('EDITOR', null),
      list(null, null),
    ]);
  });

  it('keeps a relation filtered by the viewer (User.accounts) to that viewer in presence', async () => {
    const { listId } = await sharedList();
    const owner = (await connect(OWNER)).subscribe(Watch, { listId });
    expect((await owner.next()).presence.kind).toBe('SNAPSHOT');
    const tab1 = (await connect(VIEWER)).subscribe(Watch, { listId });
    expect((await tab1.next()).presence.kind).toBe('SNAPSHOT');
    expect((await owner.next()).presence).toEqual({
      kind: 'JOINED',
      entry: { user: { email: VIEWER, accounts: [] } },
    });
    // VIEWER's second tab: one event that OWNER and VIEWER's first tab both hear, about VIEWER,
    // whose accounts only VIEWER may see.
    const tab2 = (await connect(VIEWER)).subscribe(Watch, { listId });
    expect((await tab2.next()).presence.kind).toBe('SNAPSHOT');
    const [toOwner, toViewer] = await Promise.all([owner.next(), tab1.next()]);
    expect(toOwner.presence).toEqual({ kind: 'UPDATED', entry: { user: { email: VIEWER, accounts: [] } } });
    expect(toViewer.presence).toMatchObject({ kind: 'UPDATED', entry: { user: { email: VIEWER } } });
    expect(toViewer.presence.entry?.user?.accounts.map((a) => a.role)).toContain('MEMBER');
  });
});
