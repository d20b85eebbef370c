import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const Me = graphql(`
  query Me {
    me { id email name }
  }
`);

const CreateAccount = graphql(`
  mutation CreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) {
      __typename
      ... on CreateAccountPayload { account { id name viewerRole } }
      ... on ValidationError { path }
      ... on Error { code message }
    }
  }
`);

const AddAccountMember = graphql(`
  mutation AddAccountMember($input: AddAccountMemberInput!) {
    addAccountMember(input: $input) {
      __typename
      ... on AddAccountMemberPayload { member { role user { email } } }
      ... on Error { code message }
    }
  }
`);

const CreateWorkspace = graphql(`
  mutation CreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) {
      __typename
      ... on CreateWorkspacePayload { workspace { id name type viewerRole } }
      ... on ValidationError { path }
      ... on Error { code message }
    }
  }
`);

const Workspaces = graphql(`
  query Workspaces($accountId: ID!, $first: Int, $after: String) {
    workspaces(accountId: $accountId, first: $first, after: $after) {
      edges { node { id name type viewerRole } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

const Node = graphql(`
  query Node($id: ID!) {
    node(id: $id) {
      __typename
      id
      ... on Workspace { name }
      ... on Account { name }
    }
  }
`);

const ADMIN = 'admin@acme.test';
const MEMBER = 'member@acme.test';
const OUTSIDER = 'outsider@other.test';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

async function newAccount(as = ADMIN, name = 'Acme') {
  const res = await t.ok(CreateAccount, { input: { name } }, as);
  if (res.createAccount.__typename !== 'CreateAccountPayload') throw new Error('account not created');
  return res.createAccount.account.id;
}

async function countRows() {
  const db = t.server.services.db;
  const [accounts, workspaces, members, audit] = await Promise.all([
    db.account.count(),
    db.workspace.count(),
    db.workspaceMember.count(),
    db.auditEvent.count(),
  ]);
  return { accounts, workspaces, members, audit };
}

describe('identity', () => {
  it('answers me as null when anonymous', async () => {
    expect(await t.gql(Me)).toMatchObject({ status: 200, data: { me: null } });
  });

  it('provisions the user of a valid token on first sight', async () => {
    const res = await t.ok(Me, {}, 'newcomer@acme.test');
    expect(res.me?.email).toBe('newcomer@acme.test');
    const again = await t.ok(Me, {}, 'newcomer@acme.test');
    expect(again.me?.id).toBe(res.me?.id);
  });

  it('refuses a malformed token with a 401-style error', async () => {
    const res = await t.gql(Me, {}, 'not-a-jwt');
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.errors?.[0]?.message).toMatch(/invalid/i);
  });

  it('refuses an expired token with a 401-style error saying so', async () => {
    const expired = await t.token('late@acme.test', Math.floor(Date.now() / 1000) - 60);
    const res = await t.gql(Me, {}, expired);
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.message).toMatch(/expired/i);
  });

  it('refuses a token signed with another secret', async () => {
    const { signToken } = await import('../../src/auth/jwt.ts');
    const forged = await signToken('another-secret-another-secret-0123456789', { email: ADMIN });
    const res = await t.gql(Me, {}, forged);
    expect(res.status).toBe(401);
  });
});

describe('accounts and workspaces (the thin slice)', () => {
  it('creates an account with the viewer as admin, audited', async () => {
    const before = await countRows();
    const res = await t.ok(CreateAccount, { input: { name: '  Acme  ' } }, ADMIN);
    expect(res.createAccount).toMatchObject({
      __typename: 'CreateAccountPayload',
      account: { name: 'Acme', viewerRole: 'ADMIN' },
    });
    const after = await countRows();
    expect(after.accounts).toBe(before.accounts + 1);
    expect(after.audit).toBe(before.audit + 1);
  });

  it('refuses an empty account name with a ValidationError naming the field, writing nothing', async () => {
    const before = await countRows();
    const res = await t.ok(CreateAccount, { input: { name: '   ' } }, ADMIN);
    expect(res.createAccount).toMatchObject({
      __typename: 'ValidationError',
      code: 'VALIDATION',
      path: ['input', 'name'],
    });
    expect(await countRows()).toEqual(before);
  });

  it('refuses anonymous mutations', async () => {
    const res = await t.gql(CreateAccount, { input: { name: 'Nope' } });
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses to demote the last admin with LastOwnerError, changing nothing', async () => {
    const accountId = await newAccount(ADMIN, 'Solo');
    const demoted = await t.ok(AddAccountMember, { input: { accountId, email: ADMIN, role: 'MEMBER' } }, ADMIN);
    expect(demoted.addAccountMember).toMatchObject({ __typename: 'LastOwnerError', code: 'LAST_OWNER' });
    await t.ok(AddAccountMember, { input: { accountId, email: 'second@acme.test', role: 'ADMIN' } }, ADMIN);
    const now = await t.ok(AddAccountMember, { input: { accountId, email: ADMIN, role: 'MEMBER' } }, ADMIN);
    expect(now.addAccountMember).toMatchObject({ __typename: 'AddAccountMemberPayload', member: { role: 'MEMBER' } });
  });

  it('lets admins add members and nobody else', async () => {
    const accountId = await newAccount();
    const added = await t.ok(AddAccountMember, { input: { accountId, email: MEMBER, role: 'MEMBER' } }, ADMIN);
    expect(added.addAccountMember).toMatchObject({ member: { role: 'MEMBER', user: { email: MEMBER } } });

    const byMember = await t.ok(
      AddAccountMember,
      { input: { accountId, email: 'x@acme.test', role: 'ADMIN' } },
      MEMBER,
    );
    expect(byMember.addAccountMember).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });

    const byOutsider = await t.ok(
      AddAccountMember,
      { input: { accountId, email: 'x@acme.test', role: 'ADMIN' } },
      OUTSIDER,
    );
    expect(byOutsider.addAccountMember).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });

    const badEmail = await t.ok(
      AddAccountMember,
      { input: { accountId, email: 'not an email', role: 'MEMBER' } },
      ADMIN,
    );
    expect(badEmail.addAccountMember).toMatchObject({ __typename: 'ValidationError' });
  });

  it('creates workspaces where the account allows, and lists what the viewer may see', async () => {
    const accountId = await newAccount();
    await t.ok(AddAccountMember, { input: { accountId, email: MEMBER, role: 'MEMBER' } }, ADMIN);

    const open = await t.ok(CreateWorkspace, { input: { accountId, name: 'Sales' } }, MEMBER);
    expect(open.createWorkspace).toMatchObject({ workspace: { name: 'Sales', type: 'OPEN', viewerRole: 'OWNER' } });
    const hidden = await t.ok(CreateWorkspace, { input: { accountId, name: 'Board', type: 'PRIVATE' } }, ADMIN);
    expect(hidden.createWorkspace).toMatchObject({ workspace: { type: 'PRIVATE', viewerRole: 'OWNER' } });

    const asMember = await t.ok(Workspaces, { accountId }, MEMBER);
    expect(asMember.workspaces.edges.map((e) => e.node.name)).toEqual(['Sales']);
    const asAdmin = await t.ok(Workspaces, { accountId }, ADMIN);
    expect(asAdmin.workspaces.edges.map((e) => [e.node.name, e.node.viewerRole])).toEqual([
      ['Sales', 'NON_MEMBER'],
      ['Board', 'OWNER'],
    ]);
    const asOutsider = await t.ok(Workspaces, { accountId }, OUTSIDER);
    expect(asOutsider.workspaces.edges).toEqual([]);

    const page1 = await t.ok(Workspaces, { accountId, first: 1 }, ADMIN);
    expect(page1.workspaces.edges).toHaveLength(1);
    expect(page1.workspaces.pageInfo.hasNextPage).toBe(true);
    const page2 = await t.ok(Workspaces, { accountId, first: 1, after: page1.workspaces.pageInfo.endCursor }, ADMIN);
    expect(page2.workspaces.edges.map((e) => e.node.name)).toEqual(['Board']);
  });

  it('honours workspaceCreators = ADMINS_ONLY', async () => {
    const accountId = await newAccount();
    await t.ok(AddAccountMember, { input: { accountId, email: MEMBER, role: 'MEMBER' } }, ADMIN);
    const { id } = await t.server.services.db.account.findFirstOrThrow({
      where: { name: 'Acme' },
      orderBy: { id: 'desc' },
    });
    await t.server.services.db.account.update({ where: { id }, data: { workspaceCreators: 'ADMINS_ONLY' } });
    const before = await countRows();
    const res = await t.ok(CreateWorkspace, { input: { accountId, name: 'Nope' } }, MEMBER);
    expect(res.createWorkspace).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
    expect(await countRows()).toEqual(before);
    const byAdmin = await t.ok(CreateWorkspace, { input: { accountId, name: 'Yes' } }, ADMIN);
    expect(byAdmin.createWorkspace.__typename).toBe('CreateWorkspacePayload');
  });

  it('resolves node(id) for what the viewer may see and null for the rest', async () => {
    const accountId = await newAccount();
    const ws = await t.ok(CreateWorkspace, { input: { accountId, name: 'Secret', type: 'PRIVATE' } }, ADMIN);
    if (ws.createWorkspace.__typename !== 'CreateWorkspacePayload') throw new Error('no workspace');
    const id = ws.createWorkspace.workspace.id;
    expect((await t.ok(Node, { id }, ADMIN)).node).toMatchObject({ __typename: 'Workspace', name: 'Secret' });
    expect((await t.ok(Node, { id: accountId }, ADMIN)).node).toMatchObject({ __typename: 'Account' });
    for (const [nodeId, as] of [
      [id, OUTSIDER],
      [accountId, OUTSIDER],
      [id, MEMBER],
    ] as const) {
      const res = await t.gql(Node, { id: nodeId }, as);
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({ node: null });
    }
  });
});

describe('GraphQL over HTTP', () => {
  const post = (body: string, contentType = 'application/json') =>
    t.server.yoga.fetch('http://sharegraph.test/graphql', {
      method: 'POST',
      headers: { 'content-type': contentType, accept: 'application/graphql-response+json' },
      body,
    });

  it('answers with application/graphql-response+json', async () => {
    const res = await post(JSON.stringify({ query: '{ me { id } }' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/graphql-response+json');
  });

  it('refuses malformed JSON with 400', async () => {
    const res = await post('{"query": ');
    expect(res.status).toBe(400);
  });

  it('refuses an unknown operation name with 400', async () => {
    const res = await post(JSON.stringify({ query: 'query A { me { id } }', operationName: 'B' }));
    expect(res.status).toBe(400);
  });

  it('refuses invalid variables with 400 and writes nothing', async () => {
    const before = await countRows();
    const res = await post(
      JSON.stringify({ query: CreateAccount.toString(), variables: { input: { name: 42, extra: true } } }),
    );
    expect(res.status).toBe(400);
    expect(await countRows()).toEqual(before);
  });

  it('serves GraphiQL to browsers', async () => {
    const res = await t.server.yoga.fetch('http://sharegraph.test/graphql', { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('graphiql');
  });

  it('masks unexpected errors', async () => {
    const db = t.server.services.db;
    const original = db.user.findUnique;
    db.user.findUnique = (() => Promise.reject(new Error('secret internals'))) as unknown as typeof original;
    try {
      const res = await t.gql(Me, {}, ADMIN);
      expect(JSON.stringify(res)).not.toContain('secret internals');
      expect(res.errors?.[0]?.message).toBe('Unexpected error.');
    } finally {
      db.user.findUnique = original;
    }
  });
});
