import {
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLLeafType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  getVariableValues,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  TypeNameMetaFieldDef,
  type ValueNode,
  valueFromAST,
} from 'graphql';

/**
 * Planned execution: an operation whose whole answer one module can read and shape itself, in
 * one pass over rows it loaded, instead of a resolver per field of every row (as Grafast plans an
 * operation once rather than resolving field by field). The module serves a closed set of fields
 * (`Served`); a document that selects any other, or uses directives, or names one response key
 * twice, is not planned and runs as any other; so is a request the plan declines when it runs
 * (say an id of the wrong type, or a page size out of bounds: the executor then gives its own
 * errors). A planned answer is the executor's, byte for byte: test/api/list-read.test.ts holds
 * them together.
 */

/** Plans one operation of a document, once (when it proves hot), or declines (null). */
export type Planner = (schema: GraphQLSchema, args: ExecutionArgs) => PlannedOperation | null;

/** Answers one request of a planned operation, or null to leave it to the executor. */
export type PlannedOperation = (args: ExecutionArgs) => Promise<ExecutionResult | null>;

/**
 * How a served field reads its value from its parent's row (before the type's serialize), given
 * its arguments (coerced once per request) and the request.
 */
export type Getter = (
  parent: Record<string, unknown>,
  args: Record<string, unknown>,
  request: PlannedRequest,
) => unknown;

/** The fields a module serves, by type name then field name, and how each reads its value. */
export type Served = Readonly<Record<string, Readonly<Record<string, Getter>>>>;

/** A field of a plan: its response key and how its value is completed. */
export interface PlannedField {
  key: string;
  name: string;
  /** The argument nodes, to be read with the request's variables (`argumentsOf`). */
  arguments: FieldNode['arguments'];
  field: GraphQLField<unknown, unknown>;
  get: Getter | null;
  /** Beneath an object (or list of them): its plan. */
  selection: PlannedSelection | null;
  shape: Shape;
}

export interface PlannedSelection {
  type: GraphQLObjectType;
  fields: PlannedField[];
  /** Makes its answer object for a value (see `maker`). */
  make: Maker;
}

/** The answer of a planned request is the executor's to give after all. */
export class Declined extends Error {}

/**
 * The plan of `set` on `type`, when every field it selects (through inline fragments and
 * fragment spreads on the same type, as the executor collects them) is served with no directive,
 * no response key twice and no field twice; null otherwise. `__typename` is always served.
 */
export function planSelection(
  schema: GraphQLSchema,
  served: Served,
  type: GraphQLObjectType,
  set: SelectionSetNode,
  fragments: Readonly<Record<string, FragmentDefinitionNode>>,
): PlannedSelection | null {
  const fields: PlannedField[] = [];
  const keys = new Set<string>();
  const names = new Set<string>();
  const collect = (selections: SelectionSetNode): boolean => {
    for (const selection of selections.selections) {
      if (selection.directives?.length) return false;
      if (selection.kind === Kind.FIELD) {
        // A field named twice (under two keys, maybe with other arguments or selections) would
        // need a row loaded twice: left to the executor, as a key given twice.
        const key = selection.alias?.value ?? selection.name.value;
        const name = selection.name.value;
        if (keys.has(key) || (name !== '__typename' && names.has(name))) return false;
        // An answer is a plain object: a key such as `__proto__` is the executor's to write.
        if (key.startsWith('__') && key !== '__typename') return false;
        keys.add(key);
        names.add(name);
        const planned = planField(schema, served, type, selection, fragments);
        if (!planned) return false;
        fields.push(planned);
        continue;
      }
      const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : (fragments[selection.name.value] ?? null);
      if (!fragment) return false;
      if (fragment.typeCondition && fragment.typeCondition.name.value !== type.name) return false;
      if (!collect(fragment.selectionSet)) return false;
    }
    return true;
  };
  return collect(set) ? { type, fields, make: maker(type, fields) } : null;
}

/** A field of a plan, for `node` (its response key and arguments). */
export function plannedField(
  field: GraphQLField<unknown, unknown>,
  node: FieldNode,
  get: Getter | null,
  selection: PlannedSelection | null,
): PlannedField {
  const key = node.alias?.value ?? node.name.value;
  return { key, name: node.name.value, arguments: node.arguments, field, get, selection, shape: shapeOf(field.type) };
}

function planField(
  schema: GraphQLSchema,
  served: Served,
  type: GraphQLObjectType,
  node: FieldNode,
  fragments: Readonly<Record<string, FragmentDefinitionNode>>,
): PlannedField | null {
  const name = node.name.value;
  if (name === '__typename') {
    return plannedField(TypeNameMetaFieldDef, node, null, null);
  }
  const field = type.getFields()[name];
  const get = served[type.name]?.[name];
  if (!field || !get || guarded(type, field)) return null;
  const named = getNamedType(field.type);
  if (isLeafType(named)) {
    return node.selectionSet ? null : plannedField(field, node, get, null);
  }
  if (!isObjectType(named) || !node.selectionSet) return null;
  const selection = planSelection(schema, served, named, node.selectionSet, fragments);
  return selection && plannedField(field, node, get, selection);
}

/** Whether the field or its type asks plugin-scope-auth for a check, which only the executor makes. */
function guarded(type: GraphQLObjectType, field: GraphQLField<unknown, unknown>): boolean {
  const options = (of: { extensions?: unknown }) =>
    ((of.extensions as { pothosOptions?: Record<string, unknown> } | undefined)?.pothosOptions ?? {}) as Record<
      string,
      unknown
    >;
  const fieldOptions = options(field);
  const typeOptions = options(type);
  return (
    fieldOptions.authScopes !== undefined ||
    fieldOptions.grantScopes !== undefined ||
    typeOptions.authScopes !== undefined ||
    typeOptions.grantScopes !== undefined
  );
}

const NO_ARGUMENTS: Record<string, unknown> = Object.freeze({});

/** One request of a planned operation: its context, and each field's arguments, coerced once. */
export class PlannedRequest {
  private readonly args = new Map<PlannedField, Record<string, unknown>>();
  /** The request's variables, coerced as the executor coerces them. */
  private readonly variables: Record<string, unknown>;
  readonly context: unknown;

  /** @throws Declined when the variables do not fit their definitions: the executor says how. */
  constructor(schema: GraphQLSchema, operation: OperationDefinitionNode, args: ExecutionArgs) {
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], args.variableValues ?? {}, {
      maxErrors: 1,
    });
    if (coerced.errors) throw new Declined('variables');
    this.variables = coerced.coerced;
    this.context = args.contextValue;
  }

  private readonly memos = new Map<unknown, unknown>();

  /** What `make` gives, made once per request for `key`. */
  memo<T>(key: unknown, make: () => T): T {
    if (this.memos.has(key)) return this.memos.get(key) as T;
    const value = make();
    this.memos.set(key, value);
    return value;
  }

  argumentsOf(planned: PlannedField): Record<string, unknown> {
    if (planned.field.args.length === 0) return NO_ARGUMENTS;
    let args = this.args.get(planned);
    if (!args) {
      args = argumentsOf(planned, this.variables);
      this.args.set(planned, args);
    }
    return args;
  }
}

/** A field's arguments, as the executor coerces them (literals and variables), with their defaults. */
function argumentsOf(planned: PlannedField, variables: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  const given = new Map((planned.arguments ?? []).map((arg) => [arg.name.value, arg.value] as const));
  for (const arg of planned.field.args) {
    const node: ValueNode | undefined = given.get(arg.name);
    if (!node) {
      if (arg.defaultValue !== undefined) values[arg.name] = arg.defaultValue;
      continue;
    }
    if (node.kind === Kind.VARIABLE && !Object.hasOwn(variables, node.name.value)) {
      if (arg.defaultValue !== undefined) values[arg.name] = arg.defaultValue;
      continue;
    }
    const value = valueFromAST(node, arg.type, variables);
    if (value === undefined) throw new Declined(`argument ${arg.name}`);
    values[arg.name] = value;
  }
  return values;
}

/** How a value of an output type is completed, read off the type once per plan. */
interface Shape {
  nonNull: boolean;
  /** Of a list: how each of its values is. */
  of: Shape | null;
  /** Of a leaf: its serializer. */
  leaf: GraphQLLeafType | null;
}

const shapes = new WeakMap<GraphQLOutputType, Shape>();
function shapeOf(type: GraphQLOutputType): Shape {
  let shape = shapes.get(type);
  if (!shape) {
    const nullable = getNullableType(type) as GraphQLOutputType;
    shape = {
      nonNull: isNonNullType(type),
      of: isListType(nullable) ? shapeOf(nullable.ofType) : null,
      leaf: isLeafType(nullable) ? nullable : null,
    };
    shapes.set(type, shape);
  }
  return shape;
}

/**
 * The answer for `selection` on `value`, as the executor completes it: each field's value read
 * by its getter and completed by its type (leaves serialized, lists mapped, objects planned). A
 * null where the schema denies one declines: the executor then propagates its error.
 */
export function complete(
  selection: PlannedSelection,
  value: Record<string, unknown>,
  request: PlannedRequest,
): Record<string, unknown> {
  return selection.make(value, request);
}

type Maker = (value: Record<string, unknown>, request: PlannedRequest) => Record<string, unknown>;

/**
 * The answer object of a selection, made as one object literal of its keys (as graphql-jit makes
 * its answers): one allocation of the final shape, not an empty object grown key by key.
 */
function maker(type: GraphQLObjectType, fields: readonly PlannedField[]): Maker {
  const entries = fields.map(
    (planned, i) =>
      `${JSON.stringify(planned.key)}: ${planned.get === null ? JSON.stringify(type.name) : `field(fields[${i}], value, request)`}`,
  );
  return new Function('fields', 'field', `return (value, request) => ({ ${entries.join(', ')} });`)(
    fields,
    completeField,
  ) as Maker;
}

function completeField(planned: PlannedField, value: Record<string, unknown>, request: PlannedRequest): unknown {
  return completeValue(
    planned,
    planned.shape,
    (planned.get as Getter)(value, request.argumentsOf(planned), request),
    request,
  );
}

function completeValue(planned: PlannedField, shape: Shape, value: unknown, request: PlannedRequest): unknown {
  if (value === null || value === undefined) {
    if (shape.nonNull) throw new Declined(`null at ${planned.key}`);
    return null;
  }
  const of = shape.of;
  if (of) {
    if (!Array.isArray(value)) throw new Declined(`not a list at ${planned.key}`);
    return value.map((item) => completeValue(planned, of, item, request));
  }
  if (planned.selection) return complete(planned.selection, value as Record<string, unknown>, request);
  const serialized = (shape.leaf as GraphQLLeafType).serialize(value);
  if (serialized === undefined) throw new Declined(`no value at ${planned.key}`);
  return serialized;
}
