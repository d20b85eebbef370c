import { complexityFromQuery, type FieldComplexityValue } from '@pothos/plugin-complexity';
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  getOperationAST,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type SelectionSetNode,
  visit,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** A page's size when the query names none, and the most one may ask (@pothos/plugin-relay's defaults). */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
/** What a plain list (not a connection) is counted as: its length is not asked for. */
const PLAIN_LIST_MULTIPLIER = 10;

/**
 * What one field costs (@pothos/plugin-complexity's `fieldComplexity`): 1, and what is selected
 * under it counted once per node it may return: `first`/`last` of a connection (the page size
 * when none is given, at most MAX_PAGE_SIZE), 10 for a plain list, 1 otherwise. A connection's
 * `edges` and `nodes` are counted once, since the connection already counted its page.
 */
export function fieldComplexity(
  args: Record<string, unknown>,
  _ctx: unknown,
  field: { name: string; type: GraphQLOutputType },
): FieldComplexityValue {
  const size = args.first ?? args.last;
  if (typeof size === 'number' || 'first' in args || 'last' in args) {
    return {
      field: 1,
      multiplier: Math.min(Math.max(typeof size === 'number' ? size : DEFAULT_PAGE_SIZE, 0), MAX_PAGE_SIZE),
    };
  }
  if (field.name === 'edges' || field.name === 'nodes') return { field: 1, multiplier: 1 };
  return isListType(getNullableType(field.type)) ? { field: 1, multiplier: PLAIN_LIST_MULTIPLIER } : 1;
}

/**
 * The cost of the operation `operationName` of `document`, or a 400 error when it passes `max`.
 * A document whose variables do not fit is left to graphql's own errors.
 */
export function complexityRefusal(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
  max: number,
): GraphQLError | null {
  const operation = getOperationAST(document, operationName);
  if (!operation) return null;
  const fragments = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
  let complexity: number;
  try {
    ({ complexity } = complexityFromQuery(
      { kind: Kind.DOCUMENT, definitions: [operation, ...fragments] },
      { schema, variables: variables ?? {} },
    ));
  } catch {
    // The plugin decodes every argument, and a malformed id or a variable that does not fit
    // throws; such a document may still run (a malformed id reads as null), so it is counted
    // from `first`/`last` alone.
    const root = schema.getRootType(operation.operation);
    if (!root) return null;
    const byName = new Map(fragments.map((f) => [f.name.value, f]));
    complexity = roughComplexity(schema, root, operation.selectionSet, byName, variables ?? {});
  }
  if (complexity <= max) return null;
  return new GraphQLError(
    `Query complexity limit of ${max} exceeded, found ${complexity} (each field counts once per node its lists may return)`,
    { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 }, complexity, maxComplexity: max } },
  );
}

/** The same count as `fieldComplexity`'s, reading only `first`/`last` of each field's arguments. */
function roughComplexity(
  schema: GraphQLSchema,
  type: GraphQLNamedType,
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
): number {
  let total = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const field = isObjectType(type) || isInterfaceType(type) ? type.getFields()[selection.name.value] : undefined;
      if (!field) {
        total += 1;
        continue;
      }
      const args: Record<string, unknown> = {};
      for (const arg of selection.arguments ?? []) {
        if (arg.name.value !== 'first' && arg.name.value !== 'last') continue;
        const value = arg.value;
        args[arg.name.value] =
          value.kind === Kind.INT
            ? Number(value.value)
            : value.kind === Kind.VARIABLE
              ? variables[value.name.value]
              : null;
      }
      const cost = fieldComplexity(args, null, field);
      const { field: own = 1, multiplier = 1 } = typeof cost === 'number' ? { field: cost } : cost;
      const below = selection.selectionSet
        ? roughComplexity(schema, getNamedType(field.type), selection.selectionSet, fragments, variables)
        : 0;
      total += own + below * multiplier;
    } else {
      const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? fragments.get(selection.name.value) : selection;
      if (!fragment) continue;
      const on = fragment.typeCondition ? schema.getType(fragment.typeCondition.name.value) : type;
      total += roughComplexity(schema, on ?? type, fragment.selectionSet, fragments, variables);
    }
  }
  return total;
}

/** Per document, the variables its `first`/`last` arguments read: a count depends on nothing else. */
const pagingVariables = new WeakMap<DocumentNode, string[]>();

function pagingVariablesOf(document: DocumentNode): string[] {
  let names = pagingVariables.get(document);
  if (!names) {
    const found = new Set<string>();
    visit(document, {
      Argument(node) {
        if ((node.name.value === 'first' || node.name.value === 'last') && node.value.kind === Kind.VARIABLE) {
          found.add(node.value.name.value);
        }
      },
    });
    names = [...found];
    pagingVariables.set(document, names);
  }
  return names;
}

/** Different paging values kept per operation; past it, a count is made per request again. */
const MAX_KEPT_COUNTS = 64;

/**
 * Refuses an operation whose complexity (src/security/complexity.ts) passes `max` before it
 * executes. The count depends only on the operation and the values of the variables its
 * `first`/`last` read, so it is made once for each of those and kept with the parsed document
 * (yoga's parser cache keeps the document; the hot list query is counted once, not per request).
 */
export function complexityLimit(max: number): Plugin {
  const kept = new WeakMap<DocumentNode, Map<string, GraphQLError | null>>();
  const refusal = (args: {
    schema: GraphQLSchema;
    document: DocumentNode;
    operationName?: string | null;
    variableValues?: Record<string, unknown> | null;
  }) => {
    const variables = args.variableValues ?? {};
    const key = `${args.operationName ?? ''}|${pagingVariablesOf(args.document)
      .map((name) => (name in variables ? JSON.stringify(variables[name]) : '-'))
      .join(',')}`;
    let counts = kept.get(args.document);
    if (!counts) {
      counts = new Map();
      kept.set(args.document, counts);
    }
    let answer = counts.get(key);
    if (answer === undefined) {
      answer = complexityRefusal(args.schema, args.document, args.operationName, args.variableValues, max);
      if (counts.size < MAX_KEPT_COUNTS) counts.set(key, answer);
    }
    return answer;
  };
  return {
    onExecute: ({ args, setResultAndStopExecution }) => {
      const refused = refusal(args);
      if (refused) setResultAndStopExecution({ errors: [refused] });
    },
    onSubscribe: ({ args, setResultAndStopExecution }) => {
      const refused = refusal(args);
      if (refused) setResultAndStopExecution({ errors: [refused] });
    },
  };
}
