import { useEffect, useState } from 'react';
import { Provider } from 'urql';
import { type Connection, connect } from './client.ts';
import { Home } from './components/home.tsx';
import { SignIn } from './components/sign-in.tsx';
import { loadSession, type Session, saveSession } from './session.ts';

/** Signed out: the sign-in form. Signed in: one urql client (and socket) for the session. */
export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [connection, setConnection] = useState<Connection | null>(null);
  useEffect(() => {
    if (!session) return;
    const opened = connect(session);
    setConnection(opened);
    return () => {
      setConnection(null);
      void opened.ws.dispose();
    };
  }, [session]);
  const signIn = (next: Session | null) => {
    saveSession(next);
    setSession(next);
  };
  if (!session) return <SignIn onSignIn={signIn} />;
  if (!connection) return null;
  return (
    <Provider value={connection.client}>
      <Home ws={connection.ws} onSignOut={() => signIn(null)} />
    </Provider>
  );
}
