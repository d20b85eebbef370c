import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Access revisions on one instance (the two-instance contract is in test/realtime/access-revision):
// without Redis the instance counts its own writes; with the response cache off no bus vouches
// for anything, so a revision handed back makes the request bypass every cache.

const ItemsAt = graphql(`
  query ArApiItems($id: ID!, $minRevision: String) {
    list(id: $id, minRevision: $minRevision) { id items(first: 5) { edges { node { title } } } }
  }
`);
const MeAt = graphql(`
  query ArApiMe($minRevision: String) { me(minRevision: $minRevision) { email } }
`);
const CreateItemRev = graphql(`
  mutation ArApiCreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { accessRevision } ... on Error { code message } }
  }
`);
const CreateAccountRev = graphql(`
  mutation ArApiCreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { accessRevision } }
  }
`);

async function revisionOf(t: TestServer, listId: string, as: string, title: string): Promise<string> {
  const res = await t.ok(CreateItemRev, { input: { listId, title } }, as);
  if (res.createItem.__typename !== 'CreateItemPayload') throw new Error(JSON.stringify(res));
  return res.createItem.accessRevision;
}

describe('access revisions on one instance without Redis', () => {
  let t: TestServer;
  const owner = 'owner@ar-api.test';
  let listId = '';
  beforeAll(async () => {
    t = await startTestServer({ env: { REDIS_URL: '' } });
    const lists = listHelpers(t);
    const accountId = await lists.account(owner);
    const ws = await lists.workspace(accountId, owner, 'OPEN');
    listId = await lists.list(ws.id, owner, 'MAIN');
  });
  afterAll(async () => t?.close());

  it('counts its writes: each mutation hands out a later revision, served at once', async () => {
    const first = await revisionOf(t, listId, owner, 'One');
    const second = await revisionOf(t, listId, owner, 'Two');
    const [epoch1, n1] = first.split('.');
    const [epoch2, n2] = second.split('.');
    expect(epoch2).toBe(epoch1);
    expect(Number(n2)).toBeGreaterThan(Number(n1));
    const read = await t.ok(ItemsAt, { id: listId, minRevision: second }, owner);
    expect(read.list?.items.edges.map((e) => e.node.title)).toEqual(expect.arrayContaining(['One', 'Two']));
    // A mutation that is not about lists carries one too.
    const account = await t.ok(CreateAccountRev, { input: { name: 'Other' } }, owner);
    expect(account.createAccount.__typename === 'CreateAccountPayload' && account.createAccount.accessRevision).toMatch(
      /^[0-9a-z]+\.\d+$/,
    );
  });

  it('refuses a revision ahead of every write (VALIDATION), and accepts one of a restarted instance', async () => {
    const [epoch, n] = (await revisionOf(t, listId, owner, 'Three')).split('.');
    const ahead = await t.gql(MeAt, { minRevision: `${epoch}.${Number(n) + 10}` }, owner);
    expect(ahead.errors?.[0]?.extensions?.code).toBe('VALIDATION');
    expect(ahead.errors?.[0]?.extensions?.path).toEqual(['minRevision']);
    // Another epoch is a counter this instance no longer knows (it restarted): everything it keeps is newer.
    const other = await t.gql(MeAt, { minRevision: 'abcdef12.99' }, owner);
    expect(other.errors).toBeUndefined();
    expect(other.data?.me?.email).toBe(owner);
  });
});

describe('access revisions with the response cache off', () => {
  let t: TestServer;
  const owner = 'owner@ar-api-off.test';
  let listId = '';
  beforeAll(async () => {
    t = await startTestServer({ env: { RESPONSE_CACHE: 'false' } });
    const lists = listHelpers(t);
    const accountId = await lists.account(owner);
    const ws = await lists.workspace(accountId, owner, 'OPEN');
    listId = await lists.list(ws.id, owner, 'MAIN');
  });
  afterAll(async () => t?.close());

  it('hands out revisions that no cache vouches for; they are accepted, malformed ones are not', async () => {
    const revision = await revisionOf(t, listId, owner, 'Off');
    expect(revision).toMatch(/^none\.\d+$/);
    const read = await t.ok(ItemsAt, { id: listId, minRevision: revision }, owner);
    expect(read.list?.items.edges.map((e) => e.node.title)).toContain('Off');
    const bad = await t.gql(ItemsAt, { id: listId, minRevision: 'not a revision' }, owner);
    expect(bad.errors?.[0]?.extensions?.code).toBe('VALIDATION');
  });
});
