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
  subscription ListEvents($listId: ID!, $after: String) {
    listEvents(listId: $listId, after: $after) {
      __typename
      ... on ListEventsSubscribed {
        cursor
      }
      ... on ResyncRequired {
        cursor
      }
      ... on ItemCreated {
        cursor
        item {
          ...ItemFields
        }
      }
      ... on ItemUpdated {
        cursor
        item {
          ...ItemFields
        }
      }
      ... on ItemMoved {
        cursor
        item {
          ...ItemFields
        }
      }
      ... on ItemDeleted {
        cursor
        itemId
      }
      ... on ListRenamed {
        cursor
        list {
          id
          name
        }
      }
      ... on AccessChanged {
        cursor
      }
      ... on AccessRevoked {
        cursor
      }
      ... on UpdatePosted {
        cursor
      }
      ... on UpdateEdited {
        cursor
      }
      ... on UpdateDeleted {
        cursor
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
 * Where a reconnecting stream resumes: the cursor of the last event applied (every `listEvents`
 * event carries one). A new stream passes it as `after` and gets exactly the events that
 * followed, then the live ones; without one (nothing received yet) the list is refetched.
 */
interface Resume {
  cursor: string | null;
}

function listEventsVariables(listId: string, resume: Resume) {
  return { listId, after: resume.cursor };
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
  /** The stream whose events count: a reconnect makes the one running stale until it restarts. */
  const stream = useRef(0);
  const [reconnects, setReconnects] = useState(0);

  useEffect(() => {
    if (data) dispatch({ type: 'loaded', list: data.list ?? null });
  }, [data]);
  useEffect(() => {
    if (error) dispatch({ type: 'failed', message: error.message });
  }, [error]);

  // graphql-ws re-sends a subscription's first payload (its first `after`) after a reconnect:
  // that stream's events are dropped, and the stream starts anew from the last cursor. This runs
  // on the ack, before any event of the new socket can arrive.
  useEffect(
    () =>
      ws.on('connected', (_socket, _payload, wasRetry) => {
        if (!wasRetry) return;
        stream.current += 1;
        setReconnects((n) => n + 1);
      }),
    [ws],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: a reconnect starts the stream anew
  useEffect(() => {
    const current = ++stream.current;
    const reload = () => {
      dispatch({ type: 'loading' });
      refetchQuery({ requestPolicy: 'network-only' });
    };
    if (reconnects > 0 && !resume.current.cursor) reload();
    const onEvent = (event: ListEvent) => {
      if (stream.current !== current) return;
      resume.current.cursor = event.cursor;
      dispatch({ type: 'event', event });
      // Past the retention the missed events are gone: the list itself is the catch-up. On an
      // access change my role may have changed (what I may edit, whether I may share).
      if (event.__typename === 'ResyncRequired' || event.__typename === 'AccessChanged') reload();
    };
    const { unsubscribe } = client
      .subscription(ListEventsDoc, listEventsVariables(listId, resume.current))
      .subscribe((result) => {
        if (stream.current !== current) return;
        if (result.error) dispatch({ type: 'failed', message: result.error.message });
        else if (result.data) onEvent(result.data.listEvents);
      });
    return unsubscribe;
  }, [client, listId, reconnects]);

  return state;
}
