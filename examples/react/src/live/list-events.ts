import type { Client as WsClient } from 'graphql-ws';
import { useEffect, useReducer, useRef, useState } from 'react';
import { useClient, useQuery } from 'urql';
import type { ItemFieldsFragment, ListEventsSubscription, ListViewQuery } from '../gql/graphql.ts';
import { graphql } from '../gql/index.ts';

graphql(`
  fragment ItemFields on Item {
    id
    title
    version
    position
    updatedAt
  }
`);

const ListViewQueryDoc = graphql(`
  query ListView($id: ID!) {
    list(id: $id) {
      id
      name
      kind
      viewerRole
      workspace {
        id
        name
      }
      # The fields of ItemFields, written out: GraphQL Armor's cost counts a fragment spread
      # here at more than twice the same fields inline, past the server's default limit.
      items(first: 200) {
        edges {
          node {
            id
            title
            version
            position
            updatedAt
          }
        }
      }
    }
  }
`);

const ListEventsDoc = graphql(`
  subscription ListEvents($listId: ID!) {
    listEvents(listId: $listId) {
      __typename
      ... on ItemCreated {
        item {
          ...ItemFields
        }
      }
      ... on ItemUpdated {
        item {
          ...ItemFields
        }
      }
      ... on ItemMoved {
        item {
          ...ItemFields
        }
      }
      ... on ItemDeleted {
        itemId
      }
      ... on ListRenamed {
        list {
          id
          name
        }
      }
    }
  }
`);

export type Item = ItemFieldsFragment;
type ListEvent = ListEventsSubscription['listEvents'];
type LoadedList = NonNullable<ListViewQuery['list']>;

/** Where a list stream stands, as the page shows it. */
export type LiveStatus = 'connecting' | 'live' | 'revoked' | 'missing';

export interface LiveList {
  list: LoadedList | null;
  name: string;
  items: Item[];
  status: LiveStatus;
  error: string | null;
  /**
   * The events received while a load is in flight (null when none is): its reply may predate
   * them, so they are applied again on top of it.
   */
  pending: ListEvent[] | null;
}

type Action =
  | { type: 'loading' }
  | { type: 'loaded'; list: LoadedList | null }
  | { type: 'event'; event: ListEvent }
  | { type: 'failed'; message: string };

/** Keeps the newer of two copies of an item, so an event applied twice changes nothing. */
function upsert(items: Item[], item: Item): Item[] {
  const current = items.find((i) => i.id === item.id);
  if (current && current.version > item.version) return items;
  return [...items.filter((i) => i.id !== item.id), item].sort((a, b) => a.position - b.position);
}

/** One event applied to the list; applying it again, or after a newer copy, changes nothing. */
function apply(state: LiveList, event: ListEvent): LiveList {
  switch (event.__typename) {
    case 'ListEventsSubscribed':
      return { ...state, status: 'live', error: null };
    case 'ItemCreated':
    case 'ItemUpdated':
    case 'ItemMoved':
      return event.item ? { ...state, items: upsert(state.items, event.item) } : state;
    case 'ItemDeleted':
      return { ...state, items: state.items.filter((i) => i.id !== event.itemId) };
    case 'ListRenamed':
      return event.list ? { ...state, name: event.list.name } : state;
    case 'AccessRevoked':
      return { ...state, items: [], status: 'revoked' };
    default:
      return state;
  }
}

function reduce(state: LiveList, action: Action): LiveList {
  switch (action.type) {
    case 'loading':
      return { ...state, pending: [] };
    case 'loaded': {
      if (!action.list) return { ...state, list: null, items: [], status: 'missing', pending: null };
      const loaded: LiveList = {
        ...state,
        list: action.list,
        name: action.list.name,
        items: action.list.items.edges.map((e) => e.node).sort((a, b) => a.position - b.position),
        pending: null,
      };
      return (state.pending ?? []).reduce(apply, loaded);
    }
    case 'failed':
      return { ...state, error: action.message };
    case 'event': {
      const applied = apply(state, action.event);
      return state.pending ? { ...applied, pending: [...state.pending, action.event] } : applied;
    }
  }
}

/**
 * Where a reconnecting stream resumes. Today `listEvents` has no cursor, so a reconnect
 * re-subscribes and refetches the list to catch up.
 *
 * Issue 17 (`listEvents(after:)` and `cursor` on every event) is one addition here:
 * 1. in ListEventsDoc, declare `$after: String`, pass `after: $after`, and select `cursor` on
 *    each event (and handle `ResyncRequired` in `reduce` by refetching);
 * 2. in `onEvent` below, `resume.cursor = event.cursor`;
 * 3. in `listEventsVariables`, return `{ listId, after: resume.cursor }`;
 * 4. in `useLiveList`, refetch on reconnect only when there is no cursor.
 */
interface Resume {
  cursor: string | null;
}

function listEventsVariables(listId: string, _resume: Resume) {
  return { listId };
}

/**
 * A list and its items, kept live: the items are loaded once, then every `listEvents` event is
 * applied to them; when the socket comes back after a drop the stream starts again from `resume`.
 */
export function useLiveList(listId: string, ws: WsClient): LiveList {
  const client = useClient();
  const [state, dispatch] = useReducer(reduce, {
    list: null,
    name: '',
    items: [],
    status: 'connecting',
    error: null,
    pending: [],
  });
  const [{ data, error }, refetchQuery] = useQuery({ query: ListViewQueryDoc, variables: { id: listId } });
  const resume = useRef<Resume>({ cursor: null });
  const [reconnects, setReconnects] = useState(0);

  useEffect(() => {
    if (data) dispatch({ type: 'loaded', list: data.list ?? null });
  }, [data]);
  useEffect(() => {
    if (error) dispatch({ type: 'failed', message: error.message });
  }, [error]);

  // graphql-ws re-sends a subscription's first payload after a reconnect; starting it anew
  // lets it carry where to resume from.
  useEffect(() => ws.on('connected', (_socket, _payload, wasRetry) => wasRetry && setReconnects((n) => n + 1)), [ws]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: a reconnect starts the stream anew
  useEffect(() => {
    const reload = () => {
      dispatch({ type: 'loading' });
      refetchQuery({ requestPolicy: 'network-only' });
    };
    if (reconnects > 0) reload();
    const onEvent = (event: ListEvent) => {
      dispatch({ type: 'event', event });
      // My role may have changed (what I may edit, whether I may share).
      if (event.__typename === 'AccessChanged') reload();
    };
    const { unsubscribe } = client
      .subscription(ListEventsDoc, listEventsVariables(listId, resume.current))
      .subscribe((result) => {
        if (result.error) dispatch({ type: 'failed', message: result.error.message });
        else if (result.data) onEvent(result.data.listEvents);
      });
    return unsubscribe;
  }, [client, listId, reconnects]);

  return state;
}
