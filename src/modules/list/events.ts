import { GraphQLError } from 'graphql';
import { builder } from '../../builder.ts';
import { perEvent } from '../../realtime/per-event.ts';
import type { ListEventPayload } from '../../realtime/pubsub.ts';
import { liveTopics, SUBSCRIBED, stream } from '../../realtime/stream.ts';
import { ListObject } from './schema.ts';
import { canOpenList, canReadList, holdReadGrants } from './stream-access.ts';

/** What a subscriber is sent: the payload from pub/sub, or the two events this stream makes itself. */
type ListEventShape =
  | ListEventPayload
  | { kind: 'SUBSCRIBED'; listId: string }
  | { kind: 'ACCESS_REVOKED'; listId: string };

const eventType = (name: string, description: string, kind: ListEventShape['kind'][]) =>
  builder.objectRef<ListEventShape>(name).implement({
    description,
    isTypeOf: (e) => kind.includes((e as ListEventShape).kind),
    fields: (t) => ({
      listId: t.globalID({ description: 'The list.', resolve: (e) => ({ type: 'List', id: e.listId }) }),
      at: t.field({
        type: 'DateTime',
        nullable: true,
        description: 'When the change committed.',
        resolve: (e) => ('at' in e ? e.at : null),
      }),
    }),
  });

const itemField = (t: Parameters<Parameters<typeof builder.objectField>[2]>[0]) =>
  t.prismaField({
    type: 'Item',
    nullable: true,
    description: 'The item as it is now (null if it was deleted meanwhile).',
    // Every subscriber on this instance holds the same payload object: one load serves them all.
    resolve: (query, e, _args, ctx) =>
      'itemId' in e && e.itemId
        ? perEvent(e, `item:${JSON.stringify(query)}`, () =>
            ctx.db.item.findUnique({ ...query, where: { id: e.itemId ?? '' } }),
          )
        : null,
  });

const Subscribed = eventType('ListEventsSubscribed', 'The stream is live: no later event will be missed.', [
  'SUBSCRIBED',
]);
const ItemCreated = eventType('ItemCreated', 'An item was created.', ['ITEM_CREATED']);
const ItemUpdated = eventType('ItemUpdated', 'An item changed.', ['ITEM_UPDATED']);
const ItemDeleted = eventType('ItemDeleted', 'An item was deleted.', ['ITEM_DELETED']);
const ItemMoved = eventType('ItemMoved', 'An item moved.', ['ITEM_MOVED']);
const UpdatePosted = eventType('UpdatePosted', 'An update, reply or comment was posted on an item.', ['UPDATE_POSTED']);
const UpdateEdited = eventType('UpdateEdited', 'The text of an update, reply or comment changed.', ['UPDATE_EDITED']);
const UpdateDeleted = eventType('UpdateDeleted', 'An update, reply or comment was deleted, with its replies.', [
  'UPDATE_DELETED',
]);
const ListRenamed = eventType('ListRenamed', 'The list was renamed.', ['LIST_RENAMED']);
const AccessChanged = eventType('AccessChanged', 'Sharing of the list changed; the viewer still has access.', [
  'ACCESS_CHANGED',
]);
const AccessRevoked = eventType(
  'AccessRevoked',
  "The viewer's access ended (or the list was deleted); the last event of the stream.",
  ['ACCESS_REVOKED'],
);

for (const ref of [ItemCreated, ItemUpdated, ItemMoved]) builder.objectField(ref, 'item', (t) => itemField(t));
builder.objectField(ItemUpdated, 'changedFields', (t) =>
  t.stringList({
    description: '`title` and/or the keys of `fields` that changed.',
    resolve: (e) => ('changedFields' in e ? (e.changedFields ?? []) : []),
  }),
);
builder.objectField(ItemUpdated, 'version', (t) =>
  t.int({
    nullable: true,
    description: 'The item version after the change.',
    resolve: (e) => ('version' in e ? (e.version ?? null) : null),
  }),
);
builder.objectField(ItemDeleted, 'itemId', (t) =>
  t.globalID({
    description: 'The deleted item.',
    resolve: (e) => ({ type: 'Item', id: 'itemId' in e ? (e.itemId ?? '') : '' }),
  }),
);
builder.objectField(UpdateDeleted, 'updateId', (t) =>
  t.globalID({
    description: 'The deleted update.',
    resolve: (e) => ({ type: 'ItemUpdate', id: 'updateId' in e ? (e.updateId ?? '') : '' }),
  }),
);
builder.objectField(UpdateDeleted, 'itemId', (t) =>
  t.globalID({
    description: 'The item it was on.',
    resolve: (e) => ({ type: 'Item', id: 'itemId' in e ? (e.itemId ?? '') : '' }),
  }),
);
for (const ref of [UpdatePosted, UpdateEdited])
  builder.objectField(ref, 'update', (t) =>
    t.prismaField({
      type: 'ItemUpdate',
      nullable: true,
      description: 'The update as it is now (null if it was deleted meanwhile).',
      resolve: (query, e, _args, ctx) =>
        'updateId' in e && e.updateId
          ? perEvent(e, `update:${JSON.stringify(query)}`, () =>
              ctx.db.itemUpdate.findUnique({ ...query, where: { id: e.updateId ?? '' } }),
            )
          : null,
    }),
  );
for (const ref of [ListRenamed, AccessChanged]) {
  builder.objectField(ref, 'list', (t) =>
    t.prismaField({
      type: 'List',
      nullable: true,
      description: 'The list as it is now.',
      resolve: (query, e, _args, ctx) =>
        perEvent(e, `list:${JSON.stringify(query)}`, () =>
          ctx.db.list.findUnique({ ...query, where: { id: e.listId } }),
        ),
    }),
  );
}

const ListEvent = builder.unionType('ListEvent', {
  description: 'Something happened on a list. ListEventsSubscribed comes first; AccessRevoked ends the stream.',
  types: [
    Subscribed,
    ItemCreated,
    ItemUpdated,
    ItemDeleted,
    ItemMoved,
    UpdatePosted,
    UpdateEdited,
    UpdateDeleted,
    ListRenamed,
    AccessChanged,
    AccessRevoked,
  ],
});

/** Whether an access change may concern this viewer: empty `userIds` means anyone. */
function concerns(event: ListEventPayload, viewerId: string | null): boolean {
  return !event.userIds?.length || (viewerId !== null && event.userIds.includes(viewerId));
}

builder.subscriptionField('listEvents', (t) =>
  t.field({
    type: ListEvent,
    description:
      'Live changes of a list the viewer can read. Access is re-decided when sharing changes; on revocation the stream yields AccessRevoked and ends.',
    args: {
      listId: t.arg.globalID({ required: true, for: ListObject, description: 'The list.' }),
      linkToken: t.arg.string({ description: 'The link token, for ANYONE_WITH_LINK lists.' }),
    },
    subscribe: (_root, args, ctx) =>
      stream<ListEventShape>(async (push, stopped) => {
        const listId = args.listId.id;
        const release = holdReadGrants(ctx.realtime, listId);
        const feed = liveTopics(ctx.realtime, listId, ['list:events']);
        void stopped.then(() => feed.return());
        try {
          for await (const event of feed) {
            if (event === SUBSCRIBED) {
              // Decide once the stream is live (nothing reaches the client before): a revocation
              // that commits after this decision publishes an ACCESS_CHANGED this stream will hear,
              // and one decision per subscribe, not two, is half the cost of subscription churn.
              if (!(await canOpenList(ctx, listId, args.linkToken))) {
                throw new GraphQLError('The list was not found', { extensions: { code: 'NOT_FOUND' } });
              }
              await push({ kind: 'SUBSCRIBED', listId });
              continue;
            }
            if (
              event.kind === 'LIST_DELETED' ||
              (event.kind === 'ACCESS_CHANGED' && concerns(event, ctx.viewer?.id ?? null))
            ) {
              if (event.kind === 'LIST_DELETED' || !(await canReadList(ctx, listId, args.linkToken))) {
                await push({ kind: 'ACCESS_REVOKED', listId });
                return;
              }
            }
            await push(event);
          }
        } finally {
          release();
        }
      }),
    resolve: (event) => event,
  }),
);
