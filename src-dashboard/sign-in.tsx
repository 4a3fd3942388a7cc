import { type FormEvent, useState } from 'react';
import { signInAdministrator } from './api.ts';

/**
 * Signs in a named administrator (e-mail and password), or with the admin token
 * (TOLLGATE_ADMIN_TOKEN, for automation); the app keeps the bearer for this tab only.
 */
export function SignIn({ onSubmit, problem }: { onSubmit: (token: string) => void; problem: string | null }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [failed, setFailed] = useState<string | null>(null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setFailed(null);
    if (token.trim()) {
      onSubmit(token.trim());
      return;
    }
    signInAdministrator(email, password).then(onSubmit, (error: Error) => setFailed(error.message));
  };
  const shown = failed ?? problem;
  return (
    <main className="sign-in">
      <h1>Tollgate analytics</h1>
      <form onSubmit={submit}>
        <label>
          E-mail
          <input
            type="email"
            autoComplete="username"
            value={email}
            onChange={(event) => setEmail(event.target.value)}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
        </label>
        <label>
          Admin token
          <input type="password" autoComplete="off" value={token} onChange={(event) => setToken(event.target.value)} />
        </label>
        <button type="submit">Sign in</button>
        {shown ? (
          <p role="alert" className="problem">
            {shown}
          </p>
        ) : null}
      </form>
    </main>
  );
}
