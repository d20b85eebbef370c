import {
  type DocumentNode,
  defaultFieldResolver,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLField,
  type GraphQLFieldResolver,
  GraphQLNonNull,
  type GraphQLObjectType,
  type GraphQLSchema,
  GraphQLString,
  getNamedType,
  getOperationAST,
  isObjectType,
  isUnionType,
  Kind,
  parse,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import type { Context } from '../context.ts';
import { AppError, RevisionNotReachedError, ValidationError } from '../errors.ts';
import { type Revision, type Revisions, stricter } from './revisions.ts';

/** The header that hands an access revision back for every operation of a request. */
export const REVISION_HEADER = 'x-access-revision';

const MIN_REVISION = 'minRevision';

/**
 * Adds the access revision to the schema, in one place for every operation (so a new mutation or
 * query cannot forget it): `accessRevision: String!` on every mutation's payload (the member of
 * its result union that is not an error), and `minRevision: String` on every field of Query and
 * Subscription, honoured before the field resolves (or subscribes): the instance first catches up
 * with the revision (src/cache/revisions.ts), and the caches the field uses then serve it only if
 * they have applied it. The schema is changed as built, before it is sorted (which rebuilds every
 * type from its config).
 */
export function withAccessRevisions(schema: GraphQLSchema): GraphQLSchema {
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    for (const payload of payloadTypes(field)) {
      payload.getFields().accessRevision ??= {
        name: 'accessRevision',
        description:
          'The access revision of this change. Hand it back (`minRevision`, or the X-Access-Revision header) to be answered, by any instance, as of this change or later; its format is not a contract.',
        type: new GraphQLNonNull(GraphQLString),
        args: [],
        resolve: (_payload, _args, ctx: Context) => ctx.revisions.issued(),
        extensions: {},
        deprecationReason: undefined,
        astNode: undefined,
      };
    }
  }
  for (const root of [schema.getQueryType(), schema.getSubscriptionType()]) {
    for (const field of Object.values(root?.getFields() ?? {})) {
      field.args = [
        ...field.args,
        {
          name: MIN_REVISION,
          description:
            'An accessRevision a mutation returned: the answer reflects that change and every earlier one (waiting up to ACCESS_REVISION_WAIT_MS for this instance to catch up; REVISION_NOT_REACHED if it cannot). VALIDATION when malformed or ahead of every change.',
          type: GraphQLString,
          defaultValue: undefined,
          extensions: {},
          deprecationReason: undefined,
          astNode: undefined,
        },
      ];
      if (root === schema.getSubscriptionType()) field.subscribe = honouring(field.subscribe ?? defaultFieldResolver);
      else field.resolve = honouring(field.resolve ?? defaultFieldResolver);
    }
  }
  return schema;
}

/** The payload types a mutation field can return: its type, or its result union's non-error members. */
function payloadTypes(field: GraphQLField<unknown, unknown>): GraphQLObjectType[] {
  const type = getNamedType(field.type);
  if (isObjectType(type)) return [type];
  if (!isUnionType(type)) return [];
  return type.getTypes().filter((member) => !member.getInterfaces().some((i) => i.name === 'Error'));
}

/** Resolves (or subscribes) once the revision handed back in `minRevision`, if any, is honoured. */
function honouring(resolve: GraphQLFieldResolver<unknown, Context>): GraphQLFieldResolver<unknown, Context> {
  return (root, args, ctx, info) => {
    const token = args[MIN_REVISION];
    if (typeof token !== 'string') return resolve(root, args, ctx, info);
    return ctx.revisions.require(token, [MIN_REVISION]).then(
      (needed) => {
        ctx.minRevision = stricter(ctx.minRevision, needed);
        return resolve(root, args, ctx, info);
      },
      (err: unknown) => {
        throw revisionError(err);
      },
    );
  };
}

/** The GraphQL error for a revision that cannot be honoured (anything else is rethrown as it is). */
export function revisionError(err: unknown): unknown {
  if (err instanceof RevisionNotReachedError) {
    return new GraphQLError(err.message, {
      extensions: {
        code: err.code,
        retryAfterSeconds: err.retryAfterSeconds,
        http: { status: 503, headers: { 'Retry-After': String(err.retryAfterSeconds) } },
      },
    });
  }
  if (err instanceof ValidationError) {
    return new GraphQLError(err.message, { extensions: { code: err.code, path: err.path, http: { status: 400 } } });
  }
  return err;
}

/**
 * Honours the access revisions a request hands back before anything is looked up for it (who
 * its token names, kept answers, remembered facts): the X-Access-Revision header, and the
 * `minRevision` arguments of its operation's root fields. `needed(context)` is what the caches
 * must have applied to serve the operation (null: nothing asked; FROM_DATABASE: none may).
 */
export function accessRevisions(revisions: Revisions, maxTokens: number) {
  const needs = new WeakMap<object, Revision | null>();
  // The root fields' minRevision arguments of each document: literals, or the variables holding them.
  const sources = new LRUCache<string, ArgumentSource[]>({ max: 1_000 });
  const sourcesOf = (query: string, operationName: string | null | undefined): ArgumentSource[] => {
    if (!query.includes(MIN_REVISION)) return [];
    const key = `${operationName ?? ''}\n${query}`;
    let found = sources.get(key);
    if (!found) {
      try {
        found = minRevisionArguments(parse(query, { maxTokens }), operationName);
      } catch {
        found = [];
      }
      sources.set(key, found);
    }
    return found;
  };
  const plugin: Plugin = {
    async onParams({ params, request, context }) {
      const asked: [string, string[]][] = [];
      const header = request.headers.get(REVISION_HEADER);
      if (header !== null) asked.push([header, ['X-Access-Revision']]);
      for (const source of sourcesOf(params.query ?? '', params.operationName)) {
        const value = source.literal ?? (source.variable ? params.variables?.[source.variable] : undefined);
        if (typeof value === 'string') asked.push([value, [MIN_REVISION]]);
      }
      if (!asked.length) return;
      let needed: Revision | null = null;
      try {
        for (const [token, path] of asked) needed = stricter(needed, await revisions.require(token, path));
      } catch (err) {
        throw err instanceof AppError ? revisionError(err) : err;
      }
      needs.set(context, needed);
    },
  };
  return { plugin, needed: (context: object): Revision | null => needs.get(context) ?? null };
}

interface ArgumentSource {
  literal?: string;
  variable?: string;
}

function minRevisionArguments(document: DocumentNode, operationName: string | null | undefined): ArgumentSource[] {
  const operation = getOperationAST(document, operationName);
  if (!operation || operation.operation === 'mutation') return [];
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const found: ArgumentSource[] = [];
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        for (const arg of selection.arguments ?? []) {
          if (arg.name.value !== MIN_REVISION) continue;
          if (arg.value.kind === Kind.STRING) found.push({ literal: arg.value.value });
          else if (arg.value.kind === Kind.VARIABLE) found.push({ variable: arg.value.name.value });
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) visit(fragment.selectionSet);
      }
    }
  };
  visit(operation.selectionSet);
  return found;
}
