import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.ts';
import './modules/error/schema.ts';
import './modules/user/schema.ts';
import './modules/account/schema.ts';
import './modules/workspace/schema.ts';
import './modules/invitation/schema.ts';
import './modules/audit/schema.ts';
import './modules/explain/schema.ts';

/** The whole GraphQL schema, sorted so that schema.graphql diffs stay readable. */
export const schema = lexicographicSortSchema(builder.toSchema());
