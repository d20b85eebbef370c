import { decodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { snapshot, startTestServer, type TestServer } from '../helpers/server.ts';

const CreateContact = graphql(`
  mutation EmCreateContact($input: CreateContactInput!) {
    createContact(input: $input) { __typename ... on CreateContactPayload { contact { id } } ... on Error { code } }
  }
`);
const RecordEmail = graphql(`
  mutation EmRecordEmail($input: RecordEmailInput!) {
    recordEmail(input: $input) {
      __typename
      ... on RecordEmailPayload { email { id subject body } }
      ... on ValidationError { path }
      ... on Error { code message }
    }
  }
`);
const SetProperties = graphql(`
  mutation EmSetProperties($input: SetEmailPropertiesInput!) {
    setEmailProperties(input: $input) {
      __typename
      ... on SetEmailPropertiesPayload { email { properties } }
      ... on Error { code message }
    }
  }
`);
const Email = graphql(`
  query EmEmail($id: ID!) {
    node(id: $id) {
      ... on Email {
        subject
        sender
        participants
        sentAt
        properties
        owner { email }
        body
        thread { subject body }
        contact { name }
      }
    }
  }
`);
const ContactFeed = graphql(`
  query EmContactFeed($id: ID!) {
    node(id: $id) {
      ... on Contact {
        name
        lastContactAt
        activities { edges { node { __typename kind summary } } }
        emails { edges { node { subject body } } }
      }
    }
  }
`);

const ADMIN = 'admin@emails.test';
const OWNER = 'owner@emails.test';
const MEMBER = 'member@emails.test';
const GUEST = 'guest@outside.test';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.close());

async function world() {
  const h = listHelpers(t);
  const accountId = await h.account(ADMIN, [OWNER, MEMBER], [GUEST]);
  // The admin reads a private workspace's metadata once joined.
  const ws = await h.workspace(accountId, OWNER, 'PRIVATE', [MEMBER, ADMIN]);
  const other = await h.workspace(accountId, OWNER, 'OPEN');
  const contact = async (workspaceId: string, name: string) => {
    const res = (await t.ok(CreateContact, { input: { workspaceId, name } }, OWNER)).createContact;
    return res.__typename === 'CreateContactPayload' ? res.contact.id : '';
  };
  const ada = await contact(ws.id, 'Ada Lovelace');
  const elsewhere = await contact(other.id, 'Somebody Else');
  const record = async (subject: string, body: string, sentAt: string) => {
    const res = await t.ok(
      RecordEmail,
      {
        input: {
          workspaceId: ws.id,
          contactId: ada,
          threadId: 'thread-1',
          subject,
          sender: OWNER,
          participants: ['ada@acme.test', 'cc@acme.test'],
          sentAt,
          body,
          properties: { stage: 'lead' },
        },
      },
      OWNER,
    );
    if (res.recordEmail.__typename !== 'RecordEmailPayload') throw new Error(JSON.stringify(res));
    return res.recordEmail.email.id;
  };
  const first = await record('Proposal', 'The secret price is 42.', '2025-04-01T08:00:00.000Z');
  const second = await record('Re: Proposal', 'Following up.', '2025-04-02T08:00:00.000Z');
  return { h, ws, ada, elsewhere, first, second };
}

describe('emails', () => {
  it('show members the metadata and null for the body; the owner gets the body; a guest gets nothing', async () => {
    const { h, ws, ada, first } = await world();
    // Only its owner changes it; a teammate who sees it is told so.
    const byMember = await t.ok(SetProperties, { input: { emailId: first, properties: { stage: 'x' } } }, MEMBER);
    expect(byMember.setEmailProperties).toMatchObject({
      __typename: 'ForbiddenError',
      message: 'Not allowed: only its owner changes or deletes it',
    });
    const set = await t.ok(
      SetProperties,
      { input: { emailId: first, properties: { stage: 'won', amount: 42 } } },
      OWNER,
    );
    expect(set.setEmailProperties).toMatchObject({ email: { properties: { stage: 'won', amount: 42 } } });

    const asMember = await t.gql(Email, { id: first }, MEMBER);
    expect(asMember.errors).toBeUndefined();
    expect(asMember.data?.node).toEqual({
      subject: 'Proposal',
      sender: OWNER,
      participants: ['ada@acme.test', 'cc@acme.test'],
      sentAt: '2025-04-01T08:00:00.000Z',
      properties: { stage: 'won', amount: 42 },
      owner: { email: OWNER },
      body: null,
      thread: null,
      contact: { name: 'Ada Lovelace' },
    });
    // Admins see the workspace's metadata too, never the body.
    const asAdmin = await t.gql(Email, { id: first }, ADMIN);
    expect(asAdmin.errors).toBeUndefined();
    expect(asAdmin.data?.node).toMatchObject({ subject: 'Proposal', body: null, thread: null });

    const asOwner = await t.ok(Email, { id: first }, OWNER);
    expect(asOwner.node).toMatchObject({
      body: 'The secret price is 42.',
      thread: [
        { subject: 'Proposal', body: 'The secret price is 42.' },
        { subject: 'Re: Proposal', body: 'Following up.' },
      ],
    });

    // A guest who reaches the contact through a shared list still gets no email and no activity.
    const listId = await h.list(ws.id, OWNER, 'SHAREABLE', 'Deals');
    await h.share(OWNER, { listId, role: 'VIEWER', userId: await h.userId(GUEST) });
    await t.server.services.db.item.create({
      data: { listId: decodeGlobalID(listId).id, title: 'Ada', position: 1, contactId: decodeGlobalID(ada).id },
    });
    const asGuest = await t.gql(Email, { id: first }, GUEST);
    expect(asGuest.errors).toBeUndefined();
    expect(asGuest.data?.node).toBeNull();
    const guestFeed = await t.gql(ContactFeed, { id: ada }, GUEST);
    expect(guestFeed.errors).toBeUndefined();
    expect(guestFeed.data?.node).toEqual({
      name: 'Ada Lovelace',
      lastContactAt: '2025-04-02T08:00:00.000Z',
      activities: null,
      emails: null,
    });
    const byGuest = await t.ok(SetProperties, { input: { emailId: first, properties: { stage: 'lost' } } }, GUEST);
    expect(byGuest.setEmailProperties).toMatchObject({ __typename: 'NotFoundError' });
  });

  it('put "sent an email" in the contact feed for the workspace, never content', async () => {
    const { ada } = await world();
    const feed = await t.ok(ContactFeed, { id: ada }, MEMBER);
    expect(feed.node).toEqual({
      name: 'Ada Lovelace',
      lastContactAt: '2025-04-02T08:00:00.000Z',
      activities: {
        edges: [
          { node: { __typename: 'Activity', kind: 'EMAIL_SENT', summary: 'sent an email' } },
          { node: { __typename: 'Activity', kind: 'EMAIL_SENT', summary: 'sent an email' } },
        ],
      },
      emails: {
        edges: [{ node: { subject: 'Re: Proposal', body: null } }, { node: { subject: 'Proposal', body: null } }],
      },
    });
  });

  it('are recorded by workspace members only, about contacts of the same workspace; refusals write nothing', async () => {
    const { ws, elsewhere, first } = await world();
    const input = {
      workspaceId: ws.id,
      subject: 'Hi',
      sender: 'someone@acme.test',
      participants: [MEMBER],
      sentAt: '2025-05-01T00:00:00.000Z',
      body: 'x',
    };
    const before = await snapshot(t);
    expect((await t.ok(RecordEmail, { input }, GUEST)).recordEmail).toMatchObject({ __typename: 'NotFoundError' });
    expect((await t.ok(RecordEmail, { input: { ...input, contactId: elsewhere } }, MEMBER)).recordEmail).toMatchObject({
      __typename: 'ValidationError',
      path: ['input', 'contactId'],
    });
    expect(
      (await t.ok(RecordEmail, { input: { ...input, sender: 'not-an-address' } }, MEMBER)).recordEmail,
    ).toMatchObject({
      __typename: 'ValidationError',
    });
    expect(
      (await t.ok(SetProperties, { input: { emailId: first, properties: [1, 2] } }, MEMBER)).setEmailProperties,
    ).toMatchObject({
      __typename: 'ValidationError',
    });
    expect(await snapshot(t)).toEqual(before);

    const received = await t.ok(RecordEmail, { input }, MEMBER);
    expect(received.recordEmail).toMatchObject({ email: { subject: 'Hi', body: 'x' } });
  });
});
