import {
  BREAK,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  GraphQLError,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  getLocation,
  getNamedType,
  getOperationAST,
  isAbstractType,
  isInterfaceType,
  isObjectType,
  locatedError,
  type SourceLocation,
  visit,
} from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';
import type { PlannedOperation, Planner } from './planned-queries.ts';

/** Executions of one operation by graphql's executor before it is compiled. */
export const COMPILE_AFTER = 2;

/** One operation of a document: compiled once it proved hot, or left to graphql's executor. */
interface Operation {
  schema: GraphQLSchema;
  runs: number;
  /** null: never compiled (not a query, incremental delivery, a `__` key, or graphql-jit refused it). */
  compiled: CompiledQuery | null | undefined;
  /** Its plan, when a planner serves it (src/planned-queries.ts). */
  planned: PlannedOperation | null;
}

/**
 * Whether the document asks for incremental delivery, which graphql-jit does not do, or names a
 * response key `__…` (an alias such as `__proto__`), which graphql-jit's answer objects lose.
 */
function onlyForGraphql(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Directive(node) {
      if (node.name.value === 'defer' || node.name.value === 'stream') {
        found = true;
        return BREAK;
      }
      return undefined;
    },
    Field(node) {
      if (node.alias?.value.startsWith('__')) {
        found = true;
        return BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** Whether an operation of the document may leave graphql's executor: a query graphql-jit answers as graphql does. */
function compilable(args: ExecutionArgs): boolean {
  const operation = getOperationAST(args.document, args.operationName);
  return operation?.operation === 'query' && !onlyForGraphql(args.document);
}

function compile(args: ExecutionArgs): CompiledQuery | null {
  const compiled = compileQuery(args.schema, args.document, args.operationName ?? undefined);
  return isCompiledQuery(compiled) ? compiled : null;
}

/**
 * Executes hot queries with graphql-jit: an operation run COMPILE_AFTER times by graphql's
 * executor is compiled into one function (fields collected, arguments and types resolved once,
 * per document rather than per field and request), kept as long as its parsed document is (yoga's
 * parser cache). Mutations, subscriptions and documents with @defer/@stream stay with graphql's
 * executor, and so does a request whose variables do not fit, so that its errors read as
 * graphql's. The executor it replaces is the one the plugins before it set up; the plugins after
 * it (tracing, metrics, masking) wrap it as they wrap any executor.
 */
export function compiledQueries({
  onCompiledRun = () => {},
  onPlannedRun = () => {},
  planners = [],
}: {
  /** Called for each request a compiled operation answers. */
  onCompiledRun?: () => void;
  /** Called for each request a plan answers. */
  onPlannedRun?: () => void;
  /** Who may plan a hot operation (src/planned-queries.ts), tried in order. */
  planners?: readonly Planner[];
} = {}): Plugin {
  const documents = new WeakMap<DocumentNode, Map<string, Operation>>();
  const operationOf = (args: ExecutionArgs): Operation => {
    let operations = documents.get(args.document);
    if (!operations) {
      operations = new Map();
      documents.set(args.document, operations);
    }
    const name = args.operationName ?? '';
    let operation = operations.get(name);
    if (!operation || operation.schema !== args.schema) {
      operation = { schema: args.schema, runs: 0, compiled: undefined, planned: null };
      operations.set(name, operation);
    }
    return operation;
  };
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn((args) => {
        const operation = operationOf(args);
        if (operation.compiled === undefined && ++operation.runs > COMPILE_AFTER) {
          const hot = compilable(args);
          operation.compiled = hot ? compile(args) : null;
          operation.planned = hot ? planned(planners, args) : null;
        }
        const compiled = operation.compiled;
        const run = () => {
          if (!compiled) return executeFn(args);
          const answer = (result: ExecutionResult) => {
            if (!('data' in result)) return executeFn(args);
            onCompiledRun();
            return result.errors?.length ? located(result, args.document) : result;
          };
          const result = compiled.query(args.rootValue, args.contextValue, args.variableValues);
          return result instanceof Promise ? result.then(answer) : answer(result);
        };
        if (!operation.planned) return run();
        // A request the plan declines, or that fails, runs again as any other: its errors are the executor's.
        return operation.planned(args).then(
          (result) => {
            if (!result) return run();
            onPlannedRun();
            return result;
          },
          () => run(),
        );
      });
    },
  };
}

/** The plan of the first planner that serves the operation, or null. */
function planned(planners: readonly Planner[], args: ExecutionArgs): PlannedOperation | null {
  for (const plan of planners) {
    const operation = plan(args.schema, args);
    if (operation) return operation;
  }
  return null;
}

/** Per document, its fields by where they start (`line:column`), made when one of its answers has errors. */
const fieldsAt = new WeakMap<DocumentNode, Map<string, FieldNode>>();

function fieldAt(document: DocumentNode, where: SourceLocation): FieldNode | undefined {
  let fields = fieldsAt.get(document);
  if (!fields) {
    const found = new Map<string, FieldNode>();
    visit(document, {
      Field(node) {
        if (!node.loc) return;
        const { line, column } = getLocation(node.loc.source, node.loc.start);
        found.set(`${line}:${column}`, node);
      },
    });
    fields = found;
    fieldsAt.set(document, fields);
  }
  return fields.get(`${where.line}:${where.column}`);
}

/**
 * `result` with its errors as graphql's executor makes them (graphql's `locatedError`: the AST
 * nodes they are about, from which yoga and the masking derive `locations`), in graphql's order
 * (`errors` before `data`). graphql-jit gives its own errors, with `locations` but no nodes.
 */
function located(result: ExecutionResult, document: DocumentNode): ExecutionResult {
  const errors = (result.errors ?? []).map((error) => {
    const nodes = (error.locations ?? []).flatMap((where) => fieldAt(document, where) ?? []);
    return error.originalError
      ? locatedError(error.originalError, nodes, error.path)
      : new GraphQLError(error.message, { nodes, path: error.path ?? null });
  });
  return { errors, data: result.data };
}

/** A response path as graphql's executor links them: one object per field and list index, shared by what is beneath it. */
interface SharedPath {
  readonly prev: SharedPath | undefined;
  readonly key: string | number;
  readonly typename: string | undefined;
  /** The paths beneath it made so far in its request. */
  children?: Map<string | number, SharedPath>;
}

/** Per request (context), the shared paths of its first level. */
const firstLevels = new WeakMap<object, Map<string | number, SharedPath>>();

/**
 * The shared path of `path` in the request of `context`. graphql-jit builds a fresh chain of
 * `{ key, prev }` for every resolver call, whereas graphql's executor links each field's path to
 * its parent's once; @pothos/plugin-prisma finds what a parent field loaded by the identity of
 * those links, so without this every relation below a list would load its rows again.
 */
function sharedPath(context: object, path: Pick<SharedPath, 'key' | 'prev'>): SharedPath {
  let level: Map<string | number, SharedPath> | undefined;
  const prev = path.prev && sharedPath(context, path.prev);
  if (prev) {
    level = prev.children ??= new Map();
  } else {
    level = firstLevels.get(context);
    if (!level) {
      level = new Map();
      firstLevels.set(context, level);
    }
  }
  let shared = level.get(path.key);
  if (!shared) {
    shared = { prev, key: path.key, typename: undefined };
    level.set(path.key, shared);
  }
  return shared;
}

/**
 * Whether values of `type` may be @pothos/plugin-prisma's rows: a prisma object or interface, an
 * abstract type one of whose types is, or a connection (or edge) of them.
 */
function holdsPrismaRows(schema: GraphQLSchema, type: GraphQLOutputType, seen = new Set<GraphQLNamedType>()): boolean {
  const named = getNamedType(type);
  if (seen.has(named)) return false;
  seen.add(named);
  if ((isObjectType(named) || isInterfaceType(named)) && named.extensions.pothosPrismaModel) return true;
  if (isAbstractType(named)) return schema.getPossibleTypes(named).some((t) => holdsPrismaRows(schema, t, seen));
  if (!isObjectType(named)) return false;
  const { edges, node } = named.getFields();
  if (edges) return holdsPrismaRows(schema, edges.type, seen);
  return !!node && named.name.endsWith('Edge') && holdsPrismaRows(schema, node.type, seen);
}

/**
 * Whether a field's resolver may look up or record what @pothos/plugin-prisma loaded, by path:
 * its relations and related connections, the fields that return its rows (prismaField,
 * prismaConnection), and relay's node fields.
 */
function findsLoadsByPath(
  schema: GraphQLSchema,
  type: GraphQLObjectType,
  field: GraphQLField<unknown, unknown>,
): boolean {
  if (field.extensions.pothosPrismaSelect) return true;
  if (type.name === 'Query' && (field.name === 'node' || field.name === 'nodes')) return true;
  return holdsPrismaRows(schema, field.type);
}

/**
 * Readies `schema` for compiled execution, in place: a field that only reads a property of its
 * parent (Pothos' `expose*`, not wrapped by any plugin) loses its resolver, so both executors read
 * the property themselves (graphql-jit inlines it, and builds no resolve info for it); a resolver
 * that finds loads by path is handed graphql's shared paths (see sharedPath) when graphql-jit
 * calls it, recognised by a path without graphql's `typename`.
 */
export function forCompiledExecution(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const resolve = field.resolve;
      if (!resolve) continue;
      const { pothosExposedField, pothosResolveWrapped } = field.extensions as {
        pothosExposedField?: string;
        pothosResolveWrapped?: boolean;
      };
      if (pothosExposedField === field.name && !pothosResolveWrapped) {
        field.resolve = undefined;
      } else if (findsLoadsByPath(schema, type, field)) {
        field.resolve = (parent, args, context, info) => {
          if (!('typename' in info.path)) (info as { path: SharedPath }).path = sharedPath(context, info.path);
          return resolve(parent, args, context, info);
        };
      }
    }
  }
  return schema;
}
