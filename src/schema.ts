import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.ts';
import { withAccessRevisions } from './cache/revision-api.ts';
import { forCompiledExecution } from './compiled-queries.ts';
import './modules/error/schema.ts';
import './modules/user/schema.ts';
import './modules/account/schema.ts';
import './modules/workspace/schema.ts';
import './modules/invitation/schema.ts';
import './modules/audit/schema.ts';
import './modules/explain/schema.ts';
import './modules/explain/history.ts';
import './modules/list/events.ts';
import './modules/presence/schema.ts';
import './modules/group/schema.ts';
import './modules/list/schema.ts';
import './modules/share/schema.ts';
import './modules/item/schema.ts';
import './modules/contact/schema.ts';
import './modules/email/schema.ts';
import './modules/anonymize/schema.ts';
import './modules/preview/schema.ts';
import './modules/report/schema.ts';

/** The whole GraphQL schema, sorted so that schema.graphql diffs stay readable. */
export const schema = forCompiledExecution(lexicographicSortSchema(withAccessRevisions(builder.toSchema())));
