import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql/index.ts';

const WorkspacesQueryDoc = graphql(`
  query Workspaces($accountId: ID!) {
    workspaces(accountId: $accountId, first: 50) {
      edges {
        node {
          id
          name
          type
          viewerRole
          locked
        }
      }
    }
  }
`);

const WorkspaceListsQuery = graphql(`
  query WorkspaceLists($id: ID!) {
    workspace(id: $id) {
      id
      lists(first: 50) {
        edges {
          node {
            id
            name
            kind
            viewerRole
          }
        }
      }
    }
  }
`);

const RequestToJoinDoc = graphql(`
  mutation RequestToJoinWorkspace($input: RequestToJoinWorkspaceInput!) {
    requestToJoinWorkspace(input: $input) {
      __typename
      ... on RequestToJoinWorkspacePayload {
        request {
          id
          status
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

/**
 * An account's workspaces I can see (open ones, and closed ones with a lock; private ones only
 * when I am in them), each with the lists I reach in it: of a locked workspace, only those shared
 * with me. A locked closed workspace offers to ask its owners to let me in.
 */
export function Workspaces({
  accountId,
  selectedList,
  onOpenList,
}: {
  accountId: string;
  selectedList: string | null;
  onOpenList: (id: string) => void;
}) {
  const [{ data, error }] = useQuery({ query: WorkspacesQueryDoc, variables: { accountId } });
  return (
    <section className="workspaces">
      <h2>Workspaces</h2>
      {error && <p className="error">{error.message}</p>}
      <ul>
        {data?.workspaces.edges.map(({ node: ws }) => (
          <li key={ws.id} className="workspace" data-name={ws.name} data-locked={ws.locked}>
            <div>
              {ws.locked && (
                <svg className="lock" viewBox="0 0 16 16" width="14" height="14" role="img" aria-label="locked">
                  <title>{`${ws.type.toLowerCase()}: join to see its content`}</title>
                  <path d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7zm2 0h4V5a2 2 0 0 0-4 0z" fill="currentColor" />
                </svg>
              )}
              <strong>{ws.name}</strong> <small>{ws.viewerRole ?? ws.type.toLowerCase()}</small>
            </div>
            {ws.locked && ws.type === 'CLOSED' && <RequestToJoin workspaceId={ws.id} />}
            <WorkspaceLists workspaceId={ws.id} selected={selectedList} onOpen={onOpenList} />
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Asks a closed workspace's owners to let me in; asking again returns the same pending request. */
function RequestToJoin({ workspaceId }: { workspaceId: string }) {
  const [{ data, error, fetching }, request] = useMutation(RequestToJoinDoc);
  const result = data?.requestToJoinWorkspace;
  if (result?.__typename === 'RequestToJoinWorkspacePayload') {
    return (
      <p
        className="join-request"
        data-status={result.request.status}
      >{`Request ${result.request.status.toLowerCase()}.`}</p>
    );
  }
  const problem = error?.message ?? (result && 'message' in result ? result.message : null);
  return (
    <div className="join-request">
      <button type="button" disabled={fetching} onClick={() => request({ input: { workspaceId } })}>
        Request to join
      </button>
      {problem && <span className="error">{problem}</span>}
    </div>
  );
}

/** A workspace's lists, asked for on their own: a query's cost grows with every nested page. */
function WorkspaceLists({
  workspaceId,
  selected,
  onOpen,
}: {
  workspaceId: string;
  selected: string | null;
  onOpen: (id: string) => void;
}) {
  const [{ data, error }] = useQuery({ query: WorkspaceListsQuery, variables: { id: workspaceId } });
  if (error) return <p className="error">{error.message}</p>;
  // Null behind the lock of a workspace I have not joined and reach no list of.
  const lists = data?.workspace?.lists;
  if (data && !lists) return <p className="locked-note">Its lists show once you are in it.</p>;
  return (
    <ul className="lists">
      {lists?.edges.map(({ node: list }) => (
        <li key={list.id}>
          <button
            type="button"
            className={list.id === selected ? 'list-link selected' : 'list-link'}
            onClick={() => onOpen(list.id)}
          >
            {list.name}
          </button>
        </li>
      ))}
    </ul>
  );
}
