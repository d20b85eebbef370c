import { GraphQLError } from 'graphql';
import { explainAccount, explainList, explainWorkspace } from '../../access/explain.ts';
import { historyBegins, loadPastFacts, type PastFacts, type PastResource, pastResource } from '../../access/history.ts';
import { decideAccessAt, decideWorkspace, listRole } from '../../access/rules.ts';
import { builder } from '../../builder.ts';
import { UserType } from '../user/schema.ts';
import { AccessExplanationObject, type Explanation } from './schema.ts';

const PAST_TYPES: readonly string[] = ['Account', 'Workspace', 'List'] satisfies PastResource['type'][];

/** A bad `at`: a typed VALIDATION error, as for a bad `after` of `listEvents`. */
function badInstant(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'VALIDATION', path: ['at'] } });
}

/** How `userId` stood on the resource by the facts of then, and whether they could see it; null: it did not exist. */
function explainPast(
  facts: PastFacts,
  resource: PastResource,
  userId: string,
): { explained: Omit<Explanation, 'resourceType' | 'userId'>; saw: boolean } | null {
  switch (resource.type) {
    case 'List': {
      const list = facts.list(resource.id, userId);
      return list && { explained: explainList(list), saw: listRole(list).allowed };
    }
    case 'Workspace': {
      const ws = facts.workspace(resource.id, userId);
      return ws && { explained: explainWorkspace(ws), saw: decideWorkspace(ws, 'workspace:see').allowed };
    }
    case 'Account': {
      const account = facts.account(resource.id, userId);
      return account && { explained: explainAccount(account), saw: account.role !== null };
    }
  }
}

builder.queryField('accessAt', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: AccessExplanationObject,
    nullable: true,
    description:
      "How a person's access to a list, workspace or account stood at a past instant: their role then and every decision with its reasons as they were, rebuilt from the audit trail alone (the access history) and decided by today's rules at that instant, expiries included. A list or workspace deleted since answers for the time it existed. Allowed to the admins of the account that owns the resource, about anyone, and to the person asked about, about what they could see then; null otherwise, and when the resource did not exist then (the same as for an id that names nothing). A VALIDATION error (path `at`) for an instant in the future or before the history began (README: history coverage).",
    args: {
      userId: t.arg.globalID({ for: UserType, required: true, description: 'Whose access.' }),
      resourceId: t.arg.globalID({ required: true, description: 'A List, Workspace or Account id.' }),
      at: t.arg({ type: 'DateTime', required: true, description: 'The instant; at most now.' }),
    },
    resolve: async (_root, args, ctx) => {
      const at = args.at;
      if (at.getTime() > Date.now()) throw badInstant('`at` is in the future: access is known up to now');
      const begins = await historyBegins(ctx.db);
      if (!begins || at < begins)
        throw badInstant(`The access history begins at ${begins?.toISOString() ?? 'no instant yet'}`);
      const type = args.resourceId.typename;
      if (!PAST_TYPES.includes(type)) return null;
      const [user, resource] = await Promise.all([
        ctx.db.user.findUnique({ where: { id: args.userId.id }, select: { id: true } }),
        pastResource(ctx.db, type as PastResource['type'], args.resourceId.id),
      ]);
      if (!user || !resource) return null;
      const [viewerAccount, facts] = await Promise.all([
        ctx.access.account(resource.accountId),
        loadPastFacts(ctx.db, resource, user.id, at),
      ]);
      const past = explainPast(facts, resource, user.id);
      const decision = decideAccessAt({
        own: user.id === ctx.viewer.id,
        viewerAccountRole: viewerAccount?.role ?? null,
        sawItThen: past?.saw ?? false,
      });
      if (!decision.allowed || !past) return null;
      return { resourceType: type, userId: user.id, ...past.explained, at };
    },
  }),
);
