import { beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { ownRedisCluster, redisServerAvailable } from '../helpers/processes.ts';
import { meStatus, statusBecomes, type TestServer, twoInstancesOnOwnRedis } from '../helpers/server.ts';
import { servicesAvailable } from '../helpers/services.ts';
import { connectWs } from '../helpers/ws.ts';

const CreateItem = graphql(`
  mutation Cluster_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id } } ... on Error { code } }
  }
`);
const Items = graphql(`
  query Cluster_Items($id: ID!) { list(id: $id) { items(first: 10) { edges { node { title } } } } }
`);
const CreateItemRevision = graphql(`
  mutation Cluster_CreateItemRevision($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { accessRevision } ... on Error { code } }
  }
`);
const ItemsAt = graphql(`
  query Cluster_ItemsAt($id: ID!, $minRevision: String) {
    list(id: $id, minRevision: $minRevision) { items(first: 10) { edges { node { title } } } }
  }
`);
const SetPresence = graphql(`
  mutation Cluster_SetPresence($input: SetPresenceInput!) {
    setPresence(input: $input) { __typename ... on SetPresencePayload { sessions } ... on Error { code } }
  }
`);
const ListEvents = graphql(`
  subscription Cluster_ListEvents($listId: ID!) {
    listEvents(listId: $listId) { __typename ... on ItemCreated { item { title } } }
  }
`);
const Presence = graphql(`
  subscription Cluster_Presence($listId: ID!) {
    presence(listId: $listId) { kind entry { user { email } status field } roster { user { email } } }
  }
`);

const OWNER = 'owner@cluster.test';
const VIEWER = 'viewer@cluster.test';

const available = (await servicesAvailable()) && redisServerAvailable();

describe.skipIf(!available)('on a Redis Cluster of three masters', () => {
  const on = twoInstancesOnOwnRedis(ownRedisCluster, (cluster) => ({ REDIS_CLUSTER_NODES: cluster.list }));
  const { clients } = on;
  let a: TestServer;
  let b: TestServer;
  beforeAll(() => {
    ({ a, b } = on);
  });

  async function shared() {
    const lists = listHelpers(a);
    const listId = await lists.sharedList(OWNER, VIEWER);
    return listId;
  }

  it('carries events and presence (snapshot, join, setPresence, leave) across instances', async () => {
    expect(a.server.services.realtime.kind).toBe('redis');
    const listId = await shared();
    const ownerOnB = connectWs(b.server.url, await b.token(OWNER));
    clients.push(ownerOnB);
    const events = ownerOnB.subscribe(ListEvents, { listId });
    expect((await events.next()).listEvents.__typename).toBe('ListEventsSubscribed');
    const created = (await a.ok(CreateItem, { input: { listId, title: 'Across the cluster' } }, OWNER)).createItem;
    const itemId = created.__typename === 'CreateItemPayload' ? created.item.id : '';
    expect((await events.next()).listEvents).toEqual({
      __typename: 'ItemCreated',
      item: { title: 'Across the cluster' },
    });

    const watch = ownerOnB.subscribe(Presence, { listId });
    expect((await watch.next()).presence).toMatchObject({ kind: 'SNAPSHOT', roster: [{ user: { email: OWNER } }] });
    const viewerOnA = connectWs(a.server.url, await a.token(VIEWER));
    clients.push(viewerOnA);
    const viewing = viewerOnA.subscribe(Presence, { listId });
    expect((await viewing.next()).presence.kind).toBe('SNAPSHOT');
    expect((await watch.next()).presence).toMatchObject({ kind: 'JOINED', entry: { user: { email: VIEWER } } });
    const set = await a.ok(SetPresence, { input: { listId, status: 'EDITING', itemId, field: 'title' } }, VIEWER);
    expect(set.setPresence).toMatchObject({ sessions: 1 });
    expect((await watch.next()).presence).toMatchObject({
      kind: 'UPDATED',
      entry: { user: { email: VIEWER }, status: 'EDITING', field: 'title' },
    });
    await viewerOnA.dispose();
    expect((await watch.next()).presence).toMatchObject({
      kind: 'LEFT',
      entry: { user: { email: VIEWER } },
      roster: [{ user: { email: OWNER } }],
    });
  });

  it('shares one rate limit between the instances', async () => {
    const good = await a.token('limited@cluster.test');
    expect(await meStatus(b, good)).toBe(200);
    // Four failures from one address, two on each instance: the shared budget of four is spent.
    for (const t of [a, b, a, b]) expect(await meStatus(t, `${good}x`)).toBe(401);
    // B spent the last point and is locked at once; A hears B's announcement.
    expect(await meStatus(b, good)).toBe(429);
    expect(await statusBecomes(() => meStatus(a, good), 429)).toBe(429);
  });

  it('invalidates cached answers on the other instance', async () => {
    const listId = await shared();
    const titles = async (t: TestServer) =>
      (await t.ok(Items, { id: listId }, OWNER)).list?.items.edges.map((e) => e.node.title);
    expect(await titles(b)).toEqual([]);
    expect(await titles(b)).toEqual([]);
    await a.ok(CreateItem, { input: { listId, title: 'Fresh' } }, OWNER);
    const deadline = Date.now() + 3_000;
    let seen = await titles(b);
    while (seen?.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      seen = await titles(b);
    }
    expect(seen).toEqual(['Fresh']);
  });

  it('reads a write of A on B at once with its access revision (the counter and its announcements on one slot)', async () => {
    const listId = await shared();
    const token = await b.token(OWNER);
    for (let round = 0; round < 5; round++) {
      // B keeps the answer before the write.
      await b.ok(Items, { id: listId }, token);
      const created = await a.ok(CreateItemRevision, { input: { listId, title: `Item ${round}` } }, OWNER);
      if (created.createItem.__typename !== 'CreateItemPayload') throw new Error(JSON.stringify(created));
      const read = await b.ok(ItemsAt, { id: listId, minRevision: created.createItem.accessRevision }, token);
      expect(read.list?.items.edges).toHaveLength(round + 1);
    }
  });
});
