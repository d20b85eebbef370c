import { type FormEvent, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import type { ListRole } from '../gql/graphql.ts';
import { graphql } from '../gql/index.ts';

const ShareDialogQuery = graphql(`
  query ShareDialog($listId: ID!) {
    list(id: $listId) {
      id
      name
      generalAccess
      generalRole
      viewerRole
      shares {
        id
        role
        email
        user {
          id
          name
          email
        }
        group {
          id
          name
        }
        right {
          id
          name
        }
      }
      workspace {
        id
        members(first: 50) {
          edges {
            node {
              role
              user {
                id
                name
                email
              }
            }
          }
        }
      }
    }
  }
`);

const ExplainAccessQuery = graphql(`
  query ExplainAccess($resourceId: ID!, $userId: ID) {
    explainAccess(resourceId: $resourceId, userId: $userId) {
      role
      resourceType
      user {
        id
        name
        email
      }
      decisions {
        question
        allowed
        reasons {
          rule
          effect
          detail
        }
      }
    }
  }
`);

const ShareListDoc = graphql(`
  mutation ShareList($input: ShareListInput!) {
    shareList(input: $input) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);

const ROLES: ListRole[] = ['VIEWER', 'EDITOR', 'CO_OWNER'];

interface Person {
  id: string;
  name?: string | null;
  email: string;
}

/**
 * Who has the list and why: its general access, its shares, a form to share it by email, and
 * `explainAccess` for any person in reach (me by default), rule by rule.
 */
export function ShareDialog({ listId, onClose }: { listId: string; onClose: () => void }) {
  const [{ data }, refetch] = useQuery({ query: ShareDialogQuery, variables: { listId } });
  const [explained, setExplained] = useState<string | null>(null);
  const [{ data: why, fetching }] = useQuery({
    query: ExplainAccessQuery,
    variables: { resourceId: listId, userId: explained },
    requestPolicy: 'network-only',
  });
  const [, shareList] = useMutation(ShareListDoc);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<ListRole>('VIEWER');
  const [problem, setProblem] = useState<string | null>(null);
  const list = data?.list;

  const people = new Map<string, Person>();
  for (const edge of list?.workspace.members?.edges ?? []) people.set(edge.node.user.id, edge.node.user);
  for (const share of list?.shares ?? []) if (share.user) people.set(share.user.id, share.user);

  const share = async (event: FormEvent) => {
    event.preventDefault();
    const { data: result, error } = await shareList({ input: { listId, role, email: email.trim() } });
    const answer = result?.shareList;
    setProblem(error?.message ?? (answer && 'message' in answer ? answer.message : null));
    if (answer?.__typename === 'ShareListPayload') {
      setEmail('');
      refetch({ requestPolicy: 'network-only' });
    }
  };

  return (
    <dialog open className="share-dialog">
      <header>
        <h3>Share “{list?.name}”</h3>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </header>
      {list && (
        <p>
          General access: {list.generalAccess.toLowerCase()} ({list.generalRole.toLowerCase()})
        </p>
      )}
      {list?.shares && (
        <ul className="shares">
          {list.shares.map((s) => (
            <li key={s.id}>
              {s.user?.name ?? s.user?.email ?? s.group?.name ?? s.right?.name ?? s.email} — {s.role}
            </li>
          ))}
        </ul>
      )}
      {list?.viewerRole === 'CO_OWNER' || list?.viewerRole === 'CREATOR' ? (
        <form onSubmit={share}>
          <input name="share-email" placeholder="Email" value={email} onChange={(e) => setEmail(e.target.value)} />
          <select name="share-role" value={role} onChange={(e) => setRole(e.target.value as ListRole)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <button type="submit">Share</button>
        </form>
      ) : (
        <p>Only co-owners share this list.</p>
      )}
      {problem && <p className="error">{problem}</p>}
      <h4>Why does someone have access?</h4>
      <select
        name="explain-user"
        value={explained ?? ''}
        onChange={(e) => setExplained(e.target.value === '' ? null : e.target.value)}
      >
        <option value="">Me</option>
        {[...people.values()].map((p) => (
          <option key={p.id} value={p.id}>
            {p.name ?? p.email}
          </option>
        ))}
      </select>
      {fetching && <p>Asking…</p>}
      {why?.explainAccess && (
        <div className="explanation" data-role={why.explainAccess.role ?? ''}>
          <p>
            {why.explainAccess.user.name ?? why.explainAccess.user.email}:{' '}
            <strong>{why.explainAccess.role ?? 'no access'}</strong>
          </p>
          <ul>
            {why.explainAccess.decisions.map((d) => (
              <li key={d.question} className={d.allowed ? 'allowed' : 'denied'}>
                <code>{d.question}</code> {d.allowed ? 'allowed' : 'denied'}
                <ul>
                  {d.reasons.map((r) => (
                    <li key={`${r.rule}-${r.detail}`}>
                      {r.effect} <code>{r.rule}</code>: {r.detail}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        </div>
      )}
    </dialog>
  );
}
