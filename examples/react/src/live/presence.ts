import { useMutation, useSubscription } from 'urql';
import type { PresenceSubscription } from '../gql/graphql.ts';
import { graphql } from '../gql/index.ts';

const PresenceDoc = graphql(`
  subscription Presence($listId: ID!) {
    presence(listId: $listId) {
      kind
      roster {
        user {
          id
          name
          email
          avatarUrl
        }
        anonymous
        status
        itemId
        field
        sessions
      }
    }
  }
`);

const SetPresenceDoc = graphql(`
  mutation SetPresence($input: SetPresenceInput!) {
    setPresence(input: $input) {
      __typename
    }
  }
`);

export type PresenceEntry = PresenceSubscription['presence']['roster'][number];

/**
 * Who is on the list (one entry per person however many tabs), and a setter for what I am doing
 * there: subscribing joins; `editing(itemId)` sets the editing highlight others see, `viewing()`
 * clears it.
 */
export function usePresence(listId: string) {
  const [{ data }] = useSubscription({ query: PresenceDoc, variables: { listId } });
  const [, setPresence] = useMutation(SetPresenceDoc);
  const roster = data?.presence.roster ?? [];
  return {
    roster,
    editing: (itemId: string, field = 'title') => setPresence({ input: { listId, status: 'EDITING', itemId, field } }),
    viewing: () => setPresence({ input: { listId, status: 'VIEWING' } }),
  };
}

/** Initials for an avatar: two letters of the name, or of the address. */
export function initials(entry: PresenceEntry): string {
  if (entry.anonymous || !entry.user) return '?';
  const name = entry.user.name || entry.user.email;
  return name
    .split(/[\s@.]+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0]?.toUpperCase())
    .join('');
}
