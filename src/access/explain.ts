import type { AccountFacts, ListFacts, WorkspaceFacts } from './facts.ts';
import {
  decideAccount,
  decideList,
  decideWorkspace,
  type ListQuestion,
  listRole,
  type Reason,
  WORKSPACE_ACTIONS,
  type WorkspaceQuestion,
} from './rules.ts';

/** One answer of an explanation: may they, and every rule that decided it. */
export interface ExplainedDecision {
  question: string;
  allowed: boolean;
  reasons: Reason[];
}

/** How a person stands on a resource: the effective role and every decision with its reasons. */
export interface Explained {
  role: string | null;
  decisions: ExplainedDecision[];
}

export const WORKSPACE_QUESTIONS: readonly WorkspaceQuestion[] = [
  'workspace:see',
  'workspace:list',
  'workspace:overview',
  'workspace:lists',
  'workspace:people',
  'workspace:subscribers',
  'workspace:read',
  'workspace:manage',
  'workspace:join',
  'workspace:request-join',
  'workspace:leave',
  ...WORKSPACE_ACTIONS,
];

export const LIST_QUESTIONS: readonly ListQuestion[] = [
  'list:read',
  'list:edit',
  'list:copy',
  'list:manage-access',
  'list:delete',
  'list:set-global',
  'list:post-update',
  'list:reply',
  'list:comment',
];

const ACCOUNT_QUESTIONS = ['account:read', 'account:manage', 'account:create-workspace'] as const;

/** Every workspace question answered for the person the facts are about. */
export function explainWorkspace(facts: WorkspaceFacts): Explained {
  const decisions = WORKSPACE_QUESTIONS.map((question) => {
    const d = decideWorkspace(facts, question);
    return { question, allowed: d.allowed, reasons: d.reasons };
  });
  return { role: decideWorkspace(facts, 'workspace:see').role, decisions };
}

/** Every account question answered for the person the facts are about. */
export function explainAccount(facts: AccountFacts): Explained {
  const decisions = ACCOUNT_QUESTIONS.map((question) => {
    const d = decideAccount(facts, question);
    return { question, allowed: d.allowed, reasons: d.reasons };
  });
  return { role: facts.role, decisions };
}

/** The role on a list with every grant that produced it, then every list question answered. */
export function explainList(facts: ListFacts): Explained {
  const role = listRole(facts);
  const decisions = [
    { question: 'list:role', allowed: role.allowed, reasons: role.reasons },
    ...LIST_QUESTIONS.map((question) => {
      const d = decideList(facts, question);
      return { question, allowed: d.allowed, reasons: d.reasons };
    }),
  ];
  return { role: role.role, decisions };
}
