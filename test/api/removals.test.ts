import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { listHelpers } from '../helpers/lists.ts';
import { snapshot, startTestServer, type TestServer } from '../helpers/server.ts';

// Taking back what was given: group memberships, rights, groups, contacts, emails, updates. Each
// is allowed to exactly who the rules say, answers a typed error otherwise (NOT_FOUND to whoever
// cannot see the target), writes nothing when refused, and leaves an audit row when it acts.

const CreateGroup = graphql(`
  mutation RmCreateGroup($input: CreateGroupInput!) {
    createGroup(input: $input) { __typename ... on CreateGroupPayload { group { id } } ... on Error { code message } }
  }
`);
const AddGroupMember = graphql(`
  mutation RmAddGroupMember($input: AddGroupMemberInput!) {
    addGroupMember(input: $input) { __typename ... on Error { code message } }
  }
`);
const RemoveGroupMember = graphql(`
  mutation RmRemoveGroupMember($input: RemoveGroupMemberInput!) {
    removeGroupMember(input: $input) {
      __typename
      ... on RemoveGroupMemberPayload { group { id members { email } } }
      ... on ValidationError { path }
      ... on Error { code message }
    }
  }
`);
const DeleteGroup = graphql(`
  mutation RmDeleteGroup($input: DeleteGroupInput!) {
    deleteGroup(input: $input) { __typename ... on DeleteGroupPayload { groupId } ... on Error { code message } }
  }
`);
const CreateRight = graphql(`
  mutation RmCreateRight($input: CreateRightInput!) {
    createRight(input: $input) { __typename ... on CreateRightPayload { right { id } } ... on Error { code message } }
  }
`);
const GrantRight = graphql(`
  mutation RmGrantRight($input: GrantRightInput!) {
    grantRight(input: $input) { __typename ... on Error { code message } }
  }
`);
const RevokeRight = graphql(`
  mutation RmRevokeRight($input: RevokeRightInput!) {
    revokeRight(input: $input) {
      __typename
      ... on RevokeRightPayload { right { id holders { email } } }
      ... on Error { code message }
    }
  }
`);
const DeleteRight = graphql(`
  mutation RmDeleteRight($input: DeleteRightInput!) {
    deleteRight(input: $input) { __typename ... on DeleteRightPayload { rightId } ... on Error { code message } }
  }
`);
const CreateContact = graphql(`
  mutation RmCreateContact($input: CreateContactInput!) {
    createContact(input: $input) { __typename ... on CreateContactPayload { contact { id } } ... on Error { code } }
  }
`);
const RecordActivity = graphql(`
  mutation RmRecordActivity($input: RecordActivityInput!) {
    recordActivity(input: $input) { __typename ... on Error { code } }
  }
`);
const DeleteContact = graphql(`
  mutation RmDeleteContact($input: DeleteContactInput!) {
    deleteContact(input: $input) { __typename ... on DeleteContactPayload { contactId } ... on Error { code message } }
  }
`);
const RecordEmail = graphql(`
  mutation RmRecordEmail($input: RecordEmailInput!) {
    recordEmail(input: $input) { __typename ... on RecordEmailPayload { email { id } } ... on Error { code message } }
  }
`);
const SetProperties = graphql(`
  mutation RmSetProperties($input: SetEmailPropertiesInput!) {
    setEmailProperties(input: $input) {
      __typename
      ... on SetEmailPropertiesPayload { email { properties } }
      ... on Error { code message }
    }
  }
`);
const DeleteEmail = graphql(`
  mutation RmDeleteEmail($input: DeleteEmailInput!) {
    deleteEmail(input: $input) { __typename ... on DeleteEmailPayload { emailId } ... on Error { code message } }
  }
`);
const CreateItem = graphql(`
  mutation RmCreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id } } ... on Error { code message } }
  }
`);
const PostUpdate = graphql(`
  mutation RmPostUpdate($input: PostUpdateInput!) {
    postUpdate(input: $input) { __typename ... on PostUpdatePayload { update { id } } ... on Error { code message } }
  }
`);
const UpdateUpdate = graphql(`
  mutation RmUpdateUpdate($input: UpdateUpdateInput!) {
    updateUpdate(input: $input) {
      __typename
      ... on UpdateUpdatePayload { update { id body author { email } } }
      ... on ValidationError { path }
      ... on Error { code message }
    }
  }
`);
const DeleteUpdate = graphql(`
  mutation RmDeleteUpdate($input: DeleteUpdateInput!) {
    deleteUpdate(input: $input) { __typename ... on DeleteUpdatePayload { updateId } ... on Error { code message } }
  }
`);
const ListShares = graphql(`
  query RmListShares($id: ID!) { list(id: $id) { id viewerRole shares { role group { id } right { id } } } }
`);
const Node = graphql(`
  query RmNode($id: ID!) {
    node(id: $id) {
      __typename
      ... on Contact { name activities { edges { node { kind } } } }
      ... on Email { subject properties contact { id } }
      ... on Item { updates(first: 10) { edges { node { id body } } } }
    }
  }
`);
const AuditLog = graphql(`
  query RmAuditLog($id: ID!) { auditLog(resourceId: $id, first: 1) { edges { node { action resourceType data } } } }
`);

const ADMIN = 'admin@removals.test';
const OWNER = 'owner@removals.test';
const MEMBER = 'member@removals.test';
const PLAIN = 'plain@removals.test';
const GUEST = 'guest@partner-removals.test';
const STRANGER = 'stranger@elsewhere.test';

let t: TestServer;
let h: ReturnType<typeof listHelpers>;
let accountId: string;
let closedWs: string;
let openWs: string;

beforeAll(async () => {
  t = await startTestServer();
  h = listHelpers(t);
  accountId = await h.account(ADMIN, [OWNER, MEMBER, PLAIN], [GUEST]);
  // The admin is a member: an admin reaches a closed workspace's content by joining it.
  closedWs = (await h.workspace(accountId, OWNER, 'CLOSED', [MEMBER, ADMIN])).id;
  openWs = (await h.workspace(accountId, OWNER, 'OPEN')).id;
  // Provisioned now, so that their first refused attempt writes nothing.
  await h.userId(STRANGER);
});
afterAll(async () => t?.close());

const notFound = (what: string) => ({
  __typename: 'NotFoundError',
  code: 'NOT_FOUND',
  message: `${what} was not found`,
});
const forbidden = { __typename: 'ForbiddenError', code: 'FORBIDDEN' };

async function lastAudit() {
  const res = await t.ok(AuditLog, { id: accountId }, ADMIN);
  return res.auditLog?.edges[0]?.node;
}

async function group(name: string, members: string[]) {
  const res = (await t.ok(CreateGroup, { input: { accountId, name } }, ADMIN)).createGroup;
  if (res.__typename !== 'CreateGroupPayload') throw new Error(JSON.stringify(res));
  for (const email of members)
    await t.ok(AddGroupMember, { input: { groupId: res.group.id, userId: await h.userId(email) } }, ADMIN);
  return res.group.id;
}

async function right(name: string, holders: string[]) {
  const res = (await t.ok(CreateRight, { input: { accountId, name } }, ADMIN)).createRight;
  if (res.__typename !== 'CreateRightPayload') throw new Error(JSON.stringify(res));
  for (const email of holders)
    await t.ok(GrantRight, { input: { rightId: res.right.id, userId: await h.userId(email) } }, ADMIN);
  return res.right.id;
}

/** Each refused attempt answers `expected` and writes nothing. */
async function refused(attempts: [string, () => Promise<unknown>, Record<string, unknown>][]) {
  for (const [who, attempt, expected] of attempts) {
    const before = await snapshot(t);
    expect(await attempt(), who).toMatchObject(expected);
    expect(await snapshot(t), who).toEqual(before);
  }
}

describe('groups', () => {
  it('removeGroupMember: admins only; the group’s shares stop reaching the person; idempotent; audited', async () => {
    const listId = await h.list(closedWs, OWNER, 'SHAREABLE', 'Grouped');
    const groupId = await group('Sales', [PLAIN]);
    await h.share(OWNER, { listId, role: 'EDITOR', groupId });
    expect((await t.ok(ListShares, { id: listId }, PLAIN)).list?.viewerRole).toBe('EDITOR');
    const plain = await h.userId(PLAIN);
    const remove = (as: string, userId = plain) =>
      t.ok(RemoveGroupMember, { input: { groupId, userId } }, as).then((r) => r.removeGroupMember);
    await refused([
      ['account member', () => remove(MEMBER), { ...forbidden, message: 'Not allowed: only account admins' }],
      ['the person themself', () => remove(PLAIN), forbidden],
      ['guest (does not see groups)', () => remove(GUEST), notFound('The group')],
      ['outsider', () => remove(STRANGER), notFound('The group')],
      [
        'someone outside the account',
        async () => remove(ADMIN, await h.userId(STRANGER)),
        { __typename: 'ValidationError', path: ['input', 'userId'] },
      ],
    ]);
    expect(await remove(ADMIN)).toEqual({
      __typename: 'RemoveGroupMemberPayload',
      group: { id: groupId, members: [] },
    });
    expect((await t.ok(ListShares, { id: listId }, PLAIN)).list).toBeNull();
    expect(await lastAudit()).toMatchObject({
      action: 'group.remove-member',
      resourceType: 'Group',
      data: { userId: expect.any(String) },
    });
    const before = await snapshot(t);
    expect((await remove(ADMIN)).__typename).toBe('RemoveGroupMemberPayload');
    expect(await snapshot(t)).toEqual(before);
  });

  it('deleteGroup: admins only; its shares go with it; audited; then it does not exist', async () => {
    const listId = await h.list(closedWs, OWNER, 'SHAREABLE', 'Group-shared');
    const groupId = await group('Support', [PLAIN]);
    await h.share(OWNER, { listId, role: 'VIEWER', groupId });
    const del = (as: string) => t.ok(DeleteGroup, { input: { groupId } }, as).then((r) => r.deleteGroup);
    await refused([
      ['account member', () => del(MEMBER), forbidden],
      ['guest', () => del(GUEST), notFound('The group')],
      ['outsider', () => del(STRANGER), notFound('The group')],
    ]);
    expect(await del(ADMIN)).toEqual({ __typename: 'DeleteGroupPayload', groupId });
    expect((await t.ok(ListShares, { id: listId }, OWNER)).list?.shares).toEqual([]);
    expect((await t.ok(ListShares, { id: listId }, PLAIN)).list).toBeNull();
    expect(await lastAudit()).toMatchObject({ action: 'group.delete', data: { name: 'Support' } });
    expect(await del(ADMIN)).toMatchObject(notFound('The group'));
  });
});

describe('rights', () => {
  it('revokeRight: admins only; the right’s shares stop reaching the person; idempotent; audited', async () => {
    const listId = await h.list(closedWs, OWNER, 'SHAREABLE', 'By right');
    const rightId = await right('Finance', [PLAIN]);
    await h.share(ADMIN, { listId, role: 'VIEWER', rightId });
    expect((await t.ok(ListShares, { id: listId }, PLAIN)).list?.viewerRole).toBe('VIEWER');
    const plain = await h.userId(PLAIN);
    const revoke = (as: string) =>
      t.ok(RevokeRight, { input: { rightId, userId: plain } }, as).then((r) => r.revokeRight);
    await refused([
      ['account member', () => revoke(MEMBER), forbidden],
      ['guest', () => revoke(GUEST), notFound('The right')],
      ['outsider', () => revoke(STRANGER), notFound('The right')],
    ]);
    expect(await revoke(ADMIN)).toEqual({ __typename: 'RevokeRightPayload', right: { id: rightId, holders: [] } });
    expect((await t.ok(ListShares, { id: listId }, PLAIN)).list).toBeNull();
    expect(await lastAudit()).toMatchObject({ action: 'right.revoke', resourceType: 'Right' });
    const before = await snapshot(t);
    expect((await revoke(ADMIN)).__typename).toBe('RevokeRightPayload');
    expect(await snapshot(t)).toEqual(before);
  });

  it('deleteRight: admins only; its shares go with it; audited', async () => {
    const listId = await h.list(closedWs, OWNER, 'SHAREABLE', 'By right, deleted');
    const rightId = await right('Legal', [PLAIN]);
    await h.share(ADMIN, { listId, role: 'VIEWER', rightId });
    const del = (as: string) => t.ok(DeleteRight, { input: { rightId } }, as).then((r) => r.deleteRight);
    await refused([
      ['account member', () => del(MEMBER), forbidden],
      ['guest', () => del(GUEST), notFound('The right')],
    ]);
    expect(await del(ADMIN)).toEqual({ __typename: 'DeleteRightPayload', rightId });
    expect((await t.ok(ListShares, { id: listId }, OWNER)).list?.shares).toEqual([]);
    expect((await t.ok(ListShares, { id: listId }, PLAIN)).list).toBeNull();
    expect(await lastAudit()).toMatchObject({ action: 'right.delete', data: { name: 'Legal' } });
  });
});

describe('contacts and emails', () => {
  async function contact(workspaceId: string, name: string) {
    const res = (await t.ok(CreateContact, { input: { workspaceId, name } }, OWNER)).createContact;
    if (res.__typename !== 'CreateContactPayload') throw new Error(JSON.stringify(res));
    return res.contact.id;
  }
  async function email(workspaceId: string, contactId: string | null, as = OWNER) {
    const res = (
      await t.ok(
        RecordEmail,
        {
          input: {
            workspaceId,
            contactId,
            subject: 'Renewal',
            sender: as,
            participants: ['x@customer.test'],
            sentAt: '2024-06-01T10:00:00Z',
            body: 'secret terms',
          },
        },
        as,
      )
    ).recordEmail;
    if (res.__typename !== 'RecordEmailPayload') throw new Error(JSON.stringify(res));
    return res.email.id;
  }

  it('deleteContact: who writes contacts deletes them, with their feed; emails stay, unlinked; audited', async () => {
    const contactId = await contact(closedWs, 'Ada');
    await t.ok(RecordActivity, { input: { contactId, kind: 'MEETING', occurredAt: '2024-01-01T00:00:00Z' } }, OWNER);
    const emailId = await email(closedWs, contactId);
    const del = (as: string) => t.ok(DeleteContact, { input: { contactId } }, as).then((r) => r.deleteContact);
    await refused([
      ['account member outside the closed workspace', () => del(PLAIN), notFound('The contact')],
      ['guest', () => del(GUEST), notFound('The contact')],
      ['outsider', () => del(STRANGER), notFound('The contact')],
    ]);
    expect(await del(MEMBER)).toEqual({ __typename: 'DeleteContactPayload', contactId });
    expect((await t.ok(Node, { id: contactId }, OWNER)).node).toBeNull();
    expect((await t.ok(Node, { id: emailId }, OWNER)).node).toMatchObject({ subject: 'Renewal', contact: null });
    expect(await lastAudit()).toMatchObject({
      action: 'contact.delete',
      resourceType: 'Contact',
      data: { name: 'Ada' },
    });
  });

  it('an account member who reads an open workspace’s contacts may not delete them', async () => {
    const contactId = await contact(openWs, 'Grace');
    await refused([
      [
        'account member, open workspace',
        () => t.ok(DeleteContact, { input: { contactId } }, PLAIN).then((r) => r.deleteContact),
        { ...forbidden, message: 'Not allowed: only workspace members and account admins change contacts' },
      ],
    ]);
    expect((await t.ok(DeleteContact, { input: { contactId } }, ADMIN)).deleteContact.__typename).toBe(
      'DeleteContactPayload',
    );
  });

  it('setEmailProperties and deleteEmail: the owner only; the workspace is FORBIDDEN, the rest NOT_FOUND', async () => {
    const contactId = await contact(closedWs, 'Linus');
    const emailId = await email(closedWs, contactId);
    const set = (as: string) =>
      t.ok(SetProperties, { input: { emailId, properties: { stage: 'won' } } }, as).then((r) => r.setEmailProperties);
    const del = (as: string) => t.ok(DeleteEmail, { input: { emailId } }, as).then((r) => r.deleteEmail);
    const ownerOnly = { ...forbidden, message: 'Not allowed: only its owner changes or deletes it' };
    await refused([
      ['workspace member: set', () => set(MEMBER), ownerOnly],
      ['account admin: set', () => set(ADMIN), ownerOnly],
      ['workspace member: delete', () => del(MEMBER), ownerOnly],
      ['account admin: delete', () => del(ADMIN), ownerOnly],
      ['account member outside: set', () => set(PLAIN), notFound('The email')],
      ['account member outside: delete', () => del(PLAIN), notFound('The email')],
      ['guest: delete', () => del(GUEST), notFound('The email')],
      ['outsider: delete', () => del(STRANGER), notFound('The email')],
    ]);
    expect(await set(OWNER)).toEqual({
      __typename: 'SetEmailPropertiesPayload',
      email: { properties: { stage: 'won' } },
    });
    expect(await del(OWNER)).toEqual({ __typename: 'DeleteEmailPayload', emailId });
    expect((await t.ok(Node, { id: emailId }, OWNER)).node).toBeNull();
    // The sent/received line it put in the contact's feed went with it.
    expect((await t.ok(Node, { id: contactId }, OWNER)).node).toMatchObject({ activities: { edges: [] } });
    expect(await lastAudit()).toMatchObject({ action: 'email.delete', resourceType: 'Email' });
    expect(await del(OWNER)).toMatchObject(notFound('The email'));
  });
});

describe('updates, replies and comments', () => {
  it('the author edits and deletes; co-owners delete any; others are refused; replies go with their update', async () => {
    const listId = await h.list(closedWs, OWNER, 'MAIN', 'Talk');
    const item = (await t.ok(CreateItem, { input: { listId, title: 'Deal' } }, MEMBER)).createItem;
    if (item.__typename !== 'CreateItemPayload') throw new Error(JSON.stringify(item));
    const itemId = item.item.id;
    const post = async (as: string, body: string, parentId?: string) => {
      const res = (await t.ok(PostUpdate, { input: { itemId, body, parentId } }, as)).postUpdate;
      if (res.__typename !== 'PostUpdatePayload') throw new Error(JSON.stringify(res));
      return res.update.id;
    };
    const mine = await post(MEMBER, 'first draft');
    const reply = await post(OWNER, 'a reply', mine);
    const edit = (as: string, updateId: string, body: string) =>
      t.ok(UpdateUpdate, { input: { updateId, body } }, as).then((r) => r.updateUpdate);
    const del = (as: string, updateId: string) =>
      t.ok(DeleteUpdate, { input: { updateId } }, as).then((r) => r.deleteUpdate);
    await refused([
      [
        'list creator editing another’s',
        () => edit(OWNER, mine, 'x'),
        { ...forbidden, message: 'Not allowed: only its author edits it' },
      ],
      ['account admin editing another’s', () => edit(ADMIN, mine, 'x'), forbidden],
      ['account member who cannot read the list', () => edit(PLAIN, mine, 'x'), notFound('The update')],
      ['guest', () => del(GUEST, mine), notFound('The update')],
      ['outsider', () => del(STRANGER, reply), notFound('The update')],
      [
        'an EDITOR deleting another’s',
        () => del(MEMBER, reply),
        {
          ...forbidden,
          message: 'Not allowed: only its author and the list co-owners delete it',
        },
      ],
      [
        'the author, with an empty text',
        () => edit(MEMBER, mine, '   '),
        { __typename: 'ValidationError', path: ['input', 'body'] },
      ],
    ]);
    expect(await edit(MEMBER, mine, 'final words')).toEqual({
      __typename: 'UpdateUpdatePayload',
      update: { id: mine, body: 'final words', author: { email: MEMBER } },
    });
    expect(await lastAudit()).toMatchObject({ action: 'item.edit-update', resourceType: 'ItemUpdate' });
    // The list's creator (a co-owner) moderates: the update goes, with its reply.
    expect(await del(OWNER, mine)).toEqual({ __typename: 'DeleteUpdatePayload', updateId: mine });
    expect((await t.ok(Node, { id: itemId }, MEMBER)).node).toMatchObject({ updates: { edges: [] } });
    expect(await lastAudit()).toMatchObject({ action: 'item.delete-update', data: { authorId: expect.any(String) } });
    // An account admin (at least co-owner) moderates too.
    const other = await post(OWNER, 'by the owner');
    expect((await del(ADMIN, other)).__typename).toBe('DeleteUpdatePayload');
    // The author deletes their own.
    const again = await post(MEMBER, 'second thoughts');
    expect((await del(MEMBER, again)).__typename).toBe('DeleteUpdatePayload');
    expect(await del(MEMBER, again)).toMatchObject(notFound('The update'));
  });
});
