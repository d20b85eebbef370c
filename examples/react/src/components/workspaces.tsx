import { useQuery } from 'urql';
import type { WorkspacesQuery } from '../gql/graphql.ts';
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

type Workspace = WorkspacesQuery['workspaces']['edges'][number]['node'];

/**
 * Whether the workspace shows only its outside (name, type) to me. Issue 16 adds
 * `Workspace.locked`; until it is in the schema, a closed or private workspace I am not a
 * member of is locked. With issue 16: select `locked` above and return `workspace.locked`.
 */
export function isLocked(workspace: Pick<Workspace, 'type' | 'viewerRole'>): boolean {
  return workspace.type !== 'OPEN' && (workspace.viewerRole === null || workspace.viewerRole === 'NON_MEMBER');
}

/**
 * An account's workspaces I can see, each with the lists I reach in it (of a locked workspace,
 * only those shared with me); a lock on those whose content I have not joined.
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
          <li key={ws.id} className="workspace" data-name={ws.name} data-locked={isLocked(ws)}>
            <div>
              {isLocked(ws) && (
                <svg className="lock" viewBox="0 0 16 16" width="14" height="14" role="img" aria-label="locked">
                  <title>{`${ws.type.toLowerCase()}: join to see its content`}</title>
                  <path d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7zm2 0h4V5a2 2 0 0 0-4 0z" fill="currentColor" />
                </svg>
              )}
              <strong>{ws.name}</strong> <small>{ws.viewerRole ?? ws.type.toLowerCase()}</small>
            </div>
            <WorkspaceLists workspaceId={ws.id} selected={selectedList} onOpen={onOpenList} />
          </li>
        ))}
      </ul>
    </section>
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
  return (
    <ul className="lists">
      {data?.workspace?.lists.edges.map(({ node: list }) => (
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
