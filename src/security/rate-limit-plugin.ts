import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import type { Context } from '../context.ts';
import { callerOf } from './rate-limits.ts';

/**
 * Spends the caller's mutation budget before every mutation resolver runs. Registered after the
 * errors plugin, so the `RateLimitedError` it throws comes back as data in the mutation's result
 * union (every union has it: it is one of the errors plugin's default types).
 */
export class RateLimitPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    if (fieldConfig.kind !== 'Mutation') return resolver;
    return async (parent, args, context, info) => {
      const ctx = context as Context;
      await ctx.limits.mutation(callerOf(ctx));
      return resolver(parent, args, context, info);
    };
  }
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      rateLimit: RateLimitPlugin<Types>;
    }
  }
}

SchemaBuilder.registerPlugin('rateLimit', RateLimitPlugin);

export default 'rateLimit' as const;
