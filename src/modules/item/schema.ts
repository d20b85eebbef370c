import { encodeGlobalID } from '@pothos/plugin-relay';
import { readableListsWhere } from '../../access/load.ts';
import { builder } from '../../builder.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import { UpdateKind } from '../../generated/prisma/enums.ts';
import { jsonObject, name } from '../inputs.ts';
import { ListObject } from '../list/schema.ts';
import { UPDATE_ORDER } from './page.ts';
import {
  asFields,
  createItem,
  deleteItem,
  deleteUpdate,
  moveItem,
  postUpdate,
  updateItem,
  updateUpdate,
} from './service.ts';

export const ItemObject = builder.prismaNode('Item', {
  description: 'An item of a list: a title and custom fields, versioned per field.',
  id: { field: 'id' },
  // An invisible id resolves to null, like a missing one (not an error).
  nullable: true,
  findUnique: (id, ctx) => ({ id, list: readableListsWhere(ctx.viewer?.id ?? '') }),
  fields: (t) => ({
    title: t.exposeString('title', { description: 'Its title.' }),
    fields: t.expose('fields', { type: 'JSON', description: 'Custom fields, a JSON object.' }),
    version: t.exposeInt('version', { description: 'Bumped by every change; pass it as `expectedVersion`.' }),
    fieldVersions: t.expose('fieldVersions', {
      type: 'JSON',
      description: 'For `title` and each `fields.<key>`, the version that last changed it.',
    }),
    position: t.exposeFloat('position', { description: 'Its place in the list (ascending).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
    createdBy: t.relation('createdBy', { nullable: true, description: 'Who created it.' }),
    updatedBy: t.relation('updatedBy', { nullable: true, description: 'Who changed it last.' }),
    list: t.relation('list', { description: 'The list it belongs to.' }),
    updates: t.relatedConnection('updates', {
      description: 'Updates, replies and comments posted on it, oldest first.',
      cursor: 'id',
      query: { orderBy: UPDATE_ORDER },
    }),
  }),
});

const UpdateKindEnum = builder.enumType(UpdateKind, {
  name: 'UpdateKind',
  description: 'UPDATE (a post), REPLY (to another update) or COMMENT.',
});

export const ItemUpdateObject = builder.prismaNode('ItemUpdate', {
  description: 'An update, reply or comment posted on an item.',
  id: { field: 'id' },
  // An invisible id resolves to null, like a missing one (not an error).
  nullable: true,
  findUnique: (id, ctx) => ({ id, item: { list: readableListsWhere(ctx.viewer?.id ?? '') } }),
  fields: (t) => ({
    kind: t.expose('kind', { type: UpdateKindEnum, description: 'UPDATE, REPLY or COMMENT.' }),
    body: t.exposeString('body', { description: 'The text.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was posted.' }),
    author: t.relation('author', { nullable: true, description: 'Who posted it.' }),
    item: t.relation('item', { description: 'The item it is about.' }),
    parent: t.relation('parent', { nullable: true, description: 'The update a reply answers.' }),
  }),
});

builder.objectField(ConflictError, 'currentItem', (t) =>
  t.prismaField({
    type: 'Item',
    nullable: true,
    description: 'On an edit conflict, the item as it is now.',
    resolve: (query, error, _args, ctx) =>
      error.currentItemId ? ctx.db.item.findUnique({ ...query, where: { id: error.currentItemId } }) : null,
  }),
);

const itemErrors = [ValidationError, ForbiddenError, NotFoundError] as const;
const title = name(1000);

const CreateItemInput = builder.inputType('CreateItemInput', {
  description: 'A new item at the end of a list.',
  fields: (t) => ({
    listId: t.globalID({ required: true, for: ListObject, description: 'The list.' }),
    title: t.string({ required: true, description: 'Its title.', validate: title }),
    fields: t.field({ type: 'JSON', description: 'Custom fields, a JSON object.', validate: jsonObject }),
  }),
});

const CreateItemPayload = builder.simpleObject('CreateItemPayload', {
  description: 'The item created.',
  fields: (t) => ({ item: t.field({ type: ItemObject, description: 'The new item.' }) }),
});

builder.mutationField('createItem', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: CreateItemPayload,
    description: 'Adds an item (editors and above).',
    args: { input: t.arg({ type: CreateItemInput, required: true }) },
    errors: { types: [...itemErrors], directResult: true, union: { name: 'CreateItemResult' } },
    resolve: async (_root, { input }, ctx) => ({
      item: await createItem(ctx, {
        listId: input.listId.id,
        title: input.title.trim(),
        fields: asFields(input.fields, ['input', 'fields']),
      }),
    }),
  }),
);

const ItemPatch = builder.inputType('ItemPatch', {
  description: 'What to change; `fields` merge key by key (a null value removes the key).',
  fields: (t) => ({
    title: t.string({ description: 'A new title.', validate: title }),
    fields: t.field({ type: 'JSON', description: 'Custom fields to set, a JSON object.', validate: jsonObject }),
  }),
});

const UpdateItemInput = builder.inputType('UpdateItemInput', {
  description: 'A patch to an item, based on the version the editor saw.',
  fields: (t) => ({
    id: t.globalID({ required: true, for: ItemObject, description: 'The item.' }),
    expectedVersion: t.int({ required: true, description: 'The item version the patch is based on.' }),
    patch: t.field({ type: ItemPatch, required: true, description: 'What to change.' }),
  }),
});

const UpdateItemPayload = builder.simpleObject('UpdateItemPayload', {
  description: 'The item after the patch.',
  fields: (t) => ({
    item: t.field({ type: ItemObject, description: 'The item.' }),
    changedFields: t.stringList({ description: '`title` and/or the keys of `fields` this patch changed.' }),
  }),
});

builder.mutationField('updateItem', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: UpdateItemPayload,
    description:
      'Patches an item (editors and above). Applies when no field it touches changed since `expectedVersion`, merging with changes to other fields; otherwise a ConflictError with the current item.',
    args: { input: t.arg({ type: UpdateItemInput, required: true }) },
    errors: { types: [...itemErrors, ConflictError], directResult: true, union: { name: 'UpdateItemResult' } },
    resolve: (_root, { input }, ctx) =>
      updateItem(ctx, {
        id: input.id.id,
        expectedVersion: input.expectedVersion,
        patch: {
          title: input.patch.title?.trim() ?? null,
          fields: asFields(input.patch.fields, ['input', 'patch', 'fields']),
        },
      }),
  }),
);

const DeleteItemInput = builder.inputType('DeleteItemInput', {
  description: 'The item to delete.',
  fields: (t) => ({ id: t.globalID({ required: true, for: ItemObject, description: 'The item.' }) }),
});

const DeleteItemPayload = builder.simpleObject('DeleteItemPayload', {
  description: 'The item deleted.',
  fields: (t) => ({ itemId: t.id({ description: 'Global id of the deleted item.' }) }),
});

builder.mutationField('deleteItem', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: DeleteItemPayload,
    description: 'Deletes an item (editors and above).',
    args: { input: t.arg({ type: DeleteItemInput, required: true }) },
    errors: { types: [...itemErrors], directResult: true, union: { name: 'DeleteItemResult' } },
    resolve: async (_root, { input }, ctx) => ({
      itemId: encodeGlobalID('Item', await deleteItem(ctx, { id: input.id.id })),
    }),
  }),
);

const MoveItemInput = builder.inputType('MoveItemInput', {
  description: 'Where to move an item: right after another item of its list, or to the top.',
  fields: (t) => ({
    id: t.globalID({ required: true, for: ItemObject, description: 'The item.' }),
    afterId: t.globalID({ for: ItemObject, description: 'The item it goes after; null moves it to the top.' }),
  }),
});

const MoveItemPayload = builder.simpleObject('MoveItemPayload', {
  description: 'The item at its new place.',
  fields: (t) => ({ item: t.field({ type: ItemObject, description: 'The item.' }) }),
});

builder.mutationField('moveItem', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: MoveItemPayload,
    description: 'Moves an item within its list (editors and above).',
    args: { input: t.arg({ type: MoveItemInput, required: true }) },
    errors: { types: [...itemErrors], directResult: true, union: { name: 'MoveItemResult' } },
    resolve: async (_root, { input }, ctx) => ({
      item: await moveItem(ctx, { id: input.id.id, afterId: input.afterId?.id ?? null }),
    }),
  }),
);

const PostUpdateInput = builder.inputType('PostUpdateInput', {
  description: 'An update or comment on an item, or a reply to an update.',
  fields: (t) => ({
    itemId: t.globalID({ required: true, for: ItemObject, description: 'The item.' }),
    body: t.string({ required: true, description: 'The text.', validate: name(10_000) }),
    kind: t.field({
      type: UpdateKindEnum,
      defaultValue: 'UPDATE',
      description: 'UPDATE (default) or COMMENT; a `parentId` makes it a REPLY.',
    }),
    parentId: t.globalID({ for: ItemUpdateObject, description: 'The update this replies to.' }),
  }),
});

const PostUpdatePayload = builder.simpleObject('PostUpdatePayload', {
  description: 'The update posted.',
  fields: (t) => ({ update: t.field({ type: ItemUpdateObject, description: 'The new update.' }) }),
});

builder.mutationField('postUpdate', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: PostUpdatePayload,
    description:
      "Posts an update, reply or comment on an item: editors and above, where the workspace's POST_UPDATE, REPLY or COMMENT permission (and the account cap) allows.",
    args: { input: t.arg({ type: PostUpdateInput, required: true }) },
    errors: { types: [...itemErrors], directResult: true, union: { name: 'PostUpdateResult' } },
    resolve: async (_root, { input }, ctx) => ({
      update: await postUpdate(ctx, {
        itemId: input.itemId.id,
        body: input.body.trim(),
        kind: input.kind ?? 'UPDATE',
        parentId: input.parentId?.id ?? null,
      }),
    }),
  }),
);

const UpdateUpdateInput = builder.inputType('UpdateUpdateInput', {
  description: 'New text for an update, reply or comment.',
  fields: (t) => ({
    updateId: t.globalID({ required: true, for: ItemUpdateObject, description: 'The update.' }),
    body: t.string({ required: true, description: 'The new text.', validate: name(10_000) }),
  }),
});

const UpdateUpdatePayload = builder.simpleObject('UpdateUpdatePayload', {
  description: 'The update with its new text.',
  fields: (t) => ({ update: t.field({ type: ItemUpdateObject, description: 'The update.' }) }),
});

builder.mutationField('updateUpdate', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: UpdateUpdatePayload,
    description: 'Changes the text of an update, reply or comment (its author only).',
    args: { input: t.arg({ type: UpdateUpdateInput, required: true }) },
    errors: { types: [...itemErrors], directResult: true, union: { name: 'UpdateUpdateResult' } },
    resolve: async (_root, { input }, ctx) => ({
      update: await updateUpdate(ctx, { id: input.updateId.id, body: input.body.trim() }),
    }),
  }),
);

const DeleteUpdateInput = builder.inputType('DeleteUpdateInput', {
  description: 'The update, reply or comment to delete.',
  fields: (t) => ({
    updateId: t.globalID({ required: true, for: ItemUpdateObject, description: 'The update.' }),
  }),
});

const DeleteUpdatePayload = builder.simpleObject('DeleteUpdatePayload', {
  description: 'The update deleted.',
  fields: (t) => ({ updateId: t.id({ description: 'Global id of the deleted update.' }) }),
});

builder.mutationField('deleteUpdate', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: DeleteUpdatePayload,
    description:
      'Deletes an update, reply or comment with its replies: its author, or a co-owner of the list (to moderate).',
    args: { input: t.arg({ type: DeleteUpdateInput, required: true }) },
    errors: { types: [...itemErrors], directResult: true, union: { name: 'DeleteUpdateResult' } },
    resolve: async (_root, { input }, ctx) => ({
      updateId: encodeGlobalID('ItemUpdate', await deleteUpdate(ctx, { id: input.updateId.id })),
    }),
  }),
);
