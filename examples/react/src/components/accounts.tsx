import { type FormEvent, useState } from 'react';
import { useQuery } from 'urql';
import type { MeQuery } from '../gql/graphql.ts';
import { graphql } from '../gql/index.ts';

type Membership = NonNullable<MeQuery['me']>['accounts'][number];

/** Accounts reached through lists shared with me, until each membership names its account. */
const SharedAccountsQuery = graphql(`
  query SharedAccounts {
    sharedWithMe(first: 50) {
      edges {
        node {
          workspace {
            account {
              id
              name
            }
          }
        }
      }
    }
  }
`);

const AccountQuery = graphql(`
  query AccountName($id: ID!) {
    account(id: $id) {
      id
      name
      viewerRole
    }
  }
`);

/**
 * My account memberships (role and since when), and a way to open an account.
 *
 * `AccountMember` has no `account` yet (issue 16 adds `account { id name }` and `id`): until it
 * does, a membership shows its role only, and an account opens from the lists shared with me or
 * by its id (as `createAccount` answered it). With issue 16, add `account { id name }` to the Me
 * query in home.tsx and make each membership below a button that calls `onOpen(account.id)`.
 */
export function Accounts({
  memberships,
  selected,
  onOpen,
}: {
  memberships: Membership[];
  selected: string | null;
  onOpen: (id: string) => void;
}) {
  const [{ data: shared }] = useQuery({ query: SharedAccountsQuery });
  const [{ data: current }] = useQuery({ query: AccountQuery, variables: { id: selected ?? '' }, pause: !selected });
  const [typed, setTyped] = useState('');
  const reached = new Map<string, string>();
  for (const edge of shared?.sharedWithMe.edges ?? []) {
    const { id, name } = edge.node.workspace.account;
    reached.set(id, name);
  }
  const open = (event: FormEvent) => {
    event.preventDefault();
    if (typed.trim()) onOpen(typed.trim());
  };
  return (
    <section className="accounts">
      <h2>Accounts</h2>
      <ul className="memberships">
        {memberships.map((m) => (
          <li key={`${m.role}-${m.createdAt}`} data-role={m.role}>
            {m.role} since {new Date(m.createdAt).toLocaleDateString()}
          </li>
        ))}
      </ul>
      {reached.size > 0 && (
        <ul className="reached">
          {[...reached].map(([id, name]) => (
            <li key={id}>
              <button type="button" onClick={() => onOpen(id)}>
                {name}
              </button>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={open}>
        <input name="account-id" placeholder="Account id" value={typed} onChange={(e) => setTyped(e.target.value)} />
        <button type="submit">Open</button>
      </form>
      {current?.account && (
        <p className="current-account">
          {current.account.name} <small>({current.account.viewerRole ?? 'no role'})</small>
        </p>
      )}
    </section>
  );
}
