import type {
  AccountRole,
  GeneralAccess,
  ListKind,
  ListRole,
  MemberInviters,
  WorkspaceAction,
  WorkspaceAudience,
  WorkspaceCreators,
  WorkspaceRole,
  WorkspaceType,
} from '../generated/prisma/enums.ts';

export type {
  AccountRole,
  GeneralAccess,
  ListKind,
  ListRole,
  MemberInviters,
  WorkspaceAction,
  WorkspaceAudience,
  WorkspaceCreators,
  WorkspaceRole,
  WorkspaceType,
};

/** The plain data every rule decides on. Fetched by the loader in `load.ts`, never by a rule. */

/** An account's policy: the caps that every workspace of it lives under. */
export interface AccountPolicyFacts {
  workspaceCreators: WorkspaceCreators;
  externalSharing: boolean;
  /** Who may bring a person from outside the account in as MEMBER (admins always may). */
  memberInviters: MemberInviters;
  /** Email domains whose people any member may bring in as MEMBER. */
  memberDomains: readonly string[];
  /** Explicit caps; a missing (action, role) falls back to `DEFAULT_CAPS`. */
  caps: ReadonlyArray<{ action: WorkspaceAction; role: AccountRole; allowed: boolean }>;
}

/** What the viewer is in one account. `role: null` means not in it at all. */
export interface AccountFacts {
  accountId: string;
  role: AccountRole | null;
  policy: AccountPolicyFacts;
}

/** One workspace as the viewer stands in it. */
export interface WorkspaceFacts {
  workspaceId: string;
  type: WorkspaceType;
  account: AccountFacts;
  /** The viewer's membership role, or null when not a member. */
  memberRole: WorkspaceRole | null;
  /** The viewer reaches at least one list of this workspace through a share or general access. */
  reachesAList: boolean;
  /** When the viewer's membership ends (`inviteToWorkspace(expiresAt)`); null: it does not. */
  memberExpiresAt?: Date | null;
  /** The owner's explicit rules; a missing (audience, action) falls back to `DEFAULT_RULES`. */
  rules: ReadonlyArray<{ audience: WorkspaceAudience; action: WorkspaceAction; allowed: boolean }>;
  /**
   * The past instant these facts describe (`accessAt`, rebuilt from the access history); absent:
   * now. Expiries of the workspace and of its lists' grants are judged at it.
   */
  asOf?: Date;
}

/** A grant of a list role by a share. */
export interface ShareGrant {
  shareId: string;
  role: ListRole;
  via: 'USER' | 'GROUP' | 'RIGHT';
  principalId: string;
  /** When the share ends; null or absent: it does not. An ended share is no grant. */
  expiresAt?: Date | null;
}

/** One list as the viewer stands on it. */
export interface ListFacts {
  listId: string;
  kind: ListKind;
  generalAccess: GeneralAccess;
  generalRole: ListRole;
  /** The viewer made it. */
  isCreator: boolean;
  /** The viewer presented the list's current link token. */
  hasValidLinkToken: boolean;
  /** When ANYONE_WITH_LINK stops opening the list; null or absent: it does not. */
  linkExpiresAt?: Date | null;
  /** Shares that name the viewer, a group the viewer is a direct member of, or a right the viewer holds. */
  grants: ReadonlyArray<ShareGrant>;
  workspace: WorkspaceFacts;
}
