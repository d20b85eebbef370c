import { type FieldNode, type GraphQLResolveInfo, Kind, type SelectionSetNode } from 'graphql';
import { type ListFactsColumns, listFactsFromSql, listFactsSql } from '../../access/load.ts';
import type { Context } from '../../context.ts';
import { PREPARED, readRows } from '../../db/client.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import {
  type ItemsPagePlan,
  type ItemsPageSelection,
  itemsFromRows,
  itemsPagePlan,
  itemsPageStatement,
} from '../item/page.ts';

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * How `list(id)` reads a list in one statement with its access facts, for the Prisma query Pothos
 * hands its resolver (the list's fields, maybe a page of its items) and the GraphQL selection it
 * serves (so that only the columns its fields read are read): `items` is null when the selection
 * reads no items. Null when the query asks for more than that statement serves.
 */
export function listReadPlan(query: unknown, info: GraphQLResolveInfo): { items: ItemsPagePlan | null } | null {
  if (!isObject(query)) return null;
  const keys = Object.keys(query);
  if (keys.length === 0) return { items: null };
  if (keys.length !== 1 || !isObject(query.include)) return null;
  const include = query.include;
  const includeKeys = Object.keys(include);
  if (includeKeys.length === 0) return { items: null };
  if (includeKeys.length !== 1 || include.items === undefined) return null;
  const items = itemsPagePlan(include.items, pageSelection(info));
  return items && { items };
}

/** The fields selected on the objects of the list's page of items (`items { edges { node { … } } }`). */
function pageSelection(info: GraphQLResolveInfo): ItemsPageSelection {
  const at = (nodes: readonly FieldNode[], ...path: string[]) =>
    path.reduce((found, name) => subfields(found, info).get(name) ?? [], nodes);
  const names = (nodes: readonly FieldNode[]) => (nodes.length ? new Set(subfields(nodes, info).keys()) : null);
  const item = at(info.fieldNodes, 'items', 'edges', 'node');
  const update = at(item, 'updates', 'edges', 'node');
  return {
    item: names(item),
    createdBy: names(at(item, 'createdBy')),
    updatedBy: names(at(item, 'updatedBy')),
    update: names(update),
    author: names(at(update, 'author')),
  };
}

/** The fields selected under `nodes` by name, through fragments (whatever their type condition). */
function subfields(nodes: readonly FieldNode[], info: GraphQLResolveInfo): Map<string, FieldNode[]> {
  const found = new Map<string, FieldNode[]>();
  const visit = (set: SelectionSetNode | undefined) => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        found.set(name, [...(found.get(name) ?? []), selection]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet);
      else visit(info.fragments[selection.name.value]?.selectionSet);
    }
  };
  for (const node of nodes) visit(node.selectionSet);
  return found;
}

/** The head's columns, on the statement's first row: the list's facts and fields. */
type HeadColumns = ListFactsColumns & { l_name: string; l_createdAt: Date; l_updatedAt: Date };

/**
 * Reads a list as `plan` says, with the viewer's facts on it in the same statement (primed into
 * `ctx.access`, which decides on them): the list as Prisma would have returned it for the query,
 * or null when it does not exist. Whether the viewer may read it is still the caller's to ask.
 */
export async function readList(
  ctx: Context,
  listId: string,
  plan: { items: ItemsPagePlan | null },
): Promise<Record<string, unknown> | null> {
  const head = Prisma.sql`SELECT f.*, l.name AS "l_name", l."createdAt" AS "l_createdAt", l."updatedAt" AS "l_updatedAt"
FROM (${listFactsSql(ctx.access.viewer, listId)}) f JOIN "List" l ON l.id = f."f_id"`;
  const statement = plan.items ? itemsPageStatement(head, listId, plan.items) : head;
  // Of a few shapes (the plan's), and run on every list read: kept planned by the server.
  const result = await readRows(ctx.db, Prisma.sql`${statement}\n${Prisma.raw(PREPARED)}`);
  const first = result.rows[0];
  const row =
    first && (Object.fromEntries(result.columns.map((name, i) => [name, first[i]])) as unknown as HeadColumns);
  const facts = row && row.f_id !== null && row.f_id !== undefined ? row : null;
  ctx.access.primeList(listId, facts && listFactsFromSql(ctx.access.viewer, facts));
  if (!facts) return null;
  const list: Record<string, unknown> = {
    id: facts.f_id,
    workspaceId: facts.f_workspaceId,
    name: facts.l_name,
    kind: facts.f_kind,
    generalAccess: facts.f_generalAccess,
    generalRole: facts.f_generalRole,
    linkToken: facts.f_linkToken,
    linkExpiresAt: facts.f_linkExpiresAt,
    creatorId: facts.f_creatorId,
    createdAt: facts.l_createdAt,
    updatedAt: facts.l_updatedAt,
  };
  if (plan.items) list.items = itemsFromRows(result, plan.items);
  return list;
}

/**
 * The list `listId` read as `plan` says, if the viewer may read it (with `linkToken`, when they
 * present one); null otherwise, as when it does not exist.
 */
export async function openList(
  ctx: Context,
  listId: string,
  plan: { items: ItemsPagePlan | null },
  linkToken?: string | null,
): Promise<Record<string, unknown> | null> {
  const list = await readList(ctx, listId, plan);
  const decision = await ctx.access.decideList(listId, 'list:read', linkToken);
  return decision?.allowed ? list : null;
}
