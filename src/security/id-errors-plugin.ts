import SchemaBuilder, {
  BasePlugin,
  isThenable,
  type PothosOutputFieldConfig,
  PothosSchemaError,
  PothosValidationError,
  type SchemaTypes,
} from '@pothos/core';
import { type GraphQLFieldResolver, type GraphQLResolveInfo, getNamedType, isNonNullType } from 'graphql';
import { NotFoundError } from '../errors.ts';

/** A global id that does not decode (thrown by the builder's `decodeGlobalID`). */
export class MalformedIdError extends PothosValidationError {
  constructor(globalID: string) {
    super(`Invalid global ID: ${globalID}`);
  }
}

/**
 * Whether `error` is @pothos/plugin-relay refusing an id: malformed, or of another type than the
 * argument's; for `node(id:)`, also of a type that is no node, or of no type at all.
 */
function isIdError(error: unknown, node: boolean): boolean {
  if (error instanceof MalformedIdError) return true;
  if (error instanceof PothosValidationError && /^ID: .* is not of type: /.test(error.message)) return true;
  return (
    node &&
    ((error instanceof PothosValidationError && / does not support loading by id$/.test(error.message)) ||
      (error instanceof PothosSchemaError && / has not been implemented$/.test(error.message)))
  );
}

/** What a connection of nothing looks like (a non-null connection cannot be null). */
const EMPTY_CONNECTION = {
  edges: [],
  pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
};

/**
 * An id that names nothing the viewer can see reads as if it named something invisible
 * (DESIGN.md §3): in a mutation's input, a malformed id or an id of another type is that
 * mutation's NotFoundError (the errors plugin, which wraps this one, turns it into its result);
 * in an argument of a nullable field, the field is null (a connection: empty). Ids are decoded by the relay plugin's
 * argument mappers, before any resolver, which is where this catches them.
 */
export class IdErrorsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapArgMappers(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object> | undefined,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> | undefined {
    // Pothos offers every field's resolver here; only those with mapped (decoded) arguments can
    // meet an id error. Wrapping the others too made every field of every object a promise.
    if (!resolver || !fieldConfig.argMappers.length) return resolver;
    const mutation = fieldConfig.kind === 'Mutation';
    const node = fieldConfig.kind === 'Query' && (fieldConfig.name === 'node' || fieldConfig.name === 'nodes');
    const recover = (error: unknown, info: GraphQLResolveInfo) => {
      if (!isIdError(error, node)) throw error;
      if (mutation) throw new NotFoundError();
      if (!isNonNullType(info.returnType)) return null;
      if (getNamedType(info.returnType).name.endsWith('Connection')) return EMPTY_CONNECTION;
      throw error;
    };
    return (parent, args, context, info) => {
      let result: unknown;
      try {
        result = resolver(parent, args, context, info);
      } catch (error) {
        return recover(error, info);
      }
      return isThenable(result) ? Promise.resolve(result).catch((error: unknown) => recover(error, info)) : result;
    };
  }
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      idErrors: IdErrorsPlugin<Types>;
    }
  }
}

SchemaBuilder.registerPlugin('idErrors', IdErrorsPlugin);

export default 'idErrors' as const;
