import { type ExplainedDecision, explainAccount, explainWorkspace } from '../../access/explain.ts';
import { Access } from '../../access/load.ts';
import type { Reason } from '../../access/rules.ts';
import { builder } from '../../builder.ts';
import type { Context } from '../../context.ts';
import { UserType } from '../user/schema.ts';

/** What `explainAccess` (and `accessAt`) returns: the effective role and every decision with its reasons. */
export interface Explanation {
  resourceType: string;
  userId: string;
  role: string | null;
  decisions: ExplainedDecision[];
  /** The past instant explained (`accessAt`); absent: now. */
  at?: Date;
}

/** Explains one kind of resource for a user, or returns null when the asker may not know. */
export type Explainer = (
  ctx: Context & { viewer: NonNullable<Context['viewer']> },
  id: string,
  subject: Access,
) => Promise<Explanation | null>;

const explainers = new Map<string, Explainer>();

/** Lets a module explain its resource type (Workspace, Account here; List in the list module). */
export function registerExplainer(typename: string, explainer: Explainer): void {
  explainers.set(typename, explainer);
}

const AccessReasonObject = builder.objectRef<Reason>('AccessReason').implement({
  description: 'One rule that counted in a decision.',
  fields: (t) => ({
    rule: t.exposeString('rule', {
      description: 'Stable rule name, e.g. `workspace.rule`, `account.cap`, `list.share.group`.',
    }),
    effect: t.exposeString('effect', { description: 'ALLOW or GRANT counted for; DENY or CAP against.' }),
    detail: t.exposeString('detail', { description: 'The rule in words.' }),
    expiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the grant behind it ends (an expiring share, link or membership); null: it does not.',
      resolve: (r) => r.expiresAt ?? null,
    }),
  }),
});

const AccessDecisionObject = builder.objectRef<ExplainedDecision>('AccessDecision').implement({
  description: 'The answer to one question, with every rule that decided it.',
  fields: (t) => ({
    question: t.exposeString('question', { description: 'e.g. `workspace:read`, `CREATE_MAIN_LIST`, `list:edit`.' }),
    allowed: t.exposeBoolean('allowed', { description: 'The answer.' }),
    reasons: t.field({ type: [AccessReasonObject], description: 'Why.', resolve: (d) => d.reasons }),
  }),
});

export const AccessExplanationObject = builder.objectRef<Explanation>('AccessExplanation').implement({
  description:
    "How a person stands on a resource: their role and each decision's rules (which rule allowed or denied, which cap applied).",
  fields: (t) => ({
    resourceType: t.exposeString('resourceType', { description: 'Account, Workspace or List.' }),
    user: t.prismaField({
      type: 'User',
      description: 'Whose access is explained.',
      resolve: (query, e, _args, ctx) => ctx.db.user.findUniqueOrThrow({ ...query, where: { id: e.userId } }),
    }),
    role: t.exposeString('role', { nullable: true, description: 'Their effective role there, if any.' }),
    decisions: t.field({
      type: [AccessDecisionObject],
      description: 'Each question answered.',
      resolve: (e) => e.decisions,
    }),
    at: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'The past instant explained (`accessAt`); null: now (`explainAccess`).',
      resolve: (e) => e.at ?? null,
    }),
  }),
});

registerExplainer('Workspace', async (ctx, id, subject) => {
  const own = subject.viewer?.id === ctx.viewer.id;
  // One's own access is explained only where one may know the workspace: an invisible one and a
  // missing one answer the same.
  const question = own ? 'workspace:see' : 'workspace:manage';
  if (!(await ctx.access.decideWorkspace(id, question))?.allowed) return null;
  const facts = await subject.workspace(id);
  if (!facts) return null;
  return { resourceType: 'Workspace', userId: subject.viewer?.id ?? '', ...explainWorkspace(facts) };
});

registerExplainer('Account', async (ctx, id, subject) => {
  const own = subject.viewer?.id === ctx.viewer.id;
  // One's own access is explained only in an account one belongs to (no existence leak).
  if (own ? !(await ctx.access.account(id))?.role : !(await ctx.access.decideAccount(id, 'account:manage'))?.allowed)
    return null;
  const facts = await subject.account(id);
  if (!facts) return null;
  return { resourceType: 'Account', userId: subject.viewer?.id ?? '', ...explainAccount(facts) };
});

builder.queryField('explainAccess', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: AccessExplanationObject,
    nullable: true,
    description:
      "Why a person may or may not act on an account, workspace or list: for owners and admins, or the viewer's own access. Null when not allowed.",
    args: {
      resourceId: t.arg.globalID({ required: true, description: 'An Account, Workspace or List id.' }),
      userId: t.arg.globalID({ for: UserType, description: 'Whose access; the viewer when omitted.' }),
    },
    resolve: async (_root, args, ctx) => {
      const explain = explainers.get(args.resourceId.typename);
      if (!explain) return null;
      const userId = args.userId?.id ?? ctx.viewer.id;
      const user = await ctx.db.user.findUnique({ where: { id: userId }, select: { id: true, email: true } });
      if (!user) return null;
      return explain(ctx, args.resourceId.id, new Access(ctx.db, user));
    },
  }),
);
