import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { useUi } from '../store.ts';
import { accountErrorMessage } from '../view/errors.ts';

type Mode = 'signIn' | 'signUp';

const MIN_PASSWORD = 10;

/**
 * Sign in or create an account. Errors are said in words next to the form and announced. The mode
 * lives in the window's store so the plans table's "Start free" can open the sign-up form.
 */
export function AccountForms() {
  const signIn = useUi((ui) => ui.signIn);
  const signUp = useUi((ui) => ui.signUp);
  const mode = useUi((ui) => ui.accountMode);
  const setMode = useUi((ui) => ui.setAccountMode);
  const focusSignUp = useUi((ui) => ui.focusSignUp);
  const signUpFocused = useUi((ui) => ui.signUpFocused);
  const emailField = useRef<HTMLInputElement>(null);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  // Not an error: the e-mail has an imported subscription and a claim link went to it.
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();

  // "Start free" in the plans table: the sign-up form, ready to type into.
  useEffect(() => {
    if (!focusSignUp) return;
    emailField.current?.focus();
    emailField.current?.scrollIntoView({ block: 'center' });
    signUpFocused();
  }, [focusSignUp, signUpFocused]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!email.includes('@')) return setError('Enter your email address.');
    if (mode === 'signUp' && password.length < MIN_PASSWORD) {
      return setError(`Use a password of at least ${MIN_PASSWORD} characters.`);
    }
    if (password === '') return setError('Enter your password.');
    setBusy(true);
    setError(null);
    setNotice(null);
    const problem = await (mode === 'signIn' ? signIn : signUp)(email.trim(), password);
    setBusy(false);
    if (problem?.code === 'ACCOUNT_CLAIM_SENT') setNotice(accountErrorMessage(problem));
    else if (problem) setError(accountErrorMessage(problem));
  }

  function switchTo(next: Mode) {
    setMode(next);
    setError(null);
    setNotice(null);
  }

  const title = mode === 'signIn' ? 'Sign in' : 'Create your account';
  return (
    <section className="card account" aria-labelledby={`${id}-title`}>
      <div className="tabs">
        <button type="button" aria-pressed={mode === 'signIn'} onClick={() => switchTo('signIn')}>
          Sign in
        </button>
        <button type="button" aria-pressed={mode === 'signUp'} onClick={() => switchTo('signUp')}>
          Create account
        </button>
      </div>
      <h2 id={`${id}-title`}>{title}</h2>
      {mode === 'signUp' && (
        <p className="plan-choice" data-testid="sign-up-plan">
          Plan: <strong>Free</strong> — no card needed. Upgrade or start a free trial any time.
        </p>
      )}
      <form onSubmit={submit} noValidate>
        <label htmlFor={`${id}-email`}>Email</label>
        <input
          ref={emailField}
          id={`${id}-email`}
          type="email"
          autoComplete="email"
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          aria-invalid={error !== null}
        />
        <label htmlFor={`${id}-password`}>Password</label>
        <input
          id={`${id}-password`}
          type="password"
          autoComplete={mode === 'signIn' ? 'current-password' : 'new-password'}
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          aria-invalid={error !== null}
          aria-describedby={mode === 'signUp' ? `${id}-hint` : undefined}
        />
        {mode === 'signUp' && (
          <p id={`${id}-hint`} className="hint">
            At least {MIN_PASSWORD} characters.
          </p>
        )}
        <p className="form-error" role="alert">
          {error}
        </p>
        <p className="form-notice" role="status">
          {notice}
        </p>
        <button className="primary" type="submit" disabled={busy}>
          {busy ? 'Please wait…' : title}
        </button>
      </form>
    </section>
  );
}
