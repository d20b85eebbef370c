import type {
  AccountFacts,
  AccountPolicyFacts,
  AccountRole,
  GeneralAccess,
  ListFacts,
  ListKind,
  ListRole,
  WorkspaceAction,
  WorkspaceAudience,
  WorkspaceFacts,
  WorkspaceRole,
} from './facts.ts';

/** One step of a decision, for `explainAccess` and the audit trail. */
export interface Reason {
  /** A stable name of the rule, e.g. `account.role`, `workspace.rule`, `list.share.group`. */
  rule: string;
  /** ALLOW and GRANT count for the viewer, DENY and CAP against. */
  effect: 'ALLOW' | 'DENY' | 'GRANT' | 'CAP';
  detail: string;
  /** When the grant behind this reason ends (an expiring share, membership or link). */
  expiresAt?: Date;
}

/**
 * Whether a grant that ends at `expiresAt` still holds at `now`: it ends at that instant. The
 * loader leaves ended grants out already; the rules check again, so facts remembered across
 * requests (src/cache/facts.ts) cannot carry one past its end.
 */
export function inForce(expiresAt: Date | null | undefined, now: number = Date.now()): boolean {
  return !expiresAt || expiresAt.getTime() > now;
}

/** The instant a workspace's facts (and its lists') are decided at: `asOf`, or now. */
export function instantOf(ws: WorkspaceFacts): number {
  return ws.asOf?.getTime() ?? Date.now();
}

/** The viewer's membership role while it is in force (an ended membership is none). */
export function memberRoleOf(ws: WorkspaceFacts): WorkspaceFacts['memberRole'] {
  return inForce(ws.memberExpiresAt, instantOf(ws)) ? ws.memberRole : null;
}

/** " until <ISO instant>" for a grant that ends, "" otherwise. */
function until(expiresAt: Date | null | undefined): string {
  return expiresAt ? ` until ${expiresAt.toISOString()}` : '';
}

/** The answer to one question: may the viewer do this, with which role, and why. */
export interface Decision<Role extends string = string> {
  allowed: boolean;
  role: Role | null;
  reasons: Reason[];
}

export const WORKSPACE_ACTIONS: readonly WorkspaceAction[] = [
  'CREATE_MAIN_LIST',
  'CREATE_SHAREABLE_LIST',
  'CREATE_PRIVATE_LIST',
  'CREATE_DASHBOARD',
  'CREATE_AUTOMATION',
  'CREATE_DOC',
  'INVITE_MEMBERS',
  'POST_UPDATE',
  'REPLY',
  'COMMENT',
];
export const WORKSPACE_AUDIENCES: readonly WorkspaceAudience[] = ['OWNER', 'MEMBER', 'NON_MEMBER'];
export const ACCOUNT_ROLES: readonly AccountRole[] = ['ADMIN', 'MEMBER', 'GUEST'];
export const LIST_ROLES: readonly ListRole[] = ['VIEWER', 'EDITOR', 'CO_OWNER', 'CREATOR'];

/** Account caps when the account wrote none: admins and members may, guests may not. */
export function defaultCap(_action: WorkspaceAction, role: AccountRole): boolean {
  return role !== 'GUEST';
}

const NON_MEMBER_DEFAULTS: ReadonlySet<WorkspaceAction> = new Set(['POST_UPDATE', 'REPLY', 'COMMENT']);

/** Workspace rules when the owner wrote none: owners and members may do everything, non-members only talk. */
export function defaultRule(audience: WorkspaceAudience, action: WorkspaceAction): boolean {
  if (audience === 'NON_MEMBER') return NON_MEMBER_DEFAULTS.has(action);
  return true;
}

/** The account's cap for one action and account role. */
export function capFor(policy: AccountPolicyFacts, action: WorkspaceAction, role: AccountRole): boolean {
  const explicit = policy.caps.find((c) => c.action === action && c.role === role);
  return explicit ? explicit.allowed : defaultCap(action, role);
}

/** The workspace owner's setting for one audience and action (before the account cap). */
export function ruleFor(rules: WorkspaceFacts['rules'], audience: WorkspaceAudience, action: WorkspaceAction): boolean {
  const explicit = rules.find((r) => r.audience === audience && r.action === action);
  return explicit ? explicit.allowed : defaultRule(audience, action);
}

/**
 * Whether an owner may write `allowed` for `audience` and `action`. A workspace can only be
 * stricter than its account: allowing what the account caps away from its members is refused.
 */
export function decideWorkspaceRuleChange(
  policy: AccountPolicyFacts,
  action: WorkspaceAction,
  allowed: boolean,
): Decision<never> {
  if (!allowed)
    return { allowed: true, role: null, reasons: [allow('workspace.rule.stricter', 'denying is always stricter')] };
  if (capFor(policy, action, 'MEMBER')) {
    return { allowed: true, role: null, reasons: [allow('account.cap', `the account lets members ${action}`)] };
  }
  return { allowed: false, role: null, reasons: [cap('account.cap', `the account does not let members ${action}`)] };
}

// ---------------------------------------------------------------------------------------------
// Accounts

export type AccountQuestion =
  /** See the account and its members. */
  | 'account:read'
  /** Add members, set the policy, create groups and rights, read the content directory, audit. */
  | 'account:manage'
  | 'account:create-workspace';

/** Decides an account-level question. */
export function decideAccount(facts: AccountFacts, question: AccountQuestion): Decision<AccountRole> {
  const role = facts.role;
  if (!role) return deny<AccountRole>(null, 'account.member', 'not a member of the account');
  switch (question) {
    case 'account:read':
      return role === 'GUEST'
        ? deny(role, 'account.guest', 'guests see only what was shared with them')
        : grant(role, 'account.role', `account ${role}`);
    case 'account:manage':
      return role === 'ADMIN'
        ? grant(role, 'account.admin', 'account admin')
        : deny(role, 'account.admin', 'only account admins');
    case 'account:create-workspace':
      if (role === 'ADMIN') return grant(role, 'account.admin', 'admins may always create workspaces');
      if (role === 'GUEST') return deny(role, 'account.guest', 'guests cannot create workspaces');
      return facts.policy.workspaceCreators === 'ALL_MEMBERS'
        ? grant(role, 'account.policy.workspaceCreators', 'the account lets all members create workspaces')
        : deny(role, 'account.policy.workspaceCreators', 'the account lets only admins create workspaces');
  }
}

/** The domain of an email address, lower case. */
export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1).toLowerCase();
}

/** What deciding whether a person may be brought into an account needs. */
export interface BringInFacts {
  /** The account, with the inviter's role in it (`role`) and its policy. */
  account: AccountFacts;
  /** The invitee's address. */
  email: string;
  /** The invitee's role in the account today (null: not in it). */
  current: AccountRole | null;
  /** The role the invitation or addition would give them. */
  as: AccountRole;
}

/**
 * Whether the viewer may bring a person into the account with a role (a workspace invitation, or
 * `addAccountMember`). Who is already a MEMBER or ADMIN is not brought in. Becoming MEMBER from
 * outside (or from GUEST) is for admins, for anyone when `memberInviters` is ALL_MEMBERS, or for
 * an address of a domain in `memberDomains`; becoming ADMIN or GUEST by this path is for admins
 * (guests come in by a list share, under `externalSharing`).
 */
export function decideBringIn(facts: BringInFacts): Decision<AccountRole> {
  const inviter = facts.account.role;
  const policy = facts.account.policy;
  const yes = (rule: string, detail: string) => grant<AccountRole>(inviter ?? 'GUEST', rule, detail);
  if (!inviter) return deny<AccountRole>(null, 'account.member', 'not a member of the account');
  if (facts.current === 'ADMIN' || (facts.current === 'MEMBER' && facts.as !== 'ADMIN'))
    return yes('account.member', 'already in the account');
  if (inviter === 'ADMIN') return yes('account.admin', 'admins bring people into the account');
  if (inviter === 'GUEST') return deny(inviter, 'account.guest', 'guests bring nobody into the account');
  if (facts.as !== 'MEMBER') return deny(inviter, 'account.admin', `only admins bring people in as ${facts.as}`);
  if (policy.memberInviters === 'ALL_MEMBERS')
    return yes('account.policy.memberInviters', 'the account lets every member bring in new members');
  const domain = emailDomain(facts.email);
  if (policy.memberDomains.includes(domain))
    return yes('account.policy.memberDomains', `${domain} is a member domain of the account`);
  return deny(
    inviter,
    'account.policy.memberInviters',
    `the account policy memberInviters (ADMINS_ONLY) lets only admins bring new members in, and ${domain} is not in memberDomains`,
  );
}

// ---------------------------------------------------------------------------------------------
// Workspaces

/** The role a viewer holds in a workspace, or null when it is invisible to them. */
export type WorkspaceViewerRole = WorkspaceAudience;

export type WorkspaceQuestion =
  /** Know it exists and read its name (the content directory's admins included). */
  | 'workspace:see'
  /** Find it in `workspaces` and `workspace(id)`. */
  | 'workspace:list'
  /** Read its overview: type, creation date, owners, member count (a locked one's too). */
  | 'workspace:overview'
  /** Read its subscribers (who reach its lists without membership): owners and account admins. */
  | 'workspace:subscribers'
  /** Browse its lists: its readers, and whoever reaches one of its lists (they see those only). */
  | 'workspace:lists'
  /** Read who is in it: members and subscribers (its readers; account admins of a locked one). */
  | 'workspace:people'
  /** Read its content: lists (each still filtered by list access), contacts, emails, permissions, requests. */
  | 'workspace:read'
  /** Rename, change type, set permissions, approve requests, remove members, crown owners, delete, audit. */
  | 'workspace:manage'
  | 'workspace:join'
  | 'workspace:request-join'
  | 'workspace:leave'
  /** Invite people: whoever may manage it, or whoever the workspace lets INVITE_MEMBERS. */
  | 'workspace:invite'
  | WorkspaceAction;

/**
 * How much of a workspace the viewer reaches: `FULL` (its content), `LOCKED` (its name and
 * overview: type, creation date, owners, member count; the lock of a CLOSED workspace, or any
 * workspace an admin has not joined), `LIST` (only its name, beside the lists shared with them).
 */
export type WorkspaceReach = 'FULL' | 'LOCKED' | 'LIST';

/** How the viewer stands in the workspace, with the reason. */
export function workspaceStanding(facts: WorkspaceFacts): {
  role: WorkspaceViewerRole | null;
  /** Whether the viewer reads its content (lists, contacts, emails, permissions, requests). */
  full: boolean;
  reach: WorkspaceReach | null;
  /** Whether it is listed to the viewer (`workspaces`, `workspace(id)`); a PRIVATE one an admin has not joined is in the content directory only. */
  listed: boolean;
  reasons: Reason[];
} {
  const accountRole = facts.account.role;
  const memberRole = memberRoleOf(facts);
  const at = (reach: WorkspaceReach | null, listed: boolean, reason: Reason) => ({
    role: reach ? (memberRole ?? ('NON_MEMBER' as const)) : null,
    full: reach === 'FULL',
    reach,
    listed: reach !== null && listed,
    reasons: [reason],
  });
  if (memberRole)
    return at('FULL', true, {
      ...grantR('workspace.member', `workspace ${memberRole}${until(facts.memberExpiresAt)}`),
      ...(facts.memberExpiresAt ? { expiresAt: facts.memberExpiresAt } : {}),
    });
  const inAccount = accountRole === 'ADMIN' || accountRole === 'MEMBER';
  if (inAccount && facts.type === 'OPEN')
    return at(
      'FULL',
      true,
      grantR(
        accountRole === 'ADMIN' ? 'account.admin' : 'workspace.open',
        'open workspaces are visible to the account',
      ),
    );
  if (inAccount && facts.type === 'CLOSED')
    return at('LOCKED', true, grantR('workspace.closed', 'closed workspaces are listed to the account, locked'));
  if (accountRole === 'ADMIN')
    return at(
      'LOCKED',
      facts.reachesAList,
      grantR('account.admin', 'admins see private workspaces in the content directory, locked until they join'),
    );
  if (facts.reachesAList)
    return at('LIST', true, grantR('workspace.non-member', 'reaches a list of it through a share'));
  const why = !accountRole
    ? denyR('account.member', 'not in the account')
    : accountRole === 'GUEST'
      ? denyR('account.guest', 'guests see only what was shared with them')
      : denyR('workspace.private', 'private workspaces are visible to their members only');
  return at(null, false, why);
}

/** Decides a workspace-level question, including the workspace actions of §3. */
export function decideWorkspace(facts: WorkspaceFacts, question: WorkspaceQuestion): Decision<WorkspaceViewerRole> {
  const standing = workspaceStanding(facts);
  const role = standing.role;
  const reasons = [...standing.reasons];
  const accountRole = facts.account.role;
  const result = (allowed: boolean, reason: Reason): Decision<WorkspaceViewerRole> => ({
    allowed,
    role,
    reasons: [...reasons, reason],
  });
  if (!role) return { allowed: false, role: null, reasons };
  switch (question) {
    case 'workspace:see':
      return result(true, allow('workspace.see', 'may read its name'));
    case 'workspace:list':
      return standing.listed
        ? result(true, allow('workspace.list', 'listed to the viewer'))
        : result(false, deny_('workspace.private', 'a private workspace is listed to its members only'));
    case 'workspace:overview':
      return standing.reach !== 'LIST'
        ? result(true, allow('workspace.overview', 'may read its overview'))
        : result(false, deny_('workspace.overview', 'sees only the lists shared with them and its name'));
    case 'workspace:subscribers':
      if (memberRoleOf(facts) === 'OWNER') return result(true, allow('workspace.owner', 'owners see its subscribers'));
      return accountRole === 'ADMIN'
        ? result(true, allow('account.admin', 'admins see the subscribers of every workspace'))
        : result(false, deny_('workspace.owner', 'its subscribers are shown to owners and account admins'));
    case 'workspace:lists':
      return standing.full || facts.reachesAList
        ? result(true, allow('workspace.lists', 'may browse the lists they reach'))
        : result(false, deny_('workspace.locked', 'join the workspace to see its lists'));
    case 'workspace:people':
      if (standing.full) return result(true, allow('workspace.read', 'readers see its people'));
      return accountRole === 'ADMIN'
        ? result(true, allow('account.admin', 'admins see the people of every workspace'))
        : result(false, deny_('workspace.locked', 'its people are shown to members and account admins'));
    case 'workspace:read':
      return standing.full
        ? result(true, allow('workspace.read', 'may read its content'))
        : result(false, deny_('workspace.read', 'sees only the lists shared with them'));
    case 'workspace:manage':
      if (role === 'OWNER') return result(true, allow('workspace.owner', 'workspace owners manage it'));
      if (accountRole === 'ADMIN') return result(true, allow('account.admin', 'account admins manage every workspace'));
      return result(false, deny_('workspace.owner', 'only owners and account admins'));
    case 'workspace:join':
      if (memberRoleOf(facts)) return result(false, deny_('workspace.member', 'already a member'));
      if (accountRole !== 'ADMIN' && accountRole !== 'MEMBER')
        return result(false, deny_('account.role', 'only account members join'));
      if (facts.type === 'OPEN') return result(true, allow('workspace.open', 'open workspaces are joined instantly'));
      if (accountRole === 'ADMIN')
        return result(true, allow('account.admin', 'admins join any workspace without approval (audited)'));
      return facts.type === 'CLOSED'
        ? result(false, deny_('workspace.closed', 'closed workspaces are joined by invitation or request'))
        : result(false, deny_('workspace.private', 'private workspaces are joined by invitation only'));
    case 'workspace:request-join':
      if (memberRoleOf(facts)) return result(false, deny_('workspace.member', 'already a member'));
      if (facts.type === 'OPEN') return result(false, deny_('workspace.open', 'open workspaces are joined directly'));
      if (facts.type === 'PRIVATE')
        return result(false, deny_('workspace.private', 'private workspaces are joined by invitation only'));
      if (accountRole !== 'ADMIN' && accountRole !== 'MEMBER')
        return result(false, deny_('account.role', 'only account members ask to join'));
      return result(true, allow('workspace.closed', 'closed workspaces take requests'));
    case 'workspace:invite': {
      const manage = decideWorkspace(facts, 'workspace:manage');
      return manage.allowed ? manage : decideWorkspaceAction(facts, role, reasons, 'INVITE_MEMBERS');
    }
    case 'workspace:leave':
      return memberRoleOf(facts)
        ? result(true, allow('workspace.member', 'members may leave'))
        : result(false, deny_('workspace.member', 'not a member'));
    default:
      // Behind the lock nothing is done, but on a list shared with the viewer.
      if (standing.reach === 'LOCKED' && !facts.reachesAList)
        return result(false, deny_('workspace.locked', 'join the workspace first'));
      return decideWorkspaceAction(facts, role, reasons, question);
  }
}

function decideWorkspaceAction(
  facts: WorkspaceFacts,
  audience: WorkspaceAudience,
  reasons: Reason[],
  action: WorkspaceAction,
): Decision<WorkspaceViewerRole> {
  const accountRole = facts.account.role ?? 'GUEST';
  const rule = ruleFor(facts.rules, audience, action);
  const capped = capFor(facts.account.policy, action, accountRole);
  const ruleReason = rule
    ? allow('workspace.rule', `the workspace lets ${audience} ${action}`)
    : deny_('workspace.rule', `the workspace does not let ${audience} ${action}`);
  const capReason = capped
    ? allow('account.cap', `the account lets ${accountRole} ${action}`)
    : cap('account.cap', `the account does not let ${accountRole} ${action}`);
  return { allowed: rule && capped, role: audience, reasons: [...reasons, ruleReason, capReason] };
}

/** The question that inviting someone with `role` asks: inviting an owner needs the right to manage. */
export function inviteQuestion(role: WorkspaceRole): WorkspaceQuestion {
  return role === 'OWNER' ? 'workspace:manage' : 'workspace:invite';
}

/**
 * Whether `member` leaving, being removed or demoted would leave the workspace without an owner,
 * given its current (locked) owners.
 */
export function leavesNoOwner(ownerIds: readonly string[], member: { userId: string; role: WorkspaceRole }): boolean {
  return member.role === 'OWNER' && ownerIds.length <= 1 && ownerIds.includes(member.userId);
}

/**
 * Whether giving an account member the role `next` (they had `before`, or were not a member;
 * `next: null` removes them from the account) would leave the account without an admin, given
 * how many admins it has.
 */
export function leavesNoAdmin(admins: number, before: AccountRole | undefined, next: AccountRole | null): boolean {
  return before === 'ADMIN' && next !== 'ADMIN' && admins <= 1;
}

/**
 * Whether `heir` may receive what a departing account member owns (their lists, the workspaces
 * they alone own): another person who is an admin or member of the account; never a guest, a
 * non-member or the person leaving.
 */
export function canInherit(departingId: string, heir: { userId: string; role: AccountRole | undefined }): boolean {
  return heir.userId !== departingId && (heir.role === 'ADMIN' || heir.role === 'MEMBER');
}

/**
 * Whether the viewer could see a workspace that is now deleted, from what it was: its members,
 * and whether it was listed to the account's members (`open`: an open or closed workspace).
 */
export function couldSeeDeletedWorkspace(
  account: AccountFacts | null,
  was: { open: boolean; memberIds: readonly string[] },
  viewerId: string,
): boolean {
  if (was.memberIds.includes(viewerId)) return true;
  return account?.role === 'ADMIN' || (was.open && account?.role === 'MEMBER');
}

// ---------------------------------------------------------------------------------------------
// Lists

const RANK: Record<ListRole, number> = { VIEWER: 1, EDITOR: 2, CO_OWNER: 3, CREATOR: 4 };

/** Whether `role` is at least `min`. */
export function atLeast(role: ListRole | null, min: ListRole): boolean {
  return role !== null && RANK[role] >= RANK[min];
}

function higher(a: ListRole | null, b: ListRole): ListRole {
  return a && RANK[a] >= RANK[b] ? a : b;
}

/** Whether the viewer belongs to the workspace audience that WORKSPACE general access reaches. */
export function inWorkspaceAudience(ws: WorkspaceFacts): boolean {
  if (memberRoleOf(ws)) return true;
  const accountRole = ws.account.role;
  return ws.type === 'OPEN' && (accountRole === 'MEMBER' || accountRole === 'ADMIN');
}

/**
 * Whether the viewer is an account admin who reaches the workspace's content: of an open one, or
 * of a closed or private one once joined. There they are at least co-owner of every list.
 */
export function adminReachesContent(ws: WorkspaceFacts): boolean {
  return ws.account.role === 'ADMIN' && (memberRoleOf(ws) !== null || ws.type === 'OPEN');
}

/** The viewer's effective role on a list (the highest of every grant) and every grant that produced it. */
export function listRole(facts: ListFacts): Decision<ListRole> {
  let role: ListRole | null = null;
  const reasons: Reason[] = [];
  const give = (r: ListRole, rule: string, detail: string, expiresAt?: Date | null) => {
    role = higher(role, r);
    reasons.push({ ...grantR(rule, `${detail}: ${r}${until(expiresAt)}`), ...(expiresAt ? { expiresAt } : {}) });
  };
  const now = instantOf(facts.workspace);
  const accountRole = facts.workspace.account.role;
  if (facts.isCreator) give('CREATOR', 'list.creator', 'made the list');
  if (adminReachesContent(facts.workspace))
    give('CO_OWNER', 'account.admin', 'account admins are at least co-owner of the lists they reach');
  for (const g of facts.grants) {
    if (!inForce(g.expiresAt, now)) continue;
    const via = g.via.toLowerCase();
    give(g.role, `list.share.${via}`, `shared with the ${via} ${g.principalId}`, g.expiresAt);
  }
  // Guests are never "the account": GLOBAL reaches admins and members only (as readableListsWhere).
  const member = accountRole === 'MEMBER' || accountRole === 'ADMIN';
  switch (facts.generalAccess) {
    case 'WORKSPACE':
      if (inWorkspaceAudience(facts.workspace))
        give(facts.generalRole, 'list.general.workspace', 'shared with the workspace');
      break;
    case 'GLOBAL':
      if (member) give('VIEWER', 'list.general.global', 'shared with the whole account');
      break;
    case 'ANYONE_WITH_LINK':
      if (facts.hasValidLinkToken && inForce(facts.linkExpiresAt, now))
        give('VIEWER', 'list.general.link', 'opened with the link', facts.linkExpiresAt);
      break;
    case 'RESTRICTED':
      break;
  }
  if (!role) reasons.push(denyR('list.restricted', 'no grant reaches the viewer'));
  return { allowed: role !== null, role, reasons };
}

export type ListQuestion =
  | 'list:read'
  /** Rename, create/edit/move/delete items. */
  | 'list:edit'
  | 'list:copy'
  /** Share, change shares and general access, rotate the link. */
  | 'list:manage-access'
  | 'list:delete'
  | 'list:set-global'
  | 'list:post-update'
  | 'list:reply'
  | 'list:comment';

const LIST_MIN: Record<Exclude<ListQuestion, 'list:set-global'>, ListRole> = {
  'list:read': 'VIEWER',
  'list:edit': 'EDITOR',
  'list:copy': 'EDITOR',
  'list:manage-access': 'CO_OWNER',
  'list:delete': 'CO_OWNER',
  'list:post-update': 'EDITOR',
  'list:reply': 'EDITOR',
  'list:comment': 'EDITOR',
};

const TALK: Partial<Record<ListQuestion, WorkspaceAction>> = {
  'list:post-update': 'POST_UPDATE',
  'list:reply': 'REPLY',
  'list:comment': 'COMMENT',
};

/** Decides a list question: the list role first, then for talking the workspace rule and account cap. */
export function decideList(facts: ListFacts, question: ListQuestion): Decision<ListRole> {
  const base = listRole(facts);
  if (question === 'list:set-global') {
    const admin = facts.workspace.account.role === 'ADMIN';
    return {
      allowed: admin,
      role: base.role,
      reasons: [
        ...base.reasons,
        admin
          ? allow('account.admin', 'admins may share globally')
          : deny_('account.admin', 'only account admins share globally'),
      ],
    };
  }
  const min = LIST_MIN[question];
  if (!atLeast(base.role, min)) {
    return { allowed: false, role: base.role, reasons: [...base.reasons, deny_('list.role', `needs ${min}`)] };
  }
  const reasons = [...base.reasons, allow('list.role', `${base.role} is at least ${min}`)];
  const talk = TALK[question];
  if (!talk) return { allowed: true, role: base.role, reasons };
  const ws = decideWorkspace(facts.workspace, talk);
  return {
    allowed: ws.allowed,
    role: base.role,
    reasons: [...reasons, ...ws.reasons.filter((r) => r.rule !== 'workspace.member')],
  };
}

/**
 * Who a share names, as far as the sharing rules care. A USER carries their role in the list's
 * account (null: not in it); a GUEST counts as outside the account, like an email.
 */
export type SharePrincipal =
  | { kind: 'USER'; accountRole: AccountRole | null; isCreator: boolean }
  | { kind: 'GROUP'; sameAccount: boolean }
  | { kind: 'RIGHT'; sameAccount: boolean; viewerHoldsIt: boolean }
  | { kind: 'EMAIL' };

/**
 * Whether the viewer may give `role` to `principal` on the list (`role: null` removes the share):
 * co-owners and above share; non-admins only inside the account, only rights they hold, and
 * outside only on SHAREABLE lists when the account allows it. The creator's role never changes,
 * nobody is made creator, private lists are shared by invitation inside the account only (users,
 * groups, rights; never by email or with a guest), and groups and rights are the account's own.
 */
export function decideShare(facts: ListFacts, principal: SharePrincipal, role: ListRole | null): Decision<ListRole> {
  const base = decideList(facts, 'list:manage-access');
  const no = (rule: string, detail: string): Decision<ListRole> => ({
    allowed: false,
    role: base.role,
    reasons: [...base.reasons, deny_(rule, detail)],
  });
  const yes = (rule: string, detail: string): Decision<ListRole> => ({
    allowed: true,
    role: base.role,
    reasons: [...base.reasons, allow(rule, detail)],
  });
  if (!base.allowed) return base;
  if (principal.kind === 'USER' && principal.isCreator)
    return no('list.creator', "the creator's role cannot be changed");
  if (role === null) return yes('list.share.remove', 'co-owners remove shares');
  if (role === 'CREATOR') return no('list.creator', 'the creator role is never given');
  if ((principal.kind === 'GROUP' || principal.kind === 'RIGHT') && !principal.sameAccount)
    return no('account.member', `the ${principal.kind.toLowerCase()} belongs to another account`);
  const external =
    principal.kind === 'EMAIL' ||
    (principal.kind === 'USER' && (principal.accountRole === 'GUEST' || principal.accountRole === null));
  if (facts.kind === 'PRIVATE' && external)
    return no('list.private', 'private lists are shared inside the account only, never with outside people');
  if (facts.workspace.account.role === 'ADMIN') return yes('account.admin', 'admins share without limits');
  if (principal.kind === 'USER' && principal.accountRole === null)
    return no('account.member', 'non-admins share only inside their account');
  if (external) {
    if (facts.kind !== 'SHAREABLE') return no('list.kind', 'only SHAREABLE lists are shared outside the account');
    if (!facts.workspace.account.policy.externalSharing)
      return no('account.policy.externalSharing', 'the account does not allow external sharing');
    return yes('account.policy.externalSharing', 'external sharing allowed');
  }
  if (principal.kind === 'RIGHT' && !principal.viewerHoldsIt)
    return no('right.holder', 'non-admins share only rights they hold');
  return yes('list.share', 'may share inside the account');
}

/**
 * Whether the viewer may set the list's general access: co-owners and above; GLOBAL only for
 * account admins; a private list stays RESTRICTED; the audience role is VIEWER or EDITOR.
 */
export function decideGeneralAccess(facts: ListFacts, access: GeneralAccess, role: ListRole): Decision<ListRole> {
  const base = decideList(facts, access === 'GLOBAL' ? 'list:set-global' : 'list:manage-access');
  if (!base.allowed) return base;
  if (access === 'GLOBAL' && !atLeast(base.role, 'CO_OWNER')) return decideList(facts, 'list:manage-access');
  const no = (rule: string, detail: string): Decision<ListRole> => ({
    allowed: false,
    role: base.role,
    reasons: [...base.reasons, deny_(rule, detail)],
  });
  if (facts.kind === 'PRIVATE' && access !== 'RESTRICTED') return no('list.private', 'private lists stay restricted');
  if (role !== 'VIEWER' && role !== 'EDITOR') return no('list.general.role', 'general access gives VIEWER or EDITOR');
  if (role === 'EDITOR' && access !== 'WORKSPACE') return no('list.general.role', `${access} gives VIEWER only`);
  return { ...base, reasons: [...base.reasons, allow('list.general', `may set ${access}`)] };
}

/** The workspace action that creating a list of `kind` needs. */
export function createListAction(kind: ListKind): WorkspaceAction {
  return kind === 'MAIN' ? 'CREATE_MAIN_LIST' : kind === 'SHAREABLE' ? 'CREATE_SHAREABLE_LIST' : 'CREATE_PRIVATE_LIST';
}

/** The general access a new list of `kind` starts with (§3): MAIN is shared with the workspace. */
export function defaultGeneralAccess(kind: ListKind): { generalAccess: GeneralAccess; generalRole: ListRole } {
  return kind === 'MAIN'
    ? { generalAccess: 'WORKSPACE', generalRole: 'EDITOR' }
    : { generalAccess: 'RESTRICTED', generalRole: 'VIEWER' };
}

// ---------------------------------------------------------------------------------------------
// Contacts, emails and activity (workspace data)

export type ContactQuestion =
  /** Read a contact: person or company, enrichment and relationship data. */
  | 'contact:read'
  /** Read the activity feed and email metadata (subject, date, sender, participants, properties). */
  | 'contact:read-activity'
  /** Create and update contacts, record emails and activity, set email properties. */
  | 'contact:write';

/**
 * Decides a question about a workspace's contact data. Whoever may read the workspace's content
 * (members, account admins, account members of an open workspace) reads it; members and admins
 * write it; anyone else reads only a contact that an item of a list they can read links to, and
 * never its activity or emails.
 */
export function decideContact(
  ws: WorkspaceFacts,
  question: ContactQuestion,
  reachedThroughList = false,
): Decision<WorkspaceViewerRole> {
  const read = decideWorkspace(ws, 'workspace:read');
  const result = (allowed: boolean, reason: Reason): Decision<WorkspaceViewerRole> => ({
    allowed,
    role: read.role,
    reasons: [...read.reasons, reason],
  });
  switch (question) {
    case 'contact:read':
      if (read.allowed) return result(true, allow('contact.workspace', 'contacts are visible to the whole workspace'));
      if (reachedThroughList)
        return result(true, grantR('contact.list', 'an item of a list the viewer can read links to it'));
      return result(false, deny_('contact.workspace', 'contacts are visible to the workspace only'));
    case 'contact:read-activity':
      return read.allowed
        ? result(true, allow('contact.activity', 'activity and email metadata are visible to the whole workspace'))
        : result(false, deny_('contact.activity', 'activity and email metadata are for the workspace only'));
    case 'contact:write':
      if (memberRoleOf(ws)) return result(true, allow('contact.write', 'workspace members keep its contacts'));
      if (adminReachesContent(ws))
        return result(true, allow('account.admin', 'account admins keep the contacts of the workspaces they reach'));
      return result(false, deny_('contact.write', 'only workspace members and account admins change contacts'));
  }
}

/** Whether the viewer may read an email's body and thread: its owner only, whoever else sees its metadata. */
export function decideEmailContent(viewerId: string | null, email: { ownerId: string | null }): Decision<never> {
  return viewerId !== null && email.ownerId === viewerId
    ? { allowed: true, role: null, reasons: [allow('email.owner', 'the owner reads the body and thread')] }
    : { allowed: false, role: null, reasons: [deny_('email.owner', 'only its owner reads the body and thread')] };
}

// ---------------------------------------------------------------------------------------------
// The access history

/** What deciding `accessAt` needs: who asks about whom, and where each stands. */
export interface AccessAtFacts {
  /** The asker asks about their own access. */
  own: boolean;
  /** The asker's role today in the account that owns (or owned) the resource; null: not in it. */
  viewerAccountRole: AccountRole | null;
  /**
   * Whether the person asked about could see the resource at that instant, by the facts of then:
   * `list:read` on a list, `workspace:see` on a workspace, a role in an account.
   */
  sawItThen: boolean;
}

/**
 * Who may read how a person's access stood at a past instant: the admins of the account that owns
 * the resource, about anyone (as they explain anyone's access today), and the person themselves,
 * about what they could see then (as one explains one's own access only where one may know the
 * resource). Anyone else is answered as for an id that names nothing.
 */
export function decideAccessAt(facts: AccessAtFacts): Decision<AccountRole> {
  const role = facts.viewerAccountRole;
  const answer = (allowed: boolean, reason: Reason): Decision<AccountRole> => ({ allowed, role, reasons: [reason] });
  if (role === 'ADMIN') return answer(true, grantR('account.admin', "account admins read anyone's past access"));
  if (facts.own && facts.sawItThen)
    return answer(true, grantR('history.own', 'people read their own past access to what they could see'));
  if (facts.own) return answer(false, deny_('history.own', 'they could not see it then'));
  return answer(false, deny_('account.admin', "only account admins read other people's past access"));
}

// ---------------------------------------------------------------------------------------------
// Anonymisation

/** What deciding `anonymizeUser` needs: who asks, whom, and the asker's role in each of the target's accounts. */
export interface AnonymizeFacts {
  viewerId: string;
  targetId: string;
  /**
   * Every account the target belongs to, holds a share, list or workspace in, or was anonymised
   * in, with the viewer's role there (null: not in it).
   */
  accounts: ReadonlyArray<{ accountId: string; viewerRole: AccountRole | null }>;
}

/**
 * Account admins anonymise people, but only people wholly inside accounts they administer: what
 * passes to the admin must stay within their reach. Nobody anonymises themselves.
 */
export function decideAnonymize(facts: AnonymizeFacts): Decision<AccountRole> {
  const roles = facts.accounts.map((a) => a.viewerRole);
  const role = roles.includes('ADMIN') ? 'ADMIN' : (roles.find((r) => r !== null) ?? null);
  const no = (rule: string, detail: string): Decision<AccountRole> => ({
    allowed: false,
    role,
    reasons: [deny_(rule, detail)],
  });
  if (role === null) return no('account.member', 'the user is in no account of the viewer');
  if (role !== 'ADMIN') return no('account.admin', 'only account admins anonymise people');
  if (facts.viewerId === facts.targetId) return no('anonymize.self', 'admins do not anonymise themselves');
  if (roles.some((r) => r !== 'ADMIN'))
    return no('account.admin', 'the user is also in an account the viewer does not administer');
  return {
    allowed: true,
    role,
    reasons: [grantR('account.admin', 'account admins anonymise the people of their accounts')],
  };
}

// ---------------------------------------------------------------------------------------------
// Taking back and changing what exists: group memberships, rights, contacts, emails, updates

export type GroupQuestion =
  /** Know that a group or right exists: the account's admins and members (not guests, not outsiders). */
  | 'group:see'
  /** Add and remove members, grant and revoke, delete: the account's admins. */
  | 'group:manage';

/**
 * Decides a question about a group or right of an account. To whoever may not see it, it does not
 * exist: pass `group:see` as `enforce`'s `visible`, so they get NOT_FOUND, never FORBIDDEN.
 */
export function decideGroup(account: AccountFacts, question: GroupQuestion): Decision<AccountRole> {
  const see = decideAccount(account, 'account:read');
  if (question === 'group:see' || !see.allowed) return see;
  return decideAccount(account, 'account:manage');
}

export type EmailQuestion =
  /** Know the email exists and read its metadata: whoever reads the workspace's activity. */
  | 'email:see'
  /** Set its properties, delete it: its owner only. */
  | 'email:write';

/**
 * Decides a question about one email: the workspace sees its metadata, only its owner changes or
 * deletes it (as only the owner reads its body, `decideEmailContent`).
 */
export function decideEmail(
  ws: WorkspaceFacts,
  viewerId: string,
  email: { ownerId: string | null },
  question: EmailQuestion,
): Decision<WorkspaceViewerRole> {
  const see = decideContact(ws, 'contact:read-activity');
  if (question === 'email:see' || !see.allowed) return see;
  const owner = decideEmailContent(viewerId, email).allowed;
  return {
    allowed: owner,
    role: see.role,
    reasons: [
      ...see.reasons,
      owner
        ? allow('email.owner', 'the owner changes and deletes it')
        : deny_('email.owner', 'only its owner changes or deletes it'),
    ],
  };
}

export type UpdateQuestion =
  /** Change the text of an update, reply or comment. */
  | 'update:edit'
  /** Delete it (with its replies). */
  | 'update:delete';

/**
 * Decides a question about an update, reply or comment on an item of a list the viewer stands on
 * as `list` says: whoever reads the list sees it; its author edits and deletes it; the list's
 * co-owners (and above) delete any, to moderate. `isAuthor`: the viewer posted it.
 */
export function decideUpdate(list: ListFacts, isAuthor: boolean, question: UpdateQuestion): Decision<ListRole> {
  const read = listRole(list);
  if (!read.allowed) return read;
  const result = (allowed: boolean, reason: Reason): Decision<ListRole> => ({
    allowed,
    role: read.role,
    reasons: [...read.reasons, reason],
  });
  if (isAuthor) return result(true, allow('update.author', 'its author edits and deletes it'));
  if (question === 'update:delete' && atLeast(read.role, 'CO_OWNER'))
    return result(true, allow('update.moderate', 'co-owners delete any update of their list'));
  return result(
    false,
    deny_(
      'update.author',
      question === 'update:edit' ? 'only its author edits it' : 'only its author and the list co-owners delete it',
    ),
  );
}

/**
 * Whether the viewer may name a principal in a new share of `list`: to whoever cannot see a
 * person, group or right it does not exist (NOT_FOUND, as for a random id). The list's account
 * admins name any person (they share without limits); anyone else the people they see; a group or
 * right is seen by its account's admins and members (`decideGroup`).
 */
export function seesSharePrincipal(
  list: ListFacts,
  principal: { kind: 'USER'; seenByViewer: boolean } | { kind: 'GROUP' | 'RIGHT'; account: AccountFacts },
): boolean {
  if (principal.kind !== 'USER') return decideGroup(principal.account, 'group:see').allowed;
  return principal.seenByViewer || list.workspace.account.role === 'ADMIN';
}

/** Whether the viewer sees a join request: whoever asked, and whoever may decide it. */
export function seesJoinRequest(viewerId: string, request: { userId: string }, decide: Decision): boolean {
  return request.userId === viewerId || decide.allowed;
}

// ---------------------------------------------------------------------------------------------

function allow(rule: string, detail: string): Reason {
  return { rule, effect: 'ALLOW', detail };
}
function deny_(rule: string, detail: string): Reason {
  return { rule, effect: 'DENY', detail };
}
function cap(rule: string, detail: string): Reason {
  return { rule, effect: 'CAP', detail };
}
function grantR(rule: string, detail: string): Reason {
  return { rule, effect: 'GRANT', detail };
}
const denyR = deny_;
function grant<R extends string>(role: R, rule: string, detail: string): Decision<R> {
  return { allowed: true, role, reasons: [grantR(rule, detail)] };
}
function deny<R extends string>(role: R | null, rule: string, detail: string): Decision<R> {
  return { allowed: false, role, reasons: [deny_(rule, detail)] };
}
