import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { builder } from '../../builder.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import { perEvent, recent } from '../../realtime/per-event.ts';
import type { PresenceSession, RosterEntry } from '../../realtime/presence.ts';
import type { PresenceEventPayload, Realtime } from '../../realtime/pubsub.ts';
import { liveTopics, RESYNC, SUBSCRIBED, stream } from '../../realtime/stream.ts';
import { ListObject } from '../list/schema.ts';
import { canOpenList, canReadList, holdReadGrants } from '../list/stream-access.ts';
import { UserType } from '../user/schema.ts';
import {
  announce as announceSession,
  entryAfter,
  now,
  type RosterView,
  readRoster,
  rosterAfter,
  rosterSince,
  setPresence,
  watchList,
} from './service.ts';

const PresenceStatusEnum = builder.enumType('PresenceStatus', {
  description: 'VIEWING the list, or EDITING an item (and field): the editing highlight.',
  values: ['VIEWING', 'EDITING'] as const,
});

const PresenceEventKindEnum = builder.enumType('PresenceEventKind', {
  description:
    'SNAPSHOT first, then JOINED, LEFT or UPDATED; SNAPSHOT again when the server recovered from a pub/sub outage during which changes may have been missed.',
  values: ['SNAPSHOT', 'JOINED', 'LEFT', 'UPDATED'] as const,
});

const PresenceEntryObject = builder.objectRef<RosterEntry>('PresenceEntry').implement({
  description: 'One person on a list, however many tabs they have open.',
  fields: (t) => ({
    user: t.field({
      type: UserType,
      nullable: true,
      description: 'Who (null for anonymous link viewers).',
      // Every subscriber of a list is shown the same people: one load per person per second on
      // this instance serves them all. The whole row is loaded; relations load on demand.
      resolve: (e, _args, ctx) =>
        e.userId
          ? recent(ctx.db, `user:${e.userId}`, 1_000, () => ctx.db.user.findUnique({ where: { id: e.userId ?? '' } }))
          : null,
    }),
    anonymous: t.exposeBoolean('anonymous', { description: 'Opened with the link, not signed in.' }),
    status: t.field({ type: PresenceStatusEnum, description: 'VIEWING or EDITING.', resolve: (e) => e.status }),
    itemId: t.globalID({
      nullable: true,
      description: 'The item being edited.',
      resolve: (e) => (e.itemId ? { type: 'Item', id: e.itemId } : null),
    }),
    field: t.exposeString('field', { nullable: true, description: 'The field being edited.' }),
    sessions: t.exposeInt('sessions', { description: 'How many tabs or connections.' }),
    since: t.field({ type: 'DateTime', description: 'When they arrived.', resolve: (e) => e.since }),
  }),
});

interface PresenceEventShape {
  kind: 'SNAPSHOT' | 'JOINED' | 'LEFT' | 'UPDATED';
  /** The whole roster, or on later events how to read it: only when a subscriber selects it. */
  roster: RosterEntry[] | (() => Promise<RosterEntry[]>);
  entry: RosterEntry | null;
}

function rosterOf(e: PresenceEventShape): RosterEntry[] | Promise<RosterEntry[]> {
  return typeof e.roster === 'function' ? e.roster() : e.roster;
}

const PresenceEventObject = builder.objectRef<PresenceEventShape>('PresenceEvent').implement({
  description: 'A change in who is on a list; always carries the whole roster after it.',
  fields: (t) => ({
    kind: t.field({ type: PresenceEventKindEnum, description: 'What happened.', resolve: (e) => e.kind }),
    roster: t.field({
      type: [PresenceEntryObject],
      description: 'Everyone on the list now.',
      resolve: rosterOf,
    }),
    entry: t.field({
      type: PresenceEntryObject,
      nullable: true,
      description: 'Who joined, left or changed (null on SNAPSHOT).',
      resolve: (e) => e.entry,
    }),
    snapshot: t.field({
      type: [PresenceEntryObject],
      nullable: true,
      description:
        'The whole roster on SNAPSHOT, null on every later event. On a busy list select this and `entry` instead of `roster`: every event then costs one entry, not the whole roster, and the roster is the snapshot plus each JOINED, LEFT and UPDATED entry.',
      resolve: (e) => (e.kind === 'SNAPSHOT' ? rosterOf(e) : null),
    }),
  }),
});

builder.subscriptionField('presence', (t) =>
  t.field({
    type: PresenceEventObject,
    description:
      'Who is on a list: a SNAPSHOT first, then joins, leaves and state changes. Subscribing joins (after the access check); the stream ends when access is revoked.',
    args: {
      listId: t.arg.globalID({ required: true, for: ListObject, description: 'The list.' }),
      linkToken: t.arg.string({ description: 'The link token, for anonymous viewers of ANYONE_WITH_LINK lists.' }),
      invisible: t.arg.boolean({ defaultValue: false, description: 'Watch without being shown.' }),
    },
    subscribe: (_root, args, ctx) =>
      stream<PresenceEventShape>(async (push, stopped) => {
        const listId = args.listId.id;
        const { presence } = ctx.realtime;
        const ttl = ctx.config.presenceTtlMs;
        const session: PresenceSession = {
          sessionId: randomUUID(),
          userId: ctx.viewer?.id ?? null,
          status: 'VIEWING',
          itemId: null,
          field: null,
          invisible: args.invisible ?? false,
          since: new Date().toISOString(),
        };
        const announce = (kind: PresenceEventPayload['kind'], s: PresenceSession) =>
          announceSession(ctx.realtime, listId, kind, s);
        let joined = false;
        let ownJoinSeen = false;
        const every = Math.max(50, Math.floor(ttl / 3));
        const warn = (err: Error) => ctx.log.warn({ err: err.message }, 'presence heartbeat failed');
        // Refresh this session every TTL/3; the list's watch announces anyone whose instance stopped refreshing theirs.
        const heartbeat = setInterval(() => {
          void (async () => {
            // Re-creates the session when Redis lost it (a restart), and tells the watchers.
            if (joined && (await presence.refresh(listId, session, ttl))) announce('JOINED', session);
          })().catch(warn);
        }, every);
        let unwatch = () => {};
        const release = holdReadGrants(ctx.realtime, listId);
        const feed = liveTopics(ctx.realtime, listId, ['list:presence', 'list:events'], { resync: true });
        void stopped.then(() => feed.return());
        try {
          for await (const event of feed) {
            if (event === SUBSCRIBED) {
              // Decide once the stream is live (nothing reaches the client before): a revocation
              // that commits after this decision publishes an ACCESS_CHANGED this stream will hear,
              // and one decision per subscribe, not two, halves the cost of a join storm.
              if (!(await canOpenList(ctx, listId, args.linkToken))) {
                throw new GraphQLError('The list was not found', { extensions: { code: 'NOT_FOUND' } });
              }
              unwatch = watchList(ctx.realtime, listId, every, warn);
              await presence.put(listId, session, ttl);
              joined = true;
              announce('JOINED', session);
              await push(snapshotOf(await rosterSince(ctx.realtime, listId, now())));
              continue;
            }
            if (event === RESYNC) {
              // Joins and leaves during a Redis outage were lost: send the whole roster again. So
              // may an access change have been: decide again first.
              if (!joined) continue;
              if (!(await canReadList(ctx, listId, args.linkToken))) return;
              const current = await readRoster(ctx.realtime, listId).catch(warn);
              if (current) await push(snapshotOf(current));
              continue;
            }
            if ('sessionId' in event) {
              // The SNAPSHOT already showed this session's own arrival (not its return after a Redis restart).
              if (event.sessionId === session.sessionId && event.kind === 'JOINED' && !ownJoinSeen) {
                ownJoinSeen = true;
                continue;
              }
              if (event.invisible) continue;
              const shown = await shownAfter(ctx.realtime, listId, event);
              if (shown) await push(shown);
              continue;
            }
            if (event.kind === 'ACCESS_CHANGED' || event.kind === 'LIST_DELETED') {
              if (!(await canReadList(ctx, listId, args.linkToken))) return;
            }
          }
        } finally {
          clearInterval(heartbeat);
          unwatch();
          release();
          if (joined && (await presence.remove(listId, session.sessionId).catch(() => false)))
            announce('LEFT', session);
        }
      }),
    resolve: (event) => event,
  }),
);

/**
 * What every subscriber of the list is shown for `event` (null: nothing), made once per event on
 * this instance: the same object for all of them, so that its result is executed once for all.
 * It needs only the entry of whoever the event is about; the whole roster is read (once per
 * event on this instance) only if a subscriber selects `roster`.
 */
function shownAfter(
  realtime: Realtime,
  listId: string,
  event: PresenceEventPayload,
): Promise<PresenceEventShape | null> {
  return perEvent(event, 'shown', async (): Promise<PresenceEventShape | null> => {
    const entry = await entryAfter(realtime, listId, event);
    const current = () => rosterAfter(realtime, listId, event).then((view) => view.roster);
    // Another tab of theirs is still open: they did not leave, their session count changed.
    if (event.kind === 'LEFT')
      return { kind: entry ? 'UPDATED' : 'LEFT', roster: current, entry: entry ?? leftEntry(event) };
    if (!entry) return null;
    return { kind: event.kind === 'JOINED' && entry.sessions === 1 ? 'JOINED' : 'UPDATED', roster: current, entry };
  });
}

/** A SNAPSHOT of `view`: one object for everyone who joined on the same roster read. */
function snapshotOf(view: RosterView): PresenceEventShape {
  return perEvent(view, 'snapshot', () => ({ kind: 'SNAPSHOT' as const, roster: view.roster, entry: null }));
}

function leftEntry(event: PresenceEventPayload): RosterEntry {
  return {
    key: event.userId ?? `anonymous:${event.sessionId}`,
    userId: event.userId,
    anonymous: event.userId === null,
    status: 'VIEWING',
    itemId: null,
    field: null,
    sessions: 0,
    since: event.at,
  };
}

const SetPresenceInput = builder.inputType('SetPresenceInput', {
  description: 'What the viewer is doing on a list: VIEWING, or EDITING an item (and field).',
  fields: (t) => ({
    listId: t.globalID({ required: true, for: ListObject, description: 'The list.' }),
    status: t.field({ type: PresenceStatusEnum, required: true, description: 'VIEWING or EDITING.' }),
    // A plain ID decoded by setPresence once it has decided: a malformed one must not answer
    // before the list's access does.
    itemId: t.id({ description: 'The item edited (with EDITING), a global id.' }),
    field: t.string({ description: 'The field edited.' }),
  }),
});

const SetPresencePayload = builder.simpleObject('SetPresencePayload', {
  description: 'The presence was set on every open session of the viewer on the list.',
  fields: (t) => ({ sessions: t.int({ description: 'How many of their sessions were updated.' }) }),
});

builder.mutationField('setPresence', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: SetPresencePayload,
    description: 'Sets what the viewer is doing on a list, for the editing highlight of everyone watching it.',
    args: { input: t.arg({ type: SetPresenceInput, required: true }) },
    errors: {
      types: [ValidationError, ForbiddenError, NotFoundError],
      directResult: true,
      union: { name: 'SetPresenceResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      sessions: await setPresence(ctx, {
        listId: input.listId.id,
        status: input.status,
        itemId: input.itemId == null ? null : String(input.itemId),
        field: input.field ?? null,
      }),
    }),
  }),
);
