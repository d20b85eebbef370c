import { encodeGlobalID, resolveArrayConnection } from '@pothos/plugin-relay';
import { type GraphQLResolveInfo, getArgumentValues } from 'graphql';
import { visibleUsersWhere } from '../../access/load.ts';
import { builder } from '../../builder.ts';
import type { Context } from '../../context.ts';
import {
  CappedByAccountPolicy,
  ConflictError,
  ForbiddenError,
  LastOwnerError,
  NotFoundError,
  RateLimitedError,
  ValidationError,
} from '../../errors.ts';
import {
  type AccessChangeDiff,
  type AccessDifference,
  type ChangeKind,
  PREVIEWABLE,
  previewChange,
} from './service.ts';

/** Mutations with a `dryRun` of their own: the preview needs the change itself to compare. */
const DRY_RUNS = new Set<ChangeKind>(['anonymizeUser', 'removeAccountMember']);

const AccessChangeInput = builder.inputType('AccessChangeInput', {
  description:
    'Exactly one change, given as the input of the mutation that would make it (a ValidationError otherwise).',
  fields: (t) =>
    Object.fromEntries(
      PREVIEWABLE.map((kind) => [
        kind,
        t.field({
          // The mutation's own input type, by name: its fields, defaults and validation come with it.
          type: `${kind[0]?.toUpperCase()}${kind.slice(1)}Input` as never,
          description: `The input of \`${kind}\`.${DRY_RUNS.has(kind) ? ' `dryRun` is ignored: the preview shows the real change.' : ''}`,
        }),
      ]),
    ),
});

const AccessChangeEntry = builder.objectRef<AccessDifference>('AccessChangeEntry').implement({
  description: "One person's (or the link's) access to one list or workspace that the change would alter.",
  fields: (t) => ({
    user: t.prismaField({
      type: 'User',
      nullable: true,
      description:
        'The person; null for anyone with the link, and for a person the viewer may not see (`anyoneWithTheLink` tells which).',
      resolve: (query, e, _args, ctx) =>
        e.userId
          ? ctx.db.user.findFirst({ ...query, where: { id: e.userId, AND: [visibleUsersWhere(ctx.viewer?.id ?? '')] } })
          : null,
    }),
    anyoneWithTheLink: t.boolean({
      description: "Whether the entry is about anyone holding the list's link (no person).",
      resolve: (e) => e.userId === null,
    }),
    resourceType: t.exposeString('resourceType', { description: 'List or Workspace.' }),
    resourceId: t.id({
      description: 'Global id of the list or workspace.',
      resolve: (e) => encodeGlobalID(e.resourceType, e.resourceId),
    }),
    roleBefore: t.exposeString('roleBefore', {
      nullable: true,
      description:
        'Role before the change: a list role (VIEWER, EDITOR, CO_OWNER, CREATOR…) or a workspace role (OWNER, MEMBER, NON_MEMBER); null when none.',
    }),
    roleAfter: t.exposeString('roleAfter', { nullable: true, description: 'Role after the change; null when none.' }),
    reachBefore: t.exposeString('reachBefore', {
      nullable: true,
      description:
        'Workspaces only: how far they reached it before (FULL, LOCKED or LIST); null for lists or no access.',
    }),
    reachAfter: t.exposeString('reachAfter', {
      nullable: true,
      description: 'Workspaces only: how far they reach it after the change; null for lists or no access.',
    }),
  }),
});

const AccessChangePreviewObject = builder.objectRef<AccessChangeDiff>('AccessChangePreview').implement({
  description:
    'What a change would do to access, decided by the same rules as every read and write, without making it. Entries are sorted by person, then resource.',
  fields: (t) => {
    const part = (key: keyof AccessChangeDiff, description: string, name: string) =>
      t.connection(
        {
          type: AccessChangeEntry,
          description,
          resolve: (diff, args) => ({ ...resolveArrayConnection({ args }, diff[key]), all: diff[key] }),
        },
        {
          name,
          description: `Entries of \`${key}\`, paginated.`,
          fields: (c) => ({
            totalCount: c.int({ description: 'How many entries in all.', resolve: (conn) => conn.all.length }),
            peopleCount: c.int({
              description: 'How many distinct principals (people, and anyone with the link) in all.',
              resolve: (conn) => new Set(conn.all.map((e) => e.userId ?? '')).size,
            }),
            listCount: c.int({
              description: 'How many distinct lists in all.',
              resolve: (conn) =>
                new Set(conn.all.filter((e) => e.resourceType === 'List').map((e) => e.resourceId)).size,
            }),
            workspaceCount: c.int({
              description: 'How many distinct workspaces in all.',
              resolve: (conn) =>
                new Set(conn.all.filter((e) => e.resourceType === 'Workspace').map((e) => e.resourceId)).size,
            }),
          }),
        },
        { description: 'One entry.' },
      );
    return {
      gained: part('gained', 'Access someone would get where they had none.', 'AccessGainedConnection'),
      lost: part('lost', 'Access someone would lose entirely.', 'AccessLostConnection'),
      changed: part('changed', 'Access whose role (or workspace reach) would change.', 'AccessChangedConnection'),
    };
  },
});

// The errors plugin hands a mutation's typed error back wrapped so that it reads as its GraphQL
// type; unwrapped, it is the error the mutation threw (an `instanceof` of its class again).
const UNWRAP_ERRORS = Symbol.for('Pothos.unwrapErrors');
const unwrapped = (value: unknown) => {
  (value as { [UNWRAP_ERRORS]?: () => void } | null)?.[UNWRAP_ERRORS]?.();
  return value;
};

/** The input of the one change, as the client sent it (before ids are decoded), for the mutation's resolver. */
function rawChange(info: GraphQLResolveInfo): Record<string, unknown> {
  const field = info.parentType.getFields()[info.fieldName];
  const node = info.fieldNodes[0];
  if (!field || !node) throw new Error('previewAccessChange: no field');
  return (getArgumentValues(field, node, info.variableValues).change ?? {}) as Record<string, unknown>;
}

builder.queryField('previewAccessChange', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: AccessChangePreviewObject,
    description:
      'Who would gain, lose or change access to which lists and workspaces if the change were made, without making it. Allowed to whoever may make the change (otherwise the error the mutation would give); nothing is written, published or mailed.',
    args: { change: t.arg({ type: AccessChangeInput, required: true, description: 'The change to preview.' }) },
    errors: {
      types: [
        ValidationError,
        ForbiddenError,
        NotFoundError,
        ConflictError,
        LastOwnerError,
        CappedByAccountPolicy,
        RateLimitedError,
      ],
      directResult: true,
      union: { name: 'PreviewAccessChangeResult' },
    },
    resolve: async (_root, _args, ctx, info) => {
      const raw = rawChange(info);
      const kinds = PREVIEWABLE.filter((kind) => raw[kind] !== undefined && raw[kind] !== null);
      const kind: ChangeKind | undefined = kinds[0];
      if (!kind || kinds.length > 1)
        throw new ValidationError('Give exactly one change', ['change', ...(kinds.length > 1 ? kinds : [])]);
      const input = DRY_RUNS.has(kind) ? { ...(raw[kind] as object), dryRun: false } : (raw[kind] as object);
      const mutation = info.schema.getMutationType()?.getFields()[kind];
      if (!mutation?.resolve) throw new Error(`previewAccessChange: no mutation ${kind}`);
      const resolve = mutation.resolve;
      const result = await previewChange(ctx, kind, input as Record<string, unknown>, (previewCtx: Context) =>
        Promise.resolve(resolve(undefined, { input }, previewCtx, info)).then(unwrapped),
      );
      if (result instanceof Error) throw result;
      return result;
    },
  }),
);
