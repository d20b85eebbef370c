import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CarryingPayload, PresenceSession } from '../../src/realtime/presence.ts';
import { createRealtime, type Realtime } from '../../src/realtime/pubsub.ts';
import { TypedDocumentString } from '../generated/graphql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, startTwoInstances, type TestServer, type TwoInstances } from '../helpers/server.ts';
import { REDIS_URL, servicesAvailable } from '../helpers/services.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';

interface Entry {
  user: { email: string } | null;
  status: string;
  field: string | null;
  sessions: number;
}
type Kind = 'SNAPSHOT' | 'JOINED' | 'LEFT' | 'UPDATED';

/** A widget on a busy list: the roster once, then one entry per event. */
const Lean = new TypedDocumentString<
  { presence: { kind: Kind; snapshot: Entry[] | null; entry: Entry | null } },
  { listId: string }
>(`subscription PresenceFanout_Lean($listId: ID!) {
  presence(listId: $listId) {
    kind
    snapshot { user { email } status field sessions }
    entry { user { email } status field sessions }
  }
}`);
/** A widget that takes the whole roster with every event. */
const Full = new TypedDocumentString<
  { presence: { kind: Kind; roster: Entry[]; entry: Entry | null } },
  { listId: string }
>(`subscription PresenceFanout_Full($listId: ID!) {
  presence(listId: $listId) {
    kind
    roster { user { email } status field sessions }
    entry { user { email } status field sessions }
  }
}`);
const SetPresence = new TypedDocumentString<
  { setPresence: { __typename: string; sessions?: number } },
  { input: { listId: string; status: 'VIEWING' | 'EDITING'; itemId?: string; field?: string } }
>(`mutation PresenceFanout_Set($input: SetPresenceInput!) {
  setPresence(input: $input) { __typename ... on SetPresencePayload { sessions } }
}`);
const CreateItem = new TypedDocumentString<
  { createItem: { __typename: string; item?: { id: string } } },
  { input: { listId: string; title: string } }
>(`mutation PresenceFanout_CreateItem($input: CreateItemInput!) {
  createItem(input: $input) { __typename ... on CreateItemPayload { item { id } } }
}`);

const OWNER = 'owner@fanout.test';
const EDITOR = 'editor@fanout.test';
const PASSER = 'passer@fanout.test';

const clients: WsClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
});

/** A MAIN list of an OPEN workspace (every member reads it) with one item. */
async function board(t: TestServer) {
  const h = listHelpers(t);
  const accountId = await h.account(OWNER, [EDITOR, PASSER]);
  const workspace = await h.workspace(accountId, OWNER);
  const listId = await h.list(workspace.id, OWNER);
  const created = (await t.ok(CreateItem, { input: { listId, title: 'Deal' } }, OWNER)).createItem;
  return { listId, itemId: created.item?.id ?? '' };
}

function connect(t: TestServer, email: string) {
  return t.token(email).then((token) => {
    const client = connectWs(t.server.url, token);
    clients.push(client);
    return client;
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a lean widget shows: its snapshot, with each later entry put in or taken out. */
function fold(roster: Map<string, Entry>, kind: Kind, entry: Entry | null) {
  const email = entry?.user?.email ?? '';
  if (kind === 'LEFT') roster.delete(email);
  else if (entry) roster.set(email, entry);
}

const byEmail = (entries: Entry[]) => new Map(entries.map((e) => [e.user?.email ?? '', e]));

describe.each(['memory', 'redis'] as const)('the %s presence store', async (kind) => {
  const available = kind === 'memory' || (await servicesAvailable());
  let realtime: Realtime | undefined;
  beforeAll(() => {
    if (!available) return;
    realtime = createRealtime(
      kind === 'redis' ? { redis: REDIS_URL, keyPrefix: `sharegraph-test:${randomBytes(6).toString('hex')}:` } : {},
    );
  });
  afterAll(async () => realtime?.close());

  const session = (userId: string | null, over: Partial<PresenceSession> = {}): PresenceSession => ({
    sessionId: randomUUID(),
    userId,
    status: 'VIEWING',
    itemId: null,
    field: null,
    invisible: false,
    since: new Date().toISOString(),
    ...over,
  });

  it.skipIf(!available)(
    'sets the state of one user’s live sessions only, and never re-creates one that left',
    async () => {
      const store = (realtime as Realtime).presence;
      const listId = randomUUID();
      const [tab1, tab2, hidden, gone, other] = [
        session('u1'),
        session('u1'),
        session('u1', { invisible: true }),
        session('u1'),
        session('u2'),
      ];
      for (const s of [tab1, tab2, hidden, gone, other]) await store.put(listId, s, 60_000);
      await store.remove(listId, gone.sessionId);
      const state = { status: 'EDITING' as const, itemId: 'item-1', field: 'title "quoted" / ünïcode' };
      const { sessions: changed, announced } = await store.setState(listId, 'u1', state);
      expect(announced).toBe(false);
      expect(changed.map((s) => s.sessionId).sort()).toEqual([tab1, tab2, hidden].map((s) => s.sessionId).sort());
      for (const s of changed)
        expect(s).toEqual({ ...[tab1, tab2, hidden].find((x) => x.sessionId === s.sessionId), ...state });

      const { live } = await store.sessions(listId);
      expect(live).toHaveLength(4);
      expect(live.find((s) => s.sessionId === gone.sessionId)).toBeUndefined();
      expect(live.find((s) => s.sessionId === other.sessionId)).toEqual(other);
      expect(live.find((s) => s.sessionId === tab1.sessionId)).toEqual({ ...tab1, ...state });

      const { sessions: back } = await store.setState(listId, 'u1', { status: 'VIEWING', itemId: null, field: null });
      expect(back.every((s) => s.status === 'VIEWING' && s.itemId === null && s.field === null)).toBe(true);
      expect(await store.setState(listId, 'nobody', state)).toEqual({ sessions: [], announced: false });
    },
  );

  it.skipIf(!available)(
    'reads one roster key’s live sessions alone: a user’s tabs, or one anonymous session',
    async () => {
      const store = (realtime as Realtime).presence;
      const listId = randomUUID();
      const anonymous = session(null);
      const expiring = session('u1');
      const tab = session('u1');
      // The keys live twice the TTL of the last write: the short one goes first.
      await store.put(listId, expiring, 50);
      await store.put(listId, tab, 60_000);
      await store.put(listId, anonymous, 60_000);
      await store.put(listId, session('u2'), 60_000);
      await sleep(80);
      expect(await store.sessionsOf(listId, 'u1')).toEqual([tab]);
      expect(
        (await store.setState(listId, 'u1', { status: 'EDITING', itemId: 'i', field: null })).sessions,
      ).toHaveLength(1);
      expect(await store.sessionsOf(listId, `anonymous:${anonymous.sessionId}`)).toEqual([anonymous]);
      await store.remove(listId, tab.sessionId);
      expect(await store.sessionsOf(listId, 'u1')).toEqual([]);
      // The expired session is still there for the sweep to drop and announce once.
      expect((await store.sessions(listId)).expired.map((s) => s.sessionId)).toEqual([expiring.sessionId]);
    },
  );
  it.skipIf(!available)(
    'announces a change with its entry in the same step as the write, in Redis, when someone is shown',
    async () => {
      const rt = realtime as Realtime;
      const listId = randomUUID();
      const heard: CarryingPayload[] = [];
      const stop = rt.listen('list:presence', listId, (event) => heard.push(event));
      await rt.ready();
      const early = session('u1', { since: '2026-01-01T00:00:00.000Z' });
      for (const s of [early, session('u1'), session('u1', { invisible: true, since: '2025-01-01T00:00:00.000Z' })])
        await rt.presence.put(listId, s, 60_000);
      await rt.presence.put(listId, session('u2', { invisible: true }), 60_000);
      const state = { status: 'EDITING' as const, itemId: 'item-1', field: null };
      const at = new Date().toISOString();
      const shown = await rt.presence.setState(listId, 'u1', state, at);
      const hidden = await rt.presence.setState(listId, 'u2', state, at);
      await sleep(100);
      stop();
      expect(hidden.announced).toBe(false);
      if (kind === 'memory') {
        // In process the caller announces (setPresence), so the store publishes nothing.
        expect(shown.announced).toBe(false);
        expect(heard).toEqual([]);
        return;
      }
      expect(shown.announced).toBe(true);
      expect(heard).toEqual([
        {
          kind: 'UPDATED',
          sessionId: expect.any(String),
          userId: 'u1',
          at,
          entry: { ...state, sessions: 2, since: early.since },
        },
      ]);
    },
  );
});

describe('presence events on one instance', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t?.close());

  it('announces every spaced state change once and in order, to lean and full widgets alike', async () => {
    const { listId, itemId } = await board(t);
    const lean = (await connect(t, OWNER)).subscribe(Lean, { listId });
    expect((await lean.next()).presence.kind).toBe('SNAPSHOT');
    const full = (await connect(t, OWNER)).subscribe(Full, { listId });
    expect((await full.next()).presence.kind).toBe('SNAPSHOT');
    expect((await lean.next()).presence).toMatchObject({ kind: 'UPDATED', entry: { sessions: 2 } });
    const editor = (await connect(t, EDITOR)).subscribe(Lean, { listId });
    await editor.next();
    for (const w of [lean, full]) expect((await w.next()).presence.kind).toBe('JOINED');

    for (let i = 0; i < 6; i++) {
      const input =
        i % 3 === 2
          ? { listId, status: 'VIEWING' as const }
          : { listId, status: 'EDITING' as const, itemId, field: `f${i}` };
      expect((await t.ok(SetPresence, { input }, EDITOR)).setPresence.sessions).toBe(1);
      const want = { user: { email: EDITOR }, status: input.status, field: input.field ?? null, sessions: 1 };
      expect((await lean.next()).presence).toEqual({ kind: 'UPDATED', snapshot: null, entry: want });
      const shown = (await full.next()).presence;
      expect(shown).toMatchObject({ kind: 'UPDATED', entry: want });
      expect(byEmail(shown.roster).get(EDITOR)).toEqual(want);
      expect(shown.roster).toHaveLength(2);
      // setPresence announces one user's changes at most every 100 ms.
      await sleep(120);
    }
    await lean.nothingFor(150);
  });

  it('keeps a lean widget’s roster equal to the store’s after many changes, joins and leaves', async () => {
    const { listId, itemId } = await board(t);
    const watch = (await connect(t, OWNER)).subscribe(Lean, { listId });
    const first = (await watch.next()).presence;
    const seen = byEmail(first.snapshot ?? []);
    const editorTabs = [await connect(t, EDITOR), await connect(t, EDITOR)];
    const passer = await connect(t, PASSER);
    const open = editorTabs.map((c) => c.subscribe(Lean, { listId }));
    for (const s of open) await s.next();
    for (let i = 0; i < 30; i++) {
      const input =
        i % 4 === 3
          ? { listId, status: 'VIEWING' as const }
          : { listId, status: 'EDITING' as const, itemId, field: `f${i}` };
      await t.ok(SetPresence, { input }, EDITOR);
      if (i === 10) await passer.subscribe(Lean, { listId }).next();
      if (i === 20) open[1]?.dispose();
      await sleep(i % 5 === 0 ? 110 : 10);
    }
    // The throttled last state goes out within 100 ms; let every event drain.
    await sleep(300);
    while (true) {
      try {
        const { kind, entry } = (await watch.next(300)).presence;
        fold(seen, kind, entry);
      } catch {
        break;
      }
    }
    // A second tab of the owner reads the roster afresh; in it the owner counts that tab too.
    const fresh = byEmail((await (await connect(t, OWNER)).subscribe(Lean, { listId }).next()).presence.snapshot ?? []);
    expect(fresh.get(OWNER)).toMatchObject({ sessions: 2 });
    fresh.set(OWNER, { ...(fresh.get(OWNER) as Entry), sessions: 1 });
    expect(Object.fromEntries(seen)).toEqual(Object.fromEntries(fresh));
    expect(fresh.get(EDITOR)).toEqual({
      user: { email: EDITOR },
      status: 'EDITING',
      field: 'f29',
      sessions: 1,
    });
    expect(fresh.get(PASSER)).toMatchObject({ status: 'VIEWING', sessions: 1 });
  });
});

describe('presence events across two instances', async () => {
  const available = await servicesAvailable();
  let both: TwoInstances | undefined;
  beforeAll(async () => {
    if (available) both = await startTwoInstances();
  });
  afterAll(async () => both?.close());

  it.skipIf(!available)(
    'shows a change made on A, of tabs on A and B, to watchers on B with the right entry and roster',
    async () => {
      const { a, b } = both as TwoInstances;
      const { listId, itemId } = await board(a);
      const lean = (await connect(b, OWNER)).subscribe(Lean, { listId });
      await lean.next();
      const full = (await connect(b, PASSER)).subscribe(Full, { listId });
      await full.next();
      await lean.next();
      const onA = (await connect(a, EDITOR)).subscribe(Lean, { listId });
      await onA.next();
      const onB = (await connect(b, EDITOR)).subscribe(Lean, { listId });
      await onB.next();
      for (const w of [lean, full]) {
        expect((await w.next()).presence).toMatchObject({ kind: 'JOINED', entry: { sessions: 1 } });
        expect((await w.next()).presence).toMatchObject({ kind: 'UPDATED', entry: { sessions: 2 } });
      }

      const set = await a.ok(SetPresence, { input: { listId, status: 'EDITING', itemId, field: 'title' } }, EDITOR);
      expect(set.setPresence.sessions).toBe(2);
      const want = { user: { email: EDITOR }, status: 'EDITING', field: 'title', sessions: 2 };
      expect((await lean.next()).presence).toEqual({ kind: 'UPDATED', snapshot: null, entry: want });
      const shown = (await full.next()).presence;
      expect(shown.entry).toEqual(want);
      expect(shown.roster.map((e) => e.user?.email).sort()).toEqual([EDITOR, OWNER, PASSER].sort());
      expect(byEmail(shown.roster).get(EDITOR)).toEqual(want);

      onA.dispose();
      expect((await lean.next()).presence).toEqual({
        kind: 'UPDATED',
        snapshot: null,
        entry: { ...want, sessions: 1 },
      });
      onB.dispose();
      expect((await lean.next()).presence).toMatchObject({ kind: 'LEFT', entry: { user: { email: EDITOR } } });
      const left = (await full.next()).presence;
      expect(left.kind).toBe('UPDATED');
      const gone = (await full.next()).presence;
      expect(gone.kind).toBe('LEFT');
      expect(gone.roster.map((e) => e.user?.email).sort()).toEqual([OWNER, PASSER].sort());
    },
  );
});
