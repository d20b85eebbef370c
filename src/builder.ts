import SchemaBuilder, { completeValue, RootFieldBuilder } from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin, { decodeGlobalID } from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import SimpleObjectsPlugin from '@pothos/plugin-simple-objects';
import ValidationPlugin from '@pothos/plugin-validation';
import { GraphQLError } from 'graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { WorkspaceQuestion } from './access/rules.ts';
import type { Context, Viewer } from './context.ts';
import { RateLimitedError, ValidationError } from './errors.ts';
import type PrismaTypes from './generated/pothos-types.ts';
import { getDatamodel } from './generated/pothos-types.ts';
import { isStorableText } from './modules/inputs.ts';
import { fieldComplexity } from './security/complexity.ts';
import IdErrorsPlugin, { MalformedIdError } from './security/id-errors-plugin.ts';
import RateLimitPlugin from './security/rate-limit-plugin.ts';

/** Scopes ask src/access; they never decide anything themselves. */
interface AuthScopes {
  loggedIn: boolean;
  accountMember: string;
  accountAdmin: string;
  workspace: { id: string; question: WorkspaceQuestion };
}

export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: AuthScopes;
  AuthContexts: { loggedIn: Context & { viewer: Viewer } };
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  Scalars: {
    ID: { Input: string; Output: string | number };
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  // Relay first so auth scopes receive parsed global ids; errors before prisma (see their READMEs);
  // rate limits after errors, so a spent budget is returned as a typed error, and so is an id
  // that names nothing (IdErrorsPlugin).
  plugins: [
    RelayPlugin,
    ScopeAuthPlugin,
    ErrorsPlugin,
    IdErrorsPlugin,
    RateLimitPlugin,
    ValidationPlugin,
    PrismaPlugin,
    SimpleObjectsPlugin,
    ComplexityPlugin,
  ],
  defaultFieldNullability: false,
  // Each field's cost, counted before execution by src/security/complexity.ts (no limit here:
  // the plugin's own check would run inside the first resolver, after the context is built).
  complexity: { fieldComplexity },
  scopeAuth: {
    authorizeOnSubscribe: true,
    treatErrorsAsUnauthorized: true,
    unauthorizedError: (_parent, ctx) =>
      new GraphQLError(ctx.viewer ? 'You are not allowed to do this' : 'Sign in to do this', {
        extensions: { code: ctx.viewer ? 'FORBIDDEN' : 'UNAUTHENTICATED' },
      }),
    authScopes: (ctx) => ({
      loggedIn: ctx.viewer !== null,
      accountMember: async (accountId) => (await ctx.access.decideAccount(accountId, 'account:read'))?.allowed ?? false,
      accountAdmin: async (accountId) =>
        (await ctx.access.decideAccount(accountId, 'account:manage'))?.allowed ?? false,
      workspace: async ({ id, question }) => (await ctx.access.decideWorkspace(id, question))?.allowed ?? false,
    }),
  },
  errors: {
    // Any mutation may be refused for a spent budget (src/security/rate-limits.ts).
    defaultTypes: [RateLimitedError],
    // Input validation failures carry no data the viewer could not already know.
    unsafelyHandleInputErrors: true,
  },
  validation: {
    validationError: (result) => {
      const issue = result.issues[0];
      const path = (issue?.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p));
      return new ValidationError(issue?.message ?? 'Invalid input', path);
    },
  },
  prisma: {
    client: (ctx) => ctx.db,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'warn',
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodeQueryOptions: { nullable: true },
    nodesQueryOptions: false,
    decodeGlobalID: (globalID) => decodeNodeId(globalID),
  },
});

/**
 * A global id's type name and database id, as every `globalID` argument reads it. Decoded ids
 * reach SQL as text: one PostgreSQL cannot store (NUL, unpaired surrogates) is a malformed id,
 * refused like any other, instead of a database error.
 *
 * @throws MalformedIdError when it is not one.
 */
export function decodeNodeId(globalID: string): { typename: string; id: string } {
  let decoded: ReturnType<typeof decodeGlobalID>;
  try {
    decoded = decodeGlobalID(globalID);
  } catch {
    throw new MalformedIdError(globalID);
  }
  if (!isStorableText(decoded.id)) throw new MalformedIdError(globalID);
  return decoded;
}

/**
 * `text` in base64, as plugin-relay's encodeGlobalID writes ids (UTF-8): through `btoa` when it is
 * printable ASCII, where the two agree, about six times quicker than a Buffer per id.
 */
const toBase64 = (text: string) => (/^[ -~]*$/.test(text) ? btoa(text) : Buffer.from(text, 'utf8').toString('base64'));

/** The global id of the `typeName` object of database id `id`, as every node's `id` field gives it. */
export const encodeNodeId = (typeName: string, id: unknown): string => toBase64(`${typeName}:${String(id)}`);

/**
 * @pothos/plugin-relay's `t.globalID` (every node's `id`) awaits its resolver in an async
 * function, so each id of an answer was a promise (four per item of a list page); this one stays
 * synchronous when the value is at hand, and encodes as the plugin's encodeGlobalID does (no
 * custom encoder is configured here).
 */
type GlobalIDResolver = (...args: unknown[]) => unknown;
const fieldBuilderProto = RootFieldBuilder.prototype as unknown as {
  globalID(this: FieldBuilderSelf, options: { resolve: GlobalIDResolver }): unknown;
};
interface FieldBuilderSelf {
  builder: typeof builder;
  field(options: object): unknown;
}
fieldBuilderProto.globalID = function globalID(this: FieldBuilderSelf, { resolve, ...options }) {
  const encode = (result: unknown) => {
    if (!result || typeof result !== 'object') return result;
    const { type, id } = result as { type: Parameters<typeof builder.configStore.getTypeConfig>[0]; id: unknown };
    return encodeNodeId(this.builder.configStore.getTypeConfig(type).name, id);
  };
  return this.field({
    ...options,
    type: 'ID',
    resolve: (...args: unknown[]) => completeValue(resolve(...args), encode),
  });
};

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/**
 * `date.toISOString()`, written out field by field for the years 1000 to 9999 (twice as quick
 * as V8's own, and a list page writes a hundred of them); other years by toISOString.
 */
export function isoString(date: Date): string {
  const year = date.getUTCFullYear();
  if (year < 1000 || year > 9999) return date.toISOString();
  return `${year}-${pad2(date.getUTCMonth() + 1)}-${pad2(date.getUTCDate())}T${pad2(date.getUTCHours())}:${pad2(
    date.getUTCMinutes(),
  )}:${pad2(date.getUTCSeconds())}.${pad3(date.getUTCMilliseconds())}Z`;
}

builder.addScalarType('DateTime', DateTimeResolver, {
  // Answered as the text JSON would write the Date (toJSON is toISOString): a Date in an answer
  // made JSON.stringify call back into it, which doubled the cost of writing a list page.
  serialize: (value) => {
    // A valid Date, as rows give them, at once; anything else as graphql-scalars judges it.
    if (value instanceof Date && !Number.isNaN(value.getTime())) return isoString(value);
    const date = DateTimeResolver.serialize(value);
    return date instanceof Date ? date.toISOString() : date;
  },
});
builder.addScalarType('JSON', JSONResolver);

builder.queryType({ description: 'Everything a viewer can read.' });
builder.mutationType({ description: 'Every change; each takes one input and returns a result union.' });
builder.subscriptionType({ description: 'Live events over graphql-ws.' });
