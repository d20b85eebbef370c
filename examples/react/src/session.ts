/** Where the API is and who is signed in; kept in localStorage so a reload stays signed in. */
export interface Session {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  api: string;
  /** A JWT, as printed by `npm run token -- <email>` at the repository's root. */
  token: string;
}

const KEY = 'sharegraph-example-session';

/** The endpoint a fresh sign-in form suggests: VITE_GRAPHQL_URL at build time, else this origin's /graphql. */
export const defaultApi = new URL(import.meta.env.VITE_GRAPHQL_URL ?? '/graphql', window.location.href).href;

export function loadSession(): Session | null {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Session | null;
    return saved?.api && saved.token ? saved : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) localStorage.setItem(KEY, JSON.stringify(session));
  else localStorage.removeItem(KEY);
}
