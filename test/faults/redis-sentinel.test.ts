import { beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { ownSentinel, redisCli, redisServerAvailable } from '../helpers/processes.ts';
import { meStatus, statusBecomes, type TestServer, twoInstancesOnOwnRedis } from '../helpers/server.ts';
import { servicesAvailable } from '../helpers/services.ts';
import { connectWs } from '../helpers/ws.ts';

const CreateItem = graphql(`
  mutation Sentinel_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id } } ... on Error { code } }
  }
`);
const SetPresence = graphql(`
  mutation Sentinel_SetPresence($input: SetPresenceInput!) {
    setPresence(input: $input) { __typename ... on SetPresencePayload { sessions } ... on Error { code } }
  }
`);
const ListEvents = graphql(`
  subscription Sentinel_ListEvents($listId: ID!) {
    listEvents(listId: $listId) { __typename ... on ItemCreated { item { title } } }
  }
`);
const Presence = graphql(`
  subscription Sentinel_Presence($listId: ID!) {
    presence(listId: $listId) { kind entry { user { email } } roster { user { email } } }
  }
`);

const OWNER = 'owner@sentinel.test';
const VIEWER = 'viewer@sentinel.test';

const available = (await servicesAvailable()) && redisServerAvailable();

describe.skipIf(!available)('behind Redis Sentinel (master, replica, sentinel)', () => {
  const on = twoInstancesOnOwnRedis(ownSentinel, (s) => ({ REDIS_SENTINELS: s.list, REDIS_SENTINEL_NAME: s.name }));
  const { clients } = on;
  let a: TestServer;
  let b: TestServer;
  beforeAll(() => {
    ({ a, b } = on);
  });

  const readyz = async (t: TestServer) => (await fetch(`${t.server.url}/readyz`)).status;

  it('a failover while events flow: every event once and in order, then presence, rate limits and /readyz on both instances', async () => {
    const lists = listHelpers(a);
    const listId = await lists.sharedList(OWNER, VIEWER);
    const ownerOnB = connectWs(b.server.url, await b.token(OWNER));
    const ownerOnA = connectWs(a.server.url, await a.token(OWNER));
    clients.push(ownerOnB, ownerOnA);
    const watchers = [ownerOnB.subscribe(ListEvents, { listId }), ownerOnA.subscribe(ListEvents, { listId })];
    for (const w of watchers) expect((await w.next()).listEvents.__typename).toBe('ListEventsSubscribed');
    expect([await readyz(a), await readyz(b)]).toEqual([200, 200]);

    // Writes on A every 100 ms, through the failover and a second after it.
    const oldMaster = await on.group.masterPort();
    const written: string[] = [];
    let writing = true;
    const writer = (async () => {
      for (let n = 1; writing; n++) {
        const title = `Item ${n}`;
        const res = await a.gql(CreateItem, { input: { listId, title } }, OWNER);
        if (res.data?.createItem.__typename === 'CreateItemPayload') written.push(title);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await new Promise((r) => setTimeout(r, 500));
    await on.group.failover();
    expect(await on.group.masterPort()).not.toBe(oldMaster);
    const deadline = Date.now() + 20_000;
    // The Sentinel demotes the old master, still up, to a replica: nothing may write to it now.
    // While it reconfigures, it closes client connections: a poll that loses its own counts as "not yet".
    const role = () => redisCli(['-p', String(oldMaster), 'role']).catch(() => '');
    while (!(await role()).startsWith('slave')) {
      if (Date.now() > deadline) throw new Error('the old master was not demoted');
      await new Promise((r) => setTimeout(r, 100));
    }
    while ((await readyz(a)) !== 200 || (await readyz(b)) !== 200) {
      if (Date.now() > deadline) throw new Error('/readyz did not return to 200');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1_000));
    writing = false;
    await writer;
    expect(written.length).toBeGreaterThan(10);

    for (const w of watchers) {
      const seen: string[] = [];
      while (seen.length < written.length) {
        const event = (await w.next(10_000)).listEvents;
        seen.push(event.__typename === 'ItemCreated' ? (event.item?.title ?? '') : event.__typename);
      }
      expect(seen).toEqual(written);
      await w.nothingFor(300);
    }

    // Presence on both instances, through the new master.
    const watch = ownerOnB.subscribe(Presence, { listId });
    expect((await watch.next(10_000)).presence.kind).toBe('SNAPSHOT');
    const viewerOnA = connectWs(a.server.url, await a.token(VIEWER));
    clients.push(viewerOnA);
    const viewing = viewerOnA.subscribe(Presence, { listId });
    expect((await viewing.next(10_000)).presence.kind).toBe('SNAPSHOT');
    expect((await watch.next(10_000)).presence).toMatchObject({ kind: 'JOINED', entry: { user: { email: VIEWER } } });
    expect((await a.ok(SetPresence, { input: { listId, status: 'VIEWING' } }, VIEWER)).setPresence).toMatchObject({
      sessions: 1,
    });

    // One rate limit for both instances.
    const good = await a.token('limited@sentinel.test');
    for (const t of [a, b, a, b]) expect(await meStatus(t, `${good}x`)).toBe(401);
    // B spent the last point and is locked at once; A hears B's announcement.
    expect(await meStatus(b, good)).toBe(429);
    expect(await statusBecomes(() => meStatus(a, good), 429)).toBe(429);
  }, 90_000);
});
