import { type FormEvent, useState } from 'react';

/** Asks for the admin token (TOLLGATE_ADMIN_TOKEN); the app keeps it for this tab only. */
export function SignIn({ onSubmit, problem }: { onSubmit: (token: string) => void; problem: string | null }) {
  const [token, setToken] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (token.trim()) onSubmit(token.trim());
  };
  return (
    <main className="sign-in">
      <h1>Tollgate analytics</h1>
      <form onSubmit={submit}>
        <label>
          Admin token
          <input
            type="password"
            autoComplete="off"
            value={token}
            onChange={(event) => setToken(event.target.value)}
            required
          />
        </label>
        <button type="submit">Sign in</button>
        {problem ? (
          <p role="alert" className="problem">
            {problem}
          </p>
        ) : null}
      </form>
    </main>
  );
}
