import { decodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { snapshot, startTestServer, type TestServer } from '../helpers/server.ts';

const CreateContact = graphql(`
  mutation CtCreateContact($input: CreateContactInput!) {
    createContact(input: $input) {
      __typename
      ... on CreateContactPayload { contact { id name kind email company { name } } }
      ... on ValidationError { path }
      ... on Error { code message }
    }
  }
`);
const UpdateContact = graphql(`
  mutation CtUpdateContact($input: UpdateContactInput!) {
    updateContact(input: $input) {
      __typename
      ... on UpdateContactPayload { contact { name enrichment connectionStrength } }
      ... on Error { code message }
    }
  }
`);
const RecordActivity = graphql(`
  mutation CtRecordActivity($input: RecordActivityInput!) {
    recordActivity(input: $input) {
      __typename
      ... on RecordActivityPayload { contact { lastContactAt } }
      ... on ValidationError { path }
      ... on Error { code message }
    }
  }
`);
const Contacts = graphql(`
  query CtContacts($id: ID!, $search: String) {
    workspace(id: $id) { contacts(search: $search) { edges { node { name email } } } }
  }
`);
const Contact = graphql(`
  query CtContact($id: ID!) {
    node(id: $id) {
      ... on Contact {
        name
        kind
        enrichment
        connectionStrength
        company { name }
        people { edges { node { name } } }
        activities { edges { node { kind summary actor { email } } } }
      }
    }
  }
`);
const AuditLog = graphql(`
  query CtAuditLog($resourceId: ID!, $actorId: ID) {
    auditLog(resourceId: $resourceId, actorId: $actorId) { edges { node { action resourceType data } } }
  }
`);

const ADMIN = 'admin@contacts.test';
const OWNER = 'owner@contacts.test';
const MEMBER = 'member@contacts.test';
const OTHER = 'other@contacts.test';
const GUEST = 'guest@outside.test';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.close());

function ok<T extends { __typename?: string }>(value: T, typename: string) {
  if (value.__typename !== typename) throw new Error(`expected ${typename}, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * A private workspace of OWNER with MEMBER and the account admin in it (an admin reads a private
 * workspace's content once joined); OTHER is an account member outside it; GUEST a guest.
 */
async function world() {
  const h = listHelpers(t);
  const accountId = await h.account(ADMIN, [OWNER, MEMBER, OTHER], [GUEST]);
  const ws = await h.workspace(accountId, OWNER, 'PRIVATE', [MEMBER, ADMIN]);
  const create = async (input: { name: string; kind?: 'PERSON' | 'COMPANY'; email?: string; companyId?: string }) => {
    const res = ok(
      (await t.ok(CreateContact, { input: { workspaceId: ws.id, ...input } }, OWNER)).createContact,
      'CreateContactPayload',
    );
    return res.__typename === 'CreateContactPayload' ? res.contact.id : '';
  };
  const acme = await create({ name: 'Acme Corp', kind: 'COMPANY' });
  const ada = await create({ name: 'Ada Lovelace', email: 'ada@acme.test', companyId: acme });
  const bob = await create({ name: 'Bob Babbage', email: 'bob@engines.test' });
  return { h, accountId, ws, acme, ada, bob };
}

describe('contacts', () => {
  it('are visible to workspace members and admins, searchable by name or email, and invisible to others', async () => {
    const { ws, ada, acme } = await world();
    const names = async (as: string, search?: string) =>
      (await t.ok(Contacts, { id: ws.id, search }, as)).workspace?.contacts?.edges.map((e) => e.node.name) ?? null;
    expect(await names(MEMBER)).toEqual(['Acme Corp', 'Ada Lovelace', 'Bob Babbage']);
    expect(await names(MEMBER, 'LOVE')).toEqual(['Ada Lovelace']);
    expect(await names(MEMBER, 'engines.test')).toEqual(['Bob Babbage']);
    expect(await names(ADMIN, 'ada')).toEqual(['Ada Lovelace']);
    expect(await names(OTHER)).toBeNull();

    const asMember = await t.ok(Contact, { id: ada }, MEMBER);
    expect(asMember.node).toMatchObject({ name: 'Ada Lovelace', kind: 'PERSON', company: { name: 'Acme Corp' } });
    expect((await t.ok(Contact, { id: acme }, MEMBER)).node).toMatchObject({
      people: { edges: [{ node: { name: 'Ada Lovelace' } }] },
    });
    for (const who of [OTHER, GUEST]) {
      const res = await t.gql(Contact, { id: ada }, who);
      expect(res.errors).toBeUndefined();
      expect(res.data?.node).toBeNull();
    }
  });

  it('are reached by guests through a shared list that holds them, without their activity', async () => {
    const { h, ws, ada, bob } = await world();
    await t.ok(
      RecordActivity,
      { input: { contactId: ada, kind: 'MEETING', occurredAt: '2025-01-02T10:00:00.000Z' } },
      MEMBER,
    );
    const listId = await h.list(ws.id, OWNER, 'SHAREABLE', 'Deals');
    const guestId = await h.userId(GUEST);
    await h.share(OWNER, { listId, role: 'VIEWER', userId: guestId });
    expect((await t.ok(Contact, { id: ada }, GUEST)).node).toBeNull();
    await t.server.services.db.item.create({
      data: {
        listId: decodeGlobalID(listId).id,
        title: 'Deal with Ada',
        position: 1,
        contactId: decodeGlobalID(ada).id,
      },
    });
    const res = await t.gql(Contact, { id: ada }, GUEST);
    expect(res.errors).toBeUndefined();
    expect(res.data?.node).toMatchObject({ name: 'Ada Lovelace', activities: null, company: null });
    expect((await t.ok(Contact, { id: bob }, GUEST)).node).toBeNull();
    expect((await t.ok(Contacts, { id: ws.id }, GUEST)).workspace?.contacts?.edges.map((e) => e.node.name)).toEqual([
      'Ada Lovelace',
    ]);
    const byGuest = await t.ok(UpdateContact, { input: { contactId: ada, name: 'Ada' } }, GUEST);
    expect(byGuest.updateContact).toMatchObject({ __typename: 'ForbiddenError' });
  });

  it('are written by workspace members and admins only; refusals and bad input write nothing', async () => {
    const { ws, ada } = await world();
    const before = await snapshot(t);
    const byOther = await t.ok(CreateContact, { input: { workspaceId: ws.id, name: 'Eve' } }, OTHER);
    expect(byOther.createContact).toMatchObject({ __typename: 'NotFoundError' });
    const byGuest = await t.ok(CreateContact, { input: { workspaceId: ws.id, name: 'Eve' } }, GUEST);
    expect(byGuest.createContact).toMatchObject({ __typename: 'NotFoundError' });
    const badEmail = await t.ok(CreateContact, { input: { workspaceId: ws.id, name: 'Eve', email: 'nope' } }, MEMBER);
    expect(badEmail.createContact).toMatchObject({ __typename: 'ValidationError', path: ['input', 'email'] });
    const notCompany = await t.ok(
      CreateContact,
      { input: { workspaceId: ws.id, name: 'Eve', companyId: ada } },
      MEMBER,
    );
    expect(notCompany.createContact).toMatchObject({ __typename: 'ValidationError', path: ['input', 'companyId'] });
    const updateByOther = await t.ok(UpdateContact, { input: { contactId: ada, name: 'Eve' } }, OTHER);
    expect(updateByOther.updateContact).toMatchObject({ __typename: 'NotFoundError' });
    const emailActivity = await t.ok(
      RecordActivity,
      { input: { contactId: ada, kind: 'EMAIL_SENT', occurredAt: '2025-01-01T00:00:00.000Z' } },
      MEMBER,
    );
    expect(emailActivity.recordActivity).toMatchObject({ __typename: 'ValidationError' });
    expect(await snapshot(t)).toEqual(before);

    const byAdmin = await t.ok(CreateContact, { input: { workspaceId: ws.id, name: 'Grace Hopper' } }, ADMIN);
    expect(byAdmin.createContact).toMatchObject({ contact: { name: 'Grace Hopper' } });
  });

  it('merge enrichment key by key and keep relationship data', async () => {
    const { ada } = await world();
    await t.ok(UpdateContact, { input: { contactId: ada, enrichment: { title: 'Analyst', city: 'London' } } }, MEMBER);
    const updated = await t.ok(
      UpdateContact,
      { input: { contactId: ada, enrichment: { city: null, size: 10 }, connectionStrength: 80 } },
      OWNER,
    );
    expect(updated.updateContact).toMatchObject({
      contact: { enrichment: { title: 'Analyst', size: 10 }, connectionStrength: 80 },
    });
    const bad = await t.ok(UpdateContact, { input: { contactId: ada, connectionStrength: 101 } }, OWNER);
    expect(bad.updateContact).toMatchObject({ __typename: 'ValidationError' });
  });

  it('show high-level activity to the workspace, newest first, and audit it', async () => {
    const { accountId, ada } = await world();
    const first = await t.ok(
      RecordActivity,
      { input: { contactId: ada, kind: 'CALL', occurredAt: '2025-03-01T09:00:00.000Z' } },
      MEMBER,
    );
    expect(first.recordActivity).toMatchObject({ contact: { lastContactAt: '2025-03-01T09:00:00.000Z' } });
    const older = await t.ok(
      RecordActivity,
      { input: { contactId: ada, kind: 'MEETING', occurredAt: '2025-02-01T09:00:00.000Z' } },
      OWNER,
    );
    // lastContactAt never moves back.
    expect(older.recordActivity).toMatchObject({ contact: { lastContactAt: '2025-03-01T09:00:00.000Z' } });
    const feed = (await t.ok(Contact, { id: ada }, ADMIN)).node;
    expect(
      feed && 'activities' in feed ? feed.activities?.edges.map((e) => [e.node.summary, e.node.actor?.email]) : null,
    ).toEqual([
      ['had a call', MEMBER],
      ['had a meeting', OWNER],
    ]);
    const memberId = await listHelpers(t).userId(MEMBER);
    const log = await t.ok(AuditLog, { resourceId: accountId, actorId: memberId }, ADMIN);
    expect(log.auditLog?.edges.map((e) => [e.node.action, e.node.resourceType])).toEqual([
      ['activity.record', 'Contact'],
    ]);
    expect((await t.gql(AuditLog, { resourceId: accountId }, MEMBER)).data?.auditLog).toBeNull();
  });
});
