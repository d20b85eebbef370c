import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import { UserType } from '../user/schema.ts';
import { ANONYMIZATION_STEP_KINDS, type AnonymizationStep, anonymizeUser } from './service.ts';

const AnonymizationStepKindEnum = builder.enumType('AnonymizationStepKind', {
  description:
    'What one step of anonymisation does: remove a share or membership, pass a list or workspace to the admin, redact, scrub.',
  values: ANONYMIZATION_STEP_KINDS,
});

export const AnonymizationStepObject = builder.objectRef<AnonymizationStep>('AnonymizationStep').implement({
  description: 'One change anonymisation or removal from an account makes (or, in a dry run, would make).',
  fields: (t) => ({
    kind: t.field({ type: AnonymizationStepKindEnum, description: 'What the step does.', resolve: (s) => s.kind }),
    resourceType: t.exposeString('resourceType', {
      description: 'The kind of resource changed: Share, List, Workspace, Group, Right, Account, User…',
    }),
    resourceId: t.id({
      description: 'Global id of the resource changed.',
      resolve: (s) => encodeGlobalID(s.resourceType, s.resourceId),
    }),
    accountId: t.id({
      nullable: true,
      description: 'Global id of the account the resource belongs to.',
      resolve: (s) => (s.accountId ? encodeGlobalID('Account', s.accountId) : null),
    }),
    role: t.exposeString('role', { nullable: true, description: 'The role removed or passed on, e.g. EDITOR, OWNER.' }),
  }),
});

const AnonymizeUserInput = builder.inputType('AnonymizeUserInput', {
  description: 'Whom to anonymise; `dryRun: true` returns the plan and changes nothing.',
  fields: (t) => ({
    userId: t.globalID({ required: true, for: UserType, description: 'The person.' }),
    dryRun: t.boolean({ defaultValue: false, description: 'Only return the plan.' }),
  }),
});

const AnonymizeUserPayload = builder.simpleObject('AnonymizeUserPayload', {
  description: 'What anonymisation did, or would do in a dry run; empty once the person is fully anonymised.',
  fields: (t) => ({
    userId: t.id({ description: 'Global id of the person.' }),
    dryRun: t.boolean({ description: 'Whether nothing was changed.' }),
    steps: t.field({ type: [AnonymizationStepObject], description: 'Every change, in the order made.' }),
  }),
});

builder.mutationField('anonymizeUser', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: AnonymizeUserPayload,
    description:
      'GDPR erasure (account admins): replaces personal data, removes shares and memberships, passes created lists and owned workspaces to the admin, ends sessions. Idempotent; every step audited.',
    args: { input: t.arg({ type: AnonymizeUserInput, required: true }) },
    errors: {
      types: [ValidationError, ForbiddenError, NotFoundError],
      directResult: true,
      union: { name: 'AnonymizeUserResult' },
    },
    resolve: async (_root, { input }, ctx) => {
      const dryRun = input.dryRun ?? false;
      const result = await anonymizeUser(ctx, { userId: input.userId.id, dryRun });
      return { userId: encodeGlobalID('User', result.userId), dryRun, steps: result.steps };
    },
  }),
);
