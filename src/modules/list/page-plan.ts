import { formatPrismaCursor, prismaConnectionHelpers } from '@pothos/plugin-prisma';
import {
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  getNamedType,
  getOperationAST,
  isObjectType,
  Kind,
} from 'graphql';
import { builder, decodeNodeId, encodeNodeId } from '../../builder.ts';
import type { Context } from '../../context.ts';
import {
  complete,
  Declined,
  type Getter,
  type PlannedField,
  PlannedRequest,
  type PlannedSelection,
  type Planner,
  plannedField,
  planSelection,
  type Served,
} from '../../planned-queries.ts';
import { ITEM_ORDER, type ItemsPageSelection, itemsPagePlan, UPDATE_ORDER } from '../item/page.ts';
import { openList } from './read.ts';

// The connections as `items` and `updates` define them (cursor, order).
const items = prismaConnectionHelpers(builder, 'Item', { cursor: 'id', query: { orderBy: ITEM_ORDER as never } });
const updates = prismaConnectionHelpers(builder, 'ItemUpdate', { cursor: 'id', query: { orderBy: UPDATE_ORDER } });
type Helper = typeof items | typeof updates;

/** The viewer's role on a planned list, read before its answer is completed. */
const VIEWER_ROLE = Symbol('viewerRole');

/** The Prisma query of a connection for its arguments: page size, cursor and order, without its selection. */
function pageQuery(helper: Helper, args: Record<string, unknown>, ctx: Context) {
  const { select: _select, ...query } = helper.getQuery(args as never, ctx, () => undefined) as Record<string, unknown>;
  return query as { take: number } & Record<string, unknown>;
}

/** A page of rows with what its PageInfo says; each row is its own edge (cursor and node). */
interface Page {
  nodes: Record<string, unknown>[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

/**
 * The page of `rows` (read with the connection query's `take`, one more than asked, negative
 * backwards), as plugin-prisma's connections make it (its wrapConnectionResult): the extra row
 * says there is another page, and is dropped. Cursors are made only when selected.
 */
function pageOf(rows: Record<string, unknown>[], args: Record<string, unknown>, take: number): Page {
  const full = rows.length === Math.abs(take);
  const backward = args.before != null || args.last != null;
  return {
    nodes: full ? rows.slice(take < 0 ? 1 : 0, take < 0 ? rows.length : -1) : rows,
    hasNextPage: args.before != null ? true : args.last != null ? false : full,
    hasPreviousPage: args.after != null ? true : backward ? full : false,
  };
}

/** A connection field: its page of the rows `relation` loaded, the page size read once per request. */
const connectionOf =
  (helper: Helper, relation: string): Getter =>
  (row, args, request) => {
    const take = request.memo(helper, () => pageQuery(helper, args, request.context as Context)).take;
    return pageOf(row[relation] as Record<string, unknown>[], args, take);
  };

const column =
  (name: string): Getter =>
  (row) =>
    row[name];
const property = (names: string[]) => Object.fromEntries(names.map((name) => [name, column(name)]));
const nodeId =
  (typeName: string): Getter =>
  (row) =>
    encodeNodeId(typeName, row.id);
/** A person's id: the same few people recur on every row of a page, each encoded once per request. */
const personId: Getter = (row, _args, request) => {
  const ids = request.memo(personId, () => new Map<unknown, string>());
  let id = ids.get(row.id);
  if (id === undefined) {
    id = encodeNodeId('User', row.id);
    ids.set(row.id, id);
  }
  return id;
};
const cursorOf = (row: Record<string, unknown> | undefined) => (row ? formatPrismaCursor(row, 'id') : null);
const connection: Record<string, Getter> = {
  edges: (page) => (page as unknown as Page).nodes,
  pageInfo: (page) => page,
};
const edge: Record<string, Getter> = { cursor: (row) => cursorOf(row), node: (row) => row };

/**
 * What the list page serves, field by field: what `readList` loads and the schema exposes with
 * no resolver of its own beyond reading it (and `viewerRole`, which asks src/access as its
 * resolver does). Any other field leaves the document to the executor.
 */
const SERVED: Served = {
  List: {
    id: nodeId('List'),
    ...property(['name', 'kind', 'generalAccess', 'generalRole', 'createdAt', 'updatedAt', 'linkExpiresAt']),
    viewerRole: (row) => row[VIEWER_ROLE as never],
    items: connectionOf(items, 'items'),
  },
  ListItemsConnection: connection,
  ListItemsConnectionEdge: edge,
  PageInfo: {
    ...property(['hasNextPage', 'hasPreviousPage']),
    startCursor: (page) => cursorOf((page as unknown as Page).nodes[0]),
    endCursor: (page) => cursorOf((page as unknown as Page).nodes.at(-1)),
  },
  Item: {
    id: nodeId('Item'),
    ...property(['title', 'fields', 'version', 'fieldVersions', 'position', 'createdAt', 'updatedAt']),
    ...property(['createdBy', 'updatedBy']),
    updates: connectionOf(updates, 'updates'),
  },
  ItemUpdatesConnection: connection,
  ItemUpdatesConnectionEdge: edge,
  ItemUpdate: { id: nodeId('ItemUpdate'), ...property(['kind', 'body', 'createdAt', 'author']) },
  User: { id: personId, ...property(['name', 'email', 'avatarUrl']) },
};

const field = (selection: PlannedSelection | null | undefined, name: string) =>
  selection?.fields.find((f) => f.name === name);
const names = (selection: PlannedSelection | null | undefined) =>
  selection ? new Set(selection.fields.map((f) => f.name)) : null;
/** The node selection of a connection field (`… { edges { node { … } } }`). */
const nodes = (connection: PlannedField | undefined) => field(field(connection?.selection, 'edges')?.selection, 'node');

/**
 * Plans `list(id: …) { … }` as a whole, when the operation is that field alone (with only its
 * `id`) and selects only what the list page serves: the list, a page of its items, their people
 * and a page of each one's updates with their authors. Each request is then one `openList` (one
 * statement and the rules of src/access, as the field's resolver) and one pass over its rows.
 */
export const planListPage: Planner = (schema, args) => {
  const operation = getOperationAST(args.document, args.operationName);
  if (operation?.operation !== 'query' || operation.directives?.length) return null;
  const [root, ...others] = operation.selectionSet.selections;
  if (!root || others.length || root.kind !== Kind.FIELD || root.name.value !== 'list') return null;
  if (root.directives?.length || !root.selectionSet) return null;
  if (root.arguments?.length !== 1 || root.arguments[0]?.name.value !== 'id') return null;
  const listField = schema.getQueryType()?.getFields().list;
  const listType = listField && getNamedType(listField.type);
  if (!listField || !isObjectType(listType)) return null;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of args.document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  const selection = planSelection(schema, SERVED, listType as GraphQLObjectType, root.selectionSet, fragments);
  if (!selection) return null;
  const idField = plannedField(listField, root, null, selection);

  const itemsField = field(selection, 'items');
  const item = nodes(itemsField)?.selection;
  const updatesField = field(item, 'updates');
  const update = nodes(updatesField)?.selection;
  const selected: ItemsPageSelection = {
    item: names(item),
    createdBy: names(field(item, 'createdBy')?.selection),
    updatedBy: names(field(item, 'updatedBy')?.selection),
    update: names(update),
    author: names(field(update, 'author')?.selection),
  };
  const wantsRole = selection.fields.some((f) => f.name === 'viewerRole');

  return async (args) => {
    const ctx = args.contextValue as Context;
    const request = new PlannedRequest(schema, operation, args);
    const id = request.argumentsOf(idField).id;
    if (typeof id !== 'string') throw new Declined('id');
    const { typename, id: listId } = decodeNodeId(id);
    if (typename !== 'List') throw new Declined('id of another type');
    let plan = null;
    if (itemsField) {
      const include: Record<string, unknown> = {};
      for (const person of ['createdBy', 'updatedBy'] as const) if (field(item, person)) include[person] = true;
      if (updatesField) {
        const query = request.memo(updates, () => pageQuery(updates, request.argumentsOf(updatesField), ctx));
        include.updates = field(update, 'author') ? { ...query, include: { author: true } } : query;
      }
      const query = request.memo(items, () => pageQuery(items, request.argumentsOf(itemsField), ctx));
      plan = itemsPagePlan(Object.keys(include).length ? { ...query, include } : query, selected);
      if (!plan) throw new Declined('a page the list statement does not serve');
    }
    const list = await openList(ctx, listId, { items: plan });
    if (list && wantsRole) (list as Record<symbol, unknown>)[VIEWER_ROLE] = await ctx.access.listRole(listId);
    return { data: { [idField.key]: list && complete(selection, list, request) } };
  };
};
