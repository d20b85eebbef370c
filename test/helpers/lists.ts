import { decodeGlobalID } from '@pothos/plugin-relay';
import { graphql } from '../generated/gql.ts';
import type { TestServer } from './server.ts';

const CreateAccount = graphql(`
  mutation LhCreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { account { id } } }
  }
`);
const AddMember = graphql(`
  mutation LhAddMember($input: AddAccountMemberInput!) {
    addAccountMember(input: $input) { __typename }
  }
`);
const CreateWorkspace = graphql(`
  mutation LhCreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) { __typename ... on CreateWorkspacePayload { workspace { id } } }
  }
`);
const CreateList = graphql(`
  mutation LhCreateList($input: CreateListInput!) {
    createList(input: $input) {
      __typename
      ... on CreateListPayload { list { id } }
      ... on Error { code message }
    }
  }
`);
const ShareList = graphql(`
  mutation LhShareList($input: ShareListInput!) {
    shareList(input: $input) {
      __typename
      ... on ShareListPayload { share { id role } }
      ... on Error { code message }
    }
  }
`);
const SetGeneralAccess = graphql(`
  mutation LhSetGeneralAccess($input: SetListGeneralAccessInput!) {
    setListGeneralAccess(input: $input) {
      __typename
      ... on SetListGeneralAccessPayload { list { id generalAccess linkToken } }
      ... on Error { code message }
    }
  }
`);
const Me = graphql(`
  query LhMe { me { id } }
`);

/** Acts on lists as real users through the API; throws when a setup step fails. */
export function listHelpers(t: TestServer) {
  const fail = (what: string, value: unknown): never => {
    throw new Error(`${what} failed: ${JSON.stringify(value)}`);
  };
  return {
    async account(admin: string, members: string[] = [], guests: string[] = []) {
      const res = await t.ok(CreateAccount, { input: { name: 'Acme' } }, admin);
      if (res.createAccount.__typename !== 'CreateAccountPayload') return fail('createAccount', res);
      const accountId = res.createAccount.account.id;
      for (const email of members) await t.ok(AddMember, { input: { accountId, email, role: 'MEMBER' } }, admin);
      for (const email of guests) await t.ok(AddMember, { input: { accountId, email, role: 'GUEST' } }, admin);
      return accountId;
    },
    /** A workspace owned by `owner`; `members` are added straight to the database (joining is issue 3's). */
    async workspace(
      accountId: string,
      owner: string,
      type: 'OPEN' | 'CLOSED' | 'PRIVATE' = 'OPEN',
      members: string[] = [],
    ) {
      const res = await t.ok(CreateWorkspace, { input: { accountId, name: `WS ${type}`, type } }, owner);
      if (res.createWorkspace.__typename !== 'CreateWorkspacePayload') return fail('createWorkspace', res);
      const id = res.createWorkspace.workspace.id;
      const db = t.server.services.db;
      const ws = { id: decodeGlobalID(id).id };
      for (const email of members) {
        const user = await db.user.upsert({ where: { email }, create: { email }, update: {} });
        await db.workspaceMember.create({ data: { workspaceId: ws.id, userId: user.id, role: 'MEMBER' } });
      }
      return { id, dbId: ws.id };
    },
    async list(workspaceId: string, as: string, kind: 'MAIN' | 'SHAREABLE' | 'PRIVATE' = 'MAIN', name = 'Pipeline') {
      const res = await t.ok(CreateList, { input: { workspaceId, name, kind } }, as);
      if (res.createList.__typename !== 'CreateListPayload') return fail('createList', res);
      return res.createList.list.id;
    },
    async share(
      as: string,
      input: {
        listId: string;
        role: 'VIEWER' | 'EDITOR' | 'CO_OWNER';
        userId?: string;
        groupId?: string;
        rightId?: string;
        email?: string;
      },
    ) {
      const res = await t.ok(ShareList, { input }, as);
      if (res.shareList.__typename !== 'ShareListPayload') return fail('shareList', res);
      return res.shareList.share.id;
    },
    async generalAccess(
      as: string,
      listId: string,
      access: 'RESTRICTED' | 'WORKSPACE' | 'ANYONE_WITH_LINK' | 'GLOBAL',
      role: 'VIEWER' | 'EDITOR' = 'VIEWER',
    ) {
      const res = await t.ok(SetGeneralAccess, { input: { listId, access, role } }, as);
      if (res.setListGeneralAccess.__typename !== 'SetListGeneralAccessPayload')
        return fail('setListGeneralAccess', res);
      return res.setListGeneralAccess.list;
    },
    /** A SHAREABLE list of a CLOSED workspace of `owner`, shared with `editor` (an account member) as EDITOR. */
    async sharedList(owner: string, editor: string) {
      const accountId = await this.account(owner, [editor]);
      const workspace = await this.workspace(accountId, owner, 'CLOSED');
      const listId = await this.list(workspace.id, owner, 'SHAREABLE');
      await this.share(owner, { listId, role: 'EDITOR', userId: await this.userId(editor) });
      return listId;
    },
    async userId(email: string) {
      const res = await t.ok(Me, {}, email);
      return res.me?.id ?? fail('me', res);
    },
    /** Row counts of everything lists, sharing and items write, to assert a failure wrote nothing. */
    async rows() {
      const db = t.server.services.db;
      const [lists, shares, items, updates, invitations, outbox, audit] = await Promise.all([
        db.list.count(),
        db.share.count(),
        db.item.count(),
        db.itemUpdate.count(),
        db.invitation.count(),
        db.mailOutbox.count(),
        db.auditEvent.count(),
      ]);
      return { lists, shares, items, updates, invitations, outbox, audit };
    },
  };
}
