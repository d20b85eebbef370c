import type { Client as WsClient } from 'graphql-ws';
import { useEffect, useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../gql/index.ts';
import { Accounts } from './accounts.tsx';
import { ListView } from './list-view.tsx';
import { Workspaces } from './workspaces.tsx';

const MeQuery = graphql(`
  query Me {
    me {
      id
      email
      name
      accounts {
        id
        role
        createdAt
        account {
          id
          name
        }
      }
    }
  }
`);

/** What is open, kept in the address (`?account=…&list=…`) so a link or a reload reopens it. */
function useSelection(name: string): [string | null, (id: string | null) => void] {
  const [value, setValue] = useState(() => new URLSearchParams(window.location.search).get(name));
  useEffect(() => {
    const url = new URL(window.location.href);
    if (value) url.searchParams.set(name, value);
    else url.searchParams.delete(name);
    window.history.replaceState(null, '', url);
  }, [name, value]);
  return [value, setValue];
}

/** The signed-in page: who I am, my accounts, an account's workspaces and lists, the open list. */
export function Home({ ws, onSignOut }: { ws: WsClient; onSignOut: () => void }) {
  const [{ data, error, fetching }] = useQuery({ query: MeQuery });
  const [accountId, setAccountId] = useSelection('account');
  const [listId, setListId] = useSelection('list');
  const me = data?.me;
  return (
    <div className="home">
      <header>
        <strong>sharegraph</strong>
        <span className="me" data-email={me?.email}>
          {fetching ? 'Signing in…' : me ? (me.name ?? me.email) : 'Not signed in'}
        </span>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      {error && <p className="error">{error.message}</p>}
      {me && (
        <div className="columns">
          <nav>
            <Accounts memberships={me.accounts} selected={accountId} onOpen={setAccountId} />
            {accountId && <Workspaces accountId={accountId} selectedList={listId} onOpenList={setListId} />}
          </nav>
          <main>{listId ? <ListView key={listId} listId={listId} me={me} ws={ws} /> : <p>Open a list.</p>}</main>
        </div>
      )}
    </div>
  );
}
