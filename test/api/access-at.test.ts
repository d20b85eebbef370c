import { setTimeout as sleep } from 'node:timers/promises';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { missingId, raw } from '../helpers/world.ts';

// accessAt: a history of grants and revocations built through the API, every kind of access
// change in turn; after each step every person's live explainAccess on every resource is recorded
// with the instants around it. Then, for every recorded instant, accessAt must answer exactly what
// was live then: role, each decision and every reason.

const EXPLAINED =
  'resourceType role user { id } decisions { question allowed reasons { rule effect detail expiresAt } }';
const LIVE = `query AtLive($r: ID!, $u: ID) { explainAccess(resourceId: $r, userId: $u) { ${EXPLAINED} } }`;
const PAST = `query AtPast($r: ID!, $u: ID!, $at: DateTime!) { accessAt(resourceId: $r, userId: $u, at: $at) { ${EXPLAINED} at } }`;

interface Explained {
  role: string | null;
  decisions: { question: string; allowed: boolean }[];
  at?: string;
}

let t: TestServer;
const h = () => listHelpers(t);
const ADMIN = 'admin@at.test';
const OWNER = 'owner@at.test';
const PAT = 'pat@at.test';
const GIL = 'gil@at.test';
const GUS = 'gus@elsewhere.test';
const ids: Record<string, string> = {};

async function mutate(name: string, input: Record<string, unknown>, as: string, select = ''): Promise<unknown> {
  const inputType = `${name[0]?.toUpperCase()}${name.slice(1)}Input`;
  const res = await raw(
    t,
    `mutation($input: ${inputType}!) { r: ${name}(input: $input) { __typename ... on Error { code message } ${select} } }`,
    { input },
    as,
  );
  const r = (res.data as { r?: { __typename: string; code?: string } } | null)?.r;
  if (res.errors || !r || r.code) throw new Error(`${name} failed: ${JSON.stringify(res)}`);
  return r;
}

async function live(resourceId: string, userId: string): Promise<Explained | null> {
  const res = await raw(t, LIVE, { r: resourceId, u: userId }, ADMIN);
  expect(res.errors).toBeUndefined();
  return (res.data as { explainAccess: Explained | null }).explainAccess;
}

async function past(resourceId: string, userId: string, at: Date, as = ADMIN) {
  return raw(t, PAST, { r: resourceId, u: userId, at: at.toISOString() }, as);
}

async function pastOk(resourceId: string, userId: string, at: Date, as = ADMIN): Promise<Explained | null> {
  const res = await past(resourceId, userId, at, as);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  const answer = (res.data as { accessAt: Explained | null }).accessAt;
  if (answer) {
    expect(answer.at).toBe(at.toISOString());
    delete answer.at;
  }
  return answer;
}

/** Where two answers part: the role, or the first decision that differs. */
function differs(live: Explained | null, past: Explained | null): string {
  if (!live || !past || live.role !== past.role) return `role live ${live?.role} past ${past?.role}`;
  const i = live.decisions.findIndex((d, k) => JSON.stringify(d) !== JSON.stringify(past.decisions[k]));
  return `live ${JSON.stringify(live.decisions[i])} past ${JSON.stringify(past.decisions[i])}`;
}

/** One observation: every person's live answer on every resource, and the instants it held at. */
interface Observation {
  step: string;
  instants: Date[];
  answers: Map<string, Explained | null>;
}

beforeAll(async () => {
  t = await startTestServer();
  ids.account = await h().account(ADMIN, [OWNER, PAT, GIL], [GUS]);
  for (const [k, email] of Object.entries({ admin: ADMIN, owner: OWNER, pat: PAT, gil: GIL, gus: GUS }))
    ids[k] = await h().userId(email);
  ids.workspace = (await h().workspace(ids.account, OWNER, 'CLOSED')).id;
  ids.l1 = await h().list(ids.workspace, OWNER, 'SHAREABLE', 'Deals');
  ids.l2 = await h().list(ids.workspace, OWNER, 'MAIN', 'Board');
  const group = (await mutate(
    'createGroup',
    { accountId: ids.account, name: 'Sales' },
    ADMIN,
    '... on CreateGroupPayload { group { id } }',
  )) as { group: { id: string } };
  ids.group = group.group.id;
  await mutate('addGroupMember', { groupId: ids.group, userId: ids.gil }, ADMIN);
  const right = (await mutate(
    'createRight',
    { accountId: ids.account, name: 'Approver' },
    ADMIN,
    '... on CreateRightPayload { right { id } }',
  )) as { right: { id: string } };
  ids.right = right.right.id;
  // Non-admins share only rights they hold.
  await mutate('grantRight', { rightId: ids.right, userId: ids.owner }, ADMIN);
  await h().share(OWNER, { listId: ids.l2 as string, role: 'CO_OWNER', rightId: ids.right });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('accessAt against the live answers of a recorded history', () => {
  const observations: Observation[] = [];
  const subjects = () => [ids.pat, ids.gil, ids.gus] as string[];
  const resources = () => [ids.account, ids.workspace, ids.l1, ids.l2] as string[];

  /** Records every live answer, with an instant just before and just after, a few ms from any change. */
  async function observe(step: string): Promise<Observation> {
    await sleep(3);
    const first = new Date();
    await sleep(2);
    const answers = new Map<string, Explained | null>();
    for (const r of resources()) for (const u of subjects()) answers.set(`${u}|${r}`, await live(r, u));
    await sleep(2);
    const last = new Date();
    await sleep(3);
    const obs = {
      step,
      instants: [first, new Date(Math.floor((first.getTime() + last.getTime()) / 2)), last],
      answers,
    };
    observations.push(obs);
    return obs;
  }

  /** Every recorded answer that accessAt, asked by an admin at its instants, does not give back. */
  async function mismatches(of: Observation[], only?: string): Promise<string[]> {
    const wrong: string[] = [];
    for (const obs of of) {
      for (const at of obs.instants) {
        const pairs = [...obs.answers].filter(([pair]) => !only || pair.startsWith(`${only}|`));
        const got = await Promise.all(
          pairs.map(([pair]) => pastOk(pair.split('|')[1] ?? '', pair.split('|')[0] ?? '', at)),
        );
        pairs.forEach(([pair, expected], i) => {
          if (JSON.stringify(got[i]) !== JSON.stringify(expected))
            wrong.push(`${obs.step} @${at.toISOString()} ${pair}: ${differs(expected, got[i] ?? null)}`);
        });
      }
    }
    return wrong;
  }

  it('builds the history through the API, each step changing some answer', async () => {
    let share = '';
    let ends = new Date();
    const steps: [string, () => Promise<unknown>][] = [
      [
        'share with pat (EDITOR)',
        async () => {
          share = await h().share(OWNER, { listId: ids.l1 as string, role: 'EDITOR', userId: ids.pat });
        },
      ],
      ["pat's share becomes CO_OWNER", () => mutate('updateShare', { shareId: share, role: 'CO_OWNER' }, OWNER)],
      [
        'share with the group (gil)',
        () => h().share(OWNER, { listId: ids.l1 as string, role: 'VIEWER', groupId: ids.group }),
      ],
      [
        'an expiring share with the guest',
        () => {
          ends = new Date(Date.now() + 4000);
          return mutate('shareList', { listId: ids.l1, role: 'VIEWER', userId: ids.gus, expiresAt: ends }, OWNER);
        },
      ],
      ["the guest's share has ended", () => sleep(Math.max(0, ends.getTime() - Date.now()) + 50)],
      ['gil leaves the group', () => mutate('removeGroupMember', { groupId: ids.group, userId: ids.gil }, ADMIN)],
      ['pat joins the group', () => mutate('addGroupMember', { groupId: ids.group, userId: ids.pat }, ADMIN)],
      ['gil is granted the right', () => mutate('grantRight', { rightId: ids.right, userId: ids.gil }, ADMIN)],
      ['the right is taken back from gil', () => mutate('revokeRight', { rightId: ids.right, userId: ids.gil }, ADMIN)],
      ['the workspace opens', () => mutate('updateWorkspace', { workspaceId: ids.workspace, type: 'OPEN' }, OWNER)],
      ['gil joins the workspace', () => mutate('joinWorkspace', { workspaceId: ids.workspace }, GIL)],
      [
        'pat becomes an account admin',
        () => mutate('setAccountMemberRole', { accountId: ids.account, userId: ids.pat, role: 'ADMIN' }, ADMIN),
      ],
      [
        'the list is shared with the whole account',
        () => mutate('setListGeneralAccess', { listId: ids.l1, access: 'GLOBAL', role: 'VIEWER' }, ADMIN),
      ],
      [
        'the list is open by link only',
        () =>
          mutate(
            'setListGeneralAccess',
            { listId: ids.l1, access: 'ANYONE_WITH_LINK', linkExpiresAt: new Date(Date.now() + 3_600_000) },
            ADMIN,
          ),
      ],
      [
        'the account lets only admins comment',
        () =>
          mutate(
            'setAccountPolicy',
            { accountId: ids.account, caps: [{ action: 'COMMENT', roles: ['ADMIN'] }] },
            ADMIN,
          ),
      ],
      ["pat's share is removed", () => mutate('removeShare', { shareId: share }, OWNER)],
      [
        'gil is removed from the account',
        () => mutate('removeAccountMember', { accountId: ids.account, userId: ids.gil }, ADMIN),
      ],
      [
        'the workspace becomes private',
        () => mutate('updateWorkspace', { workspaceId: ids.workspace, type: 'PRIVATE' }, OWNER),
      ],
      ['the board is deleted', () => mutate('deleteList', { listId: ids.l2 }, OWNER)],
    ];
    await observe('setup');
    for (const [step, change] of steps) {
      await change();
      const obs = await observe(step);
      // The instants recorded while the guest's share held must all be before its end.
      if (step === 'an expiring share with the guest')
        expect(obs.instants.at(-1)?.getTime()).toBeLessThan(ends.getTime());
    }

    // The history is no flat line: every step changed what some person could do somewhere.
    const unchanged = observations
      .slice(1)
      .filter((o, i) => JSON.stringify([...o.answers]) === JSON.stringify([...(observations[i]?.answers ?? [])]))
      .map((o) => o.step);
    expect(unchanged).toEqual([]);
    expect(observations.at(-1)?.answers.get(`${ids.pat}|${ids.l2}`)).toBeNull();
  }, 120_000);

  it('answers, at every recorded instant, exactly what was live then', async () => {
    expect(observations.length).toBe(20);
    expect(observations.map((o) => o.step)).toContain("the guest's share has ended");
    const wrong = await mismatches(observations);
    expect(wrong.length, wrong.slice(0, 5).join('\n')).toBe(0);
  }, 300_000);

  it('answers the person asked about where they could see the resource then, and nobody else', async () => {
    // Gus is a guest, Gil has left the account since: neither is an admin today.
    const people = [
      [GUS, ids.gus],
      [GIL, ids.gil],
    ] as [string, string][];
    const wrong: string[] = [];
    let answered = 0;
    for (const obs of observations) {
      const at = obs.instants[1] as Date;
      for (const r of resources()) {
        for (const [email, userId] of people) {
          const expected = obs.answers.get(`${userId}|${r}`) ?? null;
          const saw =
            decodeGlobalID(r).typename === 'Workspace'
              ? expected?.decisions.find((d) => d.question === 'workspace:see')?.allowed
              : expected?.role != null;
          const own = await pastOk(r, userId, at, email);
          if (own) answered++;
          if (JSON.stringify(own) !== JSON.stringify(saw ? expected : null)) wrong.push(`${obs.step} ${email} on ${r}`);
        }
        // The owner of the workspace is no admin of the account: other people's past is not theirs to read.
        expect(await pastOk(r, ids.gil as string, at, OWNER)).toBeNull();
        expect(await pastOk(r, ids.gil as string, at, GUS)).toBeNull();
      }
    }
    expect(wrong).toEqual([]);
    expect(answered).toBeGreaterThan(10);
  }, 120_000);

  it("keeps an anonymised person's past for the admins, without their personal data", async () => {
    await mutate('anonymizeUser', { userId: ids.gus }, ADMIN);
    const after = await observe('gus is anonymised');
    expect(after.answers.get(`${ids.gus}|${ids.account}`)?.role).toBeNull();
    expect(observations.at(-2)?.answers.get(`${ids.gus}|${ids.account}`)?.role).toBe('GUEST');
    expect(await mismatches(observations, ids.gus)).toEqual([]);
  }, 120_000);
});

describe('what accessAt refuses', () => {
  it('an instant in the future, or before the history began, is a VALIDATION error on `at`', async () => {
    for (const at of [new Date(Date.now() + 60_000), new Date('2001-01-01T00:00:00.000Z')]) {
      const res = await past(ids.l1 as string, ids.pat as string, at);
      expect(res.errors?.map((e) => [e.extensions?.code, e.extensions?.path])).toEqual([['VALIDATION', ['at']]]);
      expect((res.data as { accessAt: unknown } | null)?.accessAt ?? null).toBeNull();
    }
  });

  it('a resource the asker may not ask about answers like an id that names nothing', async () => {
    const at = new Date();
    for (const as of [OWNER, GIL, 'outsider@elsewhere.test']) {
      for (const r of [ids.account, ids.workspace, ids.l1] as string[]) {
        const type = decodeGlobalID(r).typename;
        const real = await past(r, ids.pat as string, at, as);
        const none = await past(missingId(type), ids.pat as string, at, as);
        expect(real).toEqual(none);
        expect(real.data).toEqual({ accessAt: null });
      }
    }
  });

  it('a list or workspace that did not exist yet answers null, as explainAccess did then', async () => {
    const created = await h().list(ids.workspace as string, OWNER, 'MAIN', 'Later');
    const row = await t.server.services.db.auditFact.findFirst({
      where: { kind: 'List', key: decodeGlobalID(created).id },
      orderBy: { seq: 'asc' },
    });
    expect(row).not.toBeNull();
    const before = new Date((row?.createdAt.getTime() ?? 0) - 1);
    expect(await pastOk(created, ids.owner as string, before)).toBeNull();
    expect((await pastOk(created, ids.owner as string, new Date()))?.role).toBe('CREATOR');
  });
});

describe('what the history keeps', () => {
  it('ids, roles and dates only: no address or name of anyone', async () => {
    const facts = await t.server.services.db.auditFact.findMany({ select: { state: true, key: true, scope: true } });
    expect(facts.length).toBeGreaterThan(20);
    const text = JSON.stringify(facts);
    for (const word of [ADMIN, OWNER, PAT, GIL, GUS, 'Deals', 'Board', 'Sales', '@']) expect(text).not.toContain(word);
  });

  it('answers in a bounded number of statements', async () => {
    const at = new Date();
    const count = async (ask: () => Promise<unknown>) => {
      const before = t.server.database.statements();
      await ask();
      return t.server.database.statements() - before;
    };
    const baseline = await count(() => raw(t, '{ me { id } }', {}, ADMIN));
    // The resource and its account, the asker's standing, the facts of then (a workspace's lists and shares in one statement).
    expect(await count(() => pastOk(ids.workspace as string, ids.pat as string, at))).toBeLessThanOrEqual(baseline + 4);
  });
});
