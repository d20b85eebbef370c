import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { connectWs } from '../helpers/ws.ts';

// The sidebar of an SPA: ten workspaces, five lists each, three items each.
const Sidebar = graphql(`
  query Cx_Sidebar($accountId: ID!) {
    workspaces(accountId: $accountId, first: 10) {
      edges { node { id name lists(first: 5) { edges { node { id name items(first: 3) { edges { node { id title } } } } } } } }
    }
  }
`);
// The README's queries.
const ReadmeMe = graphql(`
  query Cx_ReadmeMe { me { email accounts { role account { id name } } } }
`);
const ReadmeCreateWorkspace = graphql(`
  mutation Cx_ReadmeCreateWorkspace($accountId: ID!) {
    createWorkspace(input: { accountId: $accountId, name: "Marketing" }) {
      ... on CreateWorkspacePayload { workspace { id name viewerRole } }
      ... on Error { code message }
    }
  }
`);
const ReadmePresence = graphql(`
  subscription Cx_ReadmePresence($listId: ID!) {
    presence(listId: $listId) { kind roster { user { name } status itemId sessions } }
  }
`);
const ReadmeListEvents = graphql(`
  subscription Cx_ReadmeListEvents($listId: ID!) {
    listEvents(listId: $listId) { __typename ... on ItemUpdated { changedFields item { title } } }
  }
`);
// A million items: a hundred workspaces of a hundred lists of a hundred items.
const Million = graphql(`
  query Cx_Million($accountId: ID!, $n: Int!) {
    workspaces(accountId: $accountId, first: $n) {
      edges { node { lists(first: $n) { edges { node { items(first: $n) { edges { node { id title } } } } } } } }
    }
  }
`);
const CreateAccount = graphql(`
  mutation Cx_CreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { account { id } } }
  }
`);
const CreateList = graphql(`
  mutation Cx_CreateList($input: CreateListInput!) {
    createList(input: $input) { __typename ... on CreateListPayload { list { id } } }
  }
`);

const ADA = 'ada@complexity.test';

describe('complexity counts list sizes (the default QUERY_MAX_COST)', () => {
  let t: TestServer;
  let accountId: string;
  let listId: string;
  beforeAll(async () => {
    t = await startTestServer();
    const a = (await t.ok(CreateAccount, { input: { name: 'Cx' } }, ADA)).createAccount;
    accountId = a.__typename === 'CreateAccountPayload' ? a.account.id : '';
    const w = (await t.ok(ReadmeCreateWorkspace, { accountId }, ADA)).createWorkspace;
    const workspaceId = 'workspace' in w ? w.workspace.id : '';
    const l = (await t.ok(CreateList, { input: { workspaceId, name: 'Pipeline' } }, ADA)).createList;
    listId = l.__typename === 'CreateListPayload' ? l.list.id : '';
  });
  afterAll(() => t?.close());

  it("runs the sidebar query and the README's queries", async () => {
    const sidebar = await t.gql(Sidebar, { accountId }, ADA);
    expect(sidebar.errors).toBeUndefined();
    expect(sidebar.data?.workspaces.edges[0]?.node.lists?.edges[0]?.node.name).toBe('Pipeline');
    expect((await t.gql(ReadmeMe, {}, ADA)).errors).toBeUndefined();
    expect((await t.gql(ReadmeCreateWorkspace, { accountId }, ADA)).errors).toBeUndefined();
    const ws = connectWs(t.server.url, await t.token(ADA));
    try {
      const presence = ws.subscribe(ReadmePresence, { listId });
      expect((await presence.next()).presence.kind).toBe('SNAPSHOT');
      const events = ws.subscribe(ReadmeListEvents, { listId });
      expect((await events.next()).listEvents.__typename).toBe('ListEventsSubscribed');
    } finally {
      await ws.dispose();
    }
  });

  it('refuses a million nodes before execution with no SQL statement, over HTTP and WS', async () => {
    await t.gql(ReadmeMe, {}, ADA); // the viewer is remembered: the refusal alone is measured
    const before = t.server.database.statements();
    const refused = await t.gql(Million, { accountId, n: 100 }, ADA);
    expect(t.server.database.statements() - before).toBe(0);
    expect(refused.status).toBe(400);
    expect(refused.data).toBeUndefined();
    // 1 + 100 × (edges, node, lists + 100 × (edges, node, items + 100 × (edges, node, id, title))).
    expect(refused.errors?.[0]?.message).toMatch(/complexity limit of 20000 exceeded, found 4030301 /);
    expect(refused.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    // A malformed id, which the plugin cannot decode, is no way around the count.
    const sneaky = await t.gql(Million, { accountId: 'not-an-id', n: 100 }, ADA);
    expect(sneaky.status).toBe(400);
    expect(sneaky.errors?.[0]?.message).toMatch(/complexity limit of 20000 exceeded, found 4030301 /);
    // The same document with small pages runs: the cost follows the variables.
    expect((await t.gql(Million, { accountId, n: 5 }, ADA)).errors).toBeUndefined();

    const ws = connectWs(t.server.url, await t.token(ADA));
    try {
      const sub = ws.subscribe(Million, { accountId, n: 100 });
      const { error } = await sub.closed;
      expect(JSON.stringify(error)).toMatch(/complexity limit of 20000 exceeded/);
    } finally {
      await ws.dispose();
    }
  });
});
