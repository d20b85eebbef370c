import type { MeQuery } from '../gql/graphql.ts';

type Membership = NonNullable<MeQuery['me']>['accounts'][number];

/** The accounts I am in (`me.accounts`), each with my role and since when; one opens on a click. */
export function Accounts({
  memberships,
  selected,
  onOpen,
}: {
  memberships: Membership[];
  selected: string | null;
  onOpen: (id: string) => void;
}) {
  return (
    <section className="accounts">
      <h2>Accounts</h2>
      {memberships.length === 0 && <p>You are in no account yet.</p>}
      <ul className="memberships">
        {memberships.map((m) => (
          <li key={m.id} data-role={m.role} data-account={m.account.id}>
            <button
              type="button"
              className={m.account.id === selected ? 'account-link selected' : 'account-link'}
              aria-pressed={m.account.id === selected}
              onClick={() => onOpen(m.account.id)}
            >
              {m.account.name}
            </button>{' '}
            <small>
              {m.role} since {new Date(m.createdAt).toLocaleDateString()}
            </small>
          </li>
        ))}
      </ul>
    </section>
  );
}
