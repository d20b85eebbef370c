import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';

// A read grant decided at subscribe serves the viewer's next subscribes for a moment
// (src/modules/list/stream-access.ts); a revocation must end that at once.

const RemoveShare = graphql(`
  mutation Grants_RemoveShare($input: RemoveShareInput!) {
    removeShare(input: $input) { __typename ... on Error { code message } }
  }
`);
const Events = graphql(`
  subscription Grants_Events($listId: ID!) { listEvents(listId: $listId) { __typename } }
`);

const OWNER = 'owner@grants.test';
const VIEWER = 'viewer@grants.test';

const clients: WsClient[] = [];
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await t?.close();
});

describe('subscribing again', () => {
  it('is refused right after the access that allowed an earlier subscribe was revoked', async () => {
    const lists = listHelpers(t);
    const accountId = await lists.account(OWNER, [VIEWER]);
    const workspace = await lists.workspace(accountId, OWNER, 'CLOSED');
    const listId = await lists.list(workspace.id, OWNER, 'SHAREABLE');
    const shareId = await lists.share(OWNER, { listId, role: 'VIEWER', userId: await lists.userId(VIEWER) });
    const viewer = connectWs(t.server.url, await t.token(VIEWER));
    const owner = connectWs(t.server.url, await t.token(OWNER));
    clients.push(viewer, owner);
    // The owner's stream keeps the list's grants on this instance throughout.
    const kept = owner.subscribe(Events, { listId });
    expect((await kept.next()).listEvents.__typename).toBe('ListEventsSubscribed');
    for (let i = 0; i < 3; i++) {
      const sub = viewer.subscribe(Events, { listId });
      expect((await sub.next()).listEvents.__typename).toBe('ListEventsSubscribed');
      sub.dispose();
    }
    expect((await t.ok(RemoveShare, { input: { shareId } }, OWNER)).removeShare.__typename).toBe('RemoveSharePayload');
    expect((await kept.next()).listEvents.__typename).toBe('AccessChanged');
    const refused = viewer.subscribe(Events, { listId });
    expect(JSON.stringify((await refused.closed).error)).toMatch(/not found/i);
  });
});
