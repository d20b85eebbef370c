import { type FormEvent, useState } from 'react';
import { defaultApi, type Session } from '../session.ts';

/** Paste a token (`npm run token -- <email>` at the repository's root) and the API's URL. */
export function SignIn({ onSignIn }: { onSignIn: (session: Session) => void }) {
  const [api, setApi] = useState(defaultApi);
  const [token, setToken] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = token.trim().replace(/^Bearer\s+/i, '');
    if (trimmed) onSignIn({ api: api.trim(), token: trimmed });
  };
  return (
    <form className="sign-in" onSubmit={submit}>
      <h1>sharegraph</h1>
      <label>
        API
        <input name="api" value={api} onChange={(e) => setApi(e.target.value)} />
      </label>
      <label>
        Token
        <textarea
          name="token"
          rows={4}
          placeholder="npm run token -- ada@demo.sharegraph.dev"
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
      </label>
      <button type="submit">Sign in</button>
    </form>
  );
}
