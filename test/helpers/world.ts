import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { graphql } from '../generated/gql.ts';
import { TypedDocumentString } from '../generated/graphql.ts';
import { listHelpers } from './lists.ts';
import type { Result, TestServer } from './server.ts';

const CreateItem = graphql(`
  mutation WdCreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id } } ... on Error { code message } }
  }
`);
const PostUpdate = graphql(`
  mutation WdPostUpdate($input: PostUpdateInput!) {
    postUpdate(input: $input) { __typename ... on PostUpdatePayload { update { id } } ... on Error { code message } }
  }
`);
const CreateContact = graphql(`
  mutation WdCreateContact($input: CreateContactInput!) {
    createContact(input: $input) {
      __typename
      ... on CreateContactPayload { contact { id } }
      ... on Error { code message }
    }
  }
`);
const RecordActivity = graphql(`
  mutation WdRecordActivity($input: RecordActivityInput!) {
    recordActivity(input: $input) { __typename ... on Error { code message } }
  }
`);
const RecordEmail = graphql(`
  mutation WdRecordEmail($input: RecordEmailInput!) {
    recordEmail(input: $input) { __typename ... on RecordEmailPayload { email { id } } ... on Error { code message } }
  }
`);
const CreateGroup = graphql(`
  mutation WdCreateGroup($input: CreateGroupInput!) {
    createGroup(input: $input) { __typename ... on CreateGroupPayload { group { id } } ... on Error { code message } }
  }
`);
const AddGroupMember = graphql(`
  mutation WdAddGroupMember($input: AddGroupMemberInput!) {
    addGroupMember(input: $input) { __typename ... on Error { code message } }
  }
`);
const CreateRight = graphql(`
  mutation WdCreateRight($input: CreateRightInput!) {
    createRight(input: $input) { __typename ... on CreateRightPayload { right { id } } ... on Error { code message } }
  }
`);
const GrantRight = graphql(`
  mutation WdGrantRight($input: GrantRightInput!) {
    grantRight(input: $input) { __typename ... on Error { code message } }
  }
`);
const Invite = graphql(`
  mutation WdInvite($input: InviteToWorkspaceInput!) {
    inviteToWorkspace(input: $input) {
      __typename
      ... on InviteToWorkspacePayload { invitation { id } }
      ... on Error { code message }
    }
  }
`);
const RequestToJoin = graphql(`
  mutation WdRequestToJoin($input: RequestToJoinWorkspaceInput!) {
    requestToJoinWorkspace(input: $input) {
      __typename
      ... on RequestToJoinWorkspacePayload { request { id } }
      ... on Error { code message }
    }
  }
`);

/** A document written at run time (schema-driven tests), typed loosely. */
export function dynamic(query: string): TypedDocumentString<Record<string, unknown>, Record<string, unknown>> {
  return new TypedDocumentString(query);
}

/** Runs a document built at run time as `as` (an email, a token, or null for anonymous). */
export function raw(
  t: TestServer,
  query: string,
  variables: Record<string, unknown> = {},
  as: string | null = null,
): Promise<Result<Record<string, unknown>>> {
  return t.gql(dynamic(query), variables, as);
}

/** The people of one account, by email. */
export interface People {
  admin: string;
  owner: string;
  member: string;
  nonMember: string;
  plain: string;
  guest: string;
  grouped: string;
}

/**
 * One account's fixture: every global id by Node type, and the unique marker strings planted in
 * its data, by what they belong to (so a test can say which a viewer may never read).
 */
export interface AccountWorld {
  people: People;
  accountId: string;
  workspaces: { open: string; closed: string };
  lists: Record<ListKey, string>;
  items: Record<ListKey, string>;
  updates: Record<ListKey, string>;
  contacts: { open: string; closed: string };
  emails: { open: string; closed: string };
  shares: { user: string; guest: string; group: string; email: string };
  group: string;
  right: string;
  invitation: string;
  joinRequest: string;
  /** Global ids of every object of the account, by Node type. */
  nodes: Map<string, string[]>;
  /** Marker → what it belongs to (see `MarkerScope`). */
  markers: Map<string, MarkerScope>;
}

export type ListKey = 'openMain' | 'openShareable' | 'openPrivate' | 'closedMain' | 'closedShareable' | 'closedPrivate';
export const LIST_KEYS: ListKey[] = [
  'openMain',
  'openShareable',
  'openPrivate',
  'closedMain',
  'closedShareable',
  'closedPrivate',
];

/** What a marker belongs to: a list's content, a workspace, a contact, an email's metadata or body… */
export type MarkerScope =
  | `list:${ListKey}`
  | 'ws:open'
  | 'ws:closed'
  | 'contact:open'
  | 'contact:closed'
  | 'emailMeta:open'
  | 'emailMeta:closed'
  | 'emailBody:open'
  | 'emailBody:closed'
  | 'joinRequest'
  | 'invitation'
  | 'group'
  | 'right'
  | 'account';

/** The two accounts of the fixture world. */
export interface World {
  a: AccountWorld;
  b: AccountWorld;
}

function people(tag: string): People {
  return {
    admin: `admin@${tag}.test`,
    owner: `owner@${tag}.test`,
    member: `member@${tag}.test`,
    nonMember: `nonmember@${tag}.test`,
    plain: `plain@${tag}.test`,
    guest: `guest@partner-${tag}.test`,
    grouped: `grouped@${tag}.test`,
  };
}

/**
 * Builds one account through the API as real users: an admin; an owner of an OPEN and a CLOSED
 * workspace; a member of the CLOSED one; an account member who only reaches one SHAREABLE list of
 * the CLOSED workspace (a NON_MEMBER there, with a pending join request); an account member with
 * nothing; a guest holding a VIEWER share; MAIN, SHAREABLE and PRIVATE lists in both workspaces
 * with an item and an update each; shares to a user, a guest, a group and an external email;
 * contacts with activity, emails owned by the owner, a pending invitation, a group and a right.
 * Every name and text carries a marker `zz<TAG>_…`.
 */
export async function buildAccount(t: TestServer, tag: 'a' | 'b'): Promise<AccountWorld> {
  const h = listHelpers(t);
  const p = people(tag);
  const M = `zz${tag.toUpperCase()}_`;
  const markers = new Map<string, MarkerScope>();
  const mark = (scope: MarkerScope, what: string) => {
    const m = `${M}${what}`;
    markers.set(m, scope);
    return m;
  };
  const nodes = new Map<string, string[]>();
  const node = (type: string, id: string) => {
    nodes.set(type, [...(nodes.get(type) ?? []), id]);
    return id;
  };
  const must = <T>(what: string, value: T | undefined | null): T => {
    if (value === undefined || value === null) throw new Error(`world: ${what} failed`);
    return value;
  };
  const payload = <R extends { __typename: string }>(what: string, r: R) => {
    if ('code' in r) throw new Error(`world: ${what} failed: ${JSON.stringify(r)}`);
    return r;
  };

  const accountId = node('Account', await h.account(p.admin, [p.owner, p.member, p.nonMember, p.plain, p.grouped]));
  await t.server.services.db.account.update({
    where: { id: decodeGlobalID(accountId).id },
    data: { name: mark('account', 'ACCOUNT') },
  });
  await addGuest(t, p.admin, accountId, p.guest);

  const open = await h.workspace(accountId, p.owner, 'OPEN');
  const closed = await h.workspace(accountId, p.owner, 'CLOSED', [p.member]);
  const db = t.server.services.db;
  await db.workspace.update({ where: { id: open.dbId }, data: { name: mark('ws:open', 'WS_OPEN') } });
  await db.workspace.update({ where: { id: closed.dbId }, data: { name: mark('ws:closed', 'WS_CLOSED') } });
  node('Workspace', open.id);
  node('Workspace', closed.id);

  const wsOf = (key: ListKey) => (key.startsWith('open') ? open.id : closed.id);
  const kindOf = (key: ListKey) =>
    key.endsWith('Main') ? 'MAIN' : key.endsWith('Shareable') ? ('SHAREABLE' as const) : ('PRIVATE' as const);
  const lists = {} as Record<ListKey, string>;
  const items = {} as Record<ListKey, string>;
  const updates = {} as Record<ListKey, string>;
  for (const key of LIST_KEYS) {
    const listId = node(
      'List',
      await h.list(wsOf(key), p.owner, kindOf(key), mark(`list:${key}`, `LIST_${key.toUpperCase()}`)),
    );
    lists[key] = listId;
    const item = payload(
      'createItem',
      (
        await t.ok(
          CreateItem,
          {
            input: {
              listId,
              title: mark(`list:${key}`, `ITEM_${key.toUpperCase()}`),
              fields: { note: mark(`list:${key}`, `FIELD_${key.toUpperCase()}`) },
            },
          },
          p.owner,
        )
      ).createItem,
    );
    items[key] = node('Item', must('item', item.__typename === 'CreateItemPayload' ? item.item.id : null));
    const update = payload(
      'postUpdate',
      (
        await t.ok(
          PostUpdate,
          { input: { itemId: items[key], body: mark(`list:${key}`, `UPDATE_${key.toUpperCase()}`) } },
          p.owner,
        )
      ).postUpdate,
    );
    updates[key] = node(
      'ItemUpdate',
      must('update', update.__typename === 'PostUpdatePayload' ? update.update.id : null),
    );
  }

  const ids = {
    user: async (email: string) => node('User', await h.userId(email)),
  };
  const nonMemberId = await ids.user(p.nonMember);
  const guestId = await ids.user(p.guest);
  const groupedId = await ids.user(p.grouped);
  for (const email of [p.admin, p.owner, p.member, p.plain]) await ids.user(email);

  const groupRes = payload(
    'createGroup',
    (await t.ok(CreateGroup, { input: { accountId, name: mark('group', 'GROUP') } }, p.admin)).createGroup,
  );
  const group = node('Group', must('group', groupRes.__typename === 'CreateGroupPayload' ? groupRes.group.id : null));
  payload(
    'addGroupMember',
    (await t.ok(AddGroupMember, { input: { groupId: group, userId: groupedId } }, p.admin)).addGroupMember,
  );
  const rightRes = payload(
    'createRight',
    (await t.ok(CreateRight, { input: { accountId, name: mark('right', 'RIGHT') } }, p.admin)).createRight,
  );
  const right = node('Right', must('right', rightRes.__typename === 'CreateRightPayload' ? rightRes.right.id : null));
  payload('grantRight', (await t.ok(GrantRight, { input: { rightId: right, userId: groupedId } }, p.admin)).grantRight);

  const shared = lists.closedShareable;
  const shares = {
    user: node('Share', await h.share(p.owner, { listId: shared, role: 'VIEWER', userId: nonMemberId })),
    guest: node('Share', await h.share(p.owner, { listId: shared, role: 'VIEWER', userId: guestId })),
    group: node('Share', await h.share(p.owner, { listId: shared, role: 'EDITOR', groupId: group })),
    email: node(
      'Share',
      await h.share(p.owner, { listId: shared, role: 'VIEWER', email: `external@outside-${tag}.test` }),
    ),
  };

  const contacts = { open: '', closed: '' };
  const emails = { open: '', closed: '' };
  for (const where of ['open', 'closed'] as const) {
    const workspaceId = where === 'open' ? open.id : closed.id;
    const c = payload(
      'createContact',
      (
        await t.ok(
          CreateContact,
          {
            input: {
              workspaceId,
              name: mark(`contact:${where}`, `CONTACT_${where.toUpperCase()}`),
              email: `contact-${where}@contacts-${tag}.test`,
              enrichment: { title: mark(`contact:${where}`, `ENRICH_${where.toUpperCase()}`) },
              connectionStrength: 50,
            },
          },
          p.owner,
        )
      ).createContact,
    );
    contacts[where] = node('Contact', must('contact', c.__typename === 'CreateContactPayload' ? c.contact.id : null));
    payload(
      'recordActivity',
      (
        await t.ok(
          RecordActivity,
          { input: { contactId: contacts[where], kind: 'MEETING', occurredAt: '2024-05-01T10:00:00Z' } },
          p.owner,
        )
      ).recordActivity,
    );
    const e = payload(
      'recordEmail',
      (
        await t.ok(
          RecordEmail,
          {
            input: {
              workspaceId,
              contactId: contacts[where],
              threadId: `thread-${where}`,
              subject: mark(`emailMeta:${where}`, `EMAILSUBJ_${where.toUpperCase()}`),
              sender: p.owner,
              participants: [`contact-${where}@contacts-${tag}.test`],
              sentAt: '2024-05-02T10:00:00Z',
              body: mark(`emailBody:${where}`, `EMAILBODY_${where.toUpperCase()}`),
              properties: { stage: mark(`emailMeta:${where}`, `EMAILPROP_${where.toUpperCase()}`) },
            },
          },
          p.owner,
        )
      ).recordEmail,
    );
    emails[where] = node('Email', must('email', e.__typename === 'RecordEmailPayload' ? e.email.id : null));
  }

  const inv = payload(
    'inviteToWorkspace',
    (
      await t.ok(
        Invite,
        { input: { workspaceId: closed.id, email: mark('invitation', `INVITEE@invite-${tag}.test`) } },
        // Only admins bring people from outside into the account (memberInviters ADMINS_ONLY).
        p.admin,
      )
    ).inviteToWorkspace,
  );
  const invitation = node(
    'Invitation',
    must('invitation', inv.__typename === 'InviteToWorkspacePayload' ? inv.invitation.id : null),
  );
  const req = payload(
    'requestToJoinWorkspace',
    (
      await t.ok(
        RequestToJoin,
        { input: { workspaceId: closed.id, message: mark('joinRequest', 'JOINREQ') } },
        p.nonMember,
      )
    ).requestToJoinWorkspace,
  );
  const joinRequest = node(
    'JoinRequest',
    must('joinRequest', req.__typename === 'RequestToJoinWorkspacePayload' ? req.request.id : null),
  );

  return {
    people: p,
    accountId,
    workspaces: { open: open.id, closed: closed.id },
    lists,
    items,
    updates,
    contacts,
    emails,
    shares,
    group,
    right,
    invitation,
    joinRequest,
    nodes,
    markers,
  };
}

const AddMember = graphql(`
  mutation WdAddMember($input: AddAccountMemberInput!) {
    addAccountMember(input: $input) { __typename ... on Error { code message } }
  }
`);

async function addGuest(t: TestServer, admin: string, accountId: string, email: string) {
  const res = await t.ok(AddMember, { input: { accountId, email, role: 'GUEST' } }, admin);
  if (res.addAccountMember.__typename !== 'AddAccountMemberPayload')
    throw new Error(`world: addAccountMember failed: ${JSON.stringify(res)}`);
}

/** Both accounts; each is the other's outsider. */
export async function buildWorld(t: TestServer): Promise<World> {
  return { a: await buildAccount(t, 'a'), b: await buildAccount(t, 'b') };
}

/** A well-formed global id of `type` that names no row. */
export function missingId(type: string, n = 0): string {
  return encodeGlobalID(type, `00000000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`);
}

const fingerprintSql = new WeakMap<TestServer, string>();

/**
 * The row count and a hash of the rows of every table, in one statement: a cheap way to assert
 * that a refused mutation changed nothing (the same as `snapshot`, fast enough to run per input).
 */
export async function fingerprint(t: TestServer): Promise<Record<string, string>> {
  const db = t.server.services.db;
  let sql = fingerprintSql.get(t);
  if (!sql) {
    const tables = await db.$queryRawUnsafe<{ table_name: string }[]>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' ORDER BY 1`,
    );
    sql = tables
      .map(
        ({ table_name }) =>
          `SELECT '${table_name}' AS name, count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') AS fp FROM "${table_name}" x`,
      )
      .join(' UNION ALL ');
    fingerprintSql.set(t, sql);
  }
  const rows = await db.$queryRawUnsafe<{ name: string; fp: string }[]>(sql);
  return Object.fromEntries(rows.map((r) => [r.name, r.fp]));
}
