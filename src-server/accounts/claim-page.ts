import { createHash } from 'node:crypto';
import { escapeHtml } from '../http/html.ts';

/**
 * The page a claim e-mail's link opens: choose a password for the imported account. Self-contained
 * HTML (no scripts, nothing external) under a CSP that allows exactly its one stylesheet, a plain
 * form that works by keyboard and without JavaScript, and no Referer, so the code in its address
 * goes nowhere else.
 */

const MIN_PASSWORD = 10;

const STYLE = `
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f6f6f4; color: #1c1c1c; }
main { max-width: 32rem; margin: 3rem auto; padding: 2rem; background: #fff; border: 1px solid #ccc; border-radius: 8px; }
label { display: block; font-weight: 600; margin-top: 1rem; }
input { font: inherit; width: 100%; box-sizing: border-box; padding: .5rem; margin: .25rem 0 1rem; }
button { font: inherit; font-weight: 600; padding: .6rem 1.4rem; border-radius: 6px; border: 2px solid #1d4ed8; background: #1d4ed8; color: #fff; cursor: pointer; }
button:focus-visible, input:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
[role=alert] { color: #9f1239; font-weight: 600; }
`;

const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

export const CLAIM_PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${STYLE_HASH}'`,
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

/** The form; `problem` says in words why the last try was refused. */
export function claimFormPage(code: string, problem: string | null = null): string {
  return page(
    'Set your password',
    `<h1>Set your password</h1>
<p>Your e-mail already has an account with its subscription. Choose the password you will sign in with.</p>
${problem ? `<p role="alert">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="/claim">
<input type="hidden" name="code" value="${escapeHtml(code)}">
<label for="password">New password (at least ${MIN_PASSWORD} characters)</label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="${MIN_PASSWORD}" maxlength="200" required>
<button type="submit">Set password</button>
</form>`,
  );
}

export function claimedPage(email: string): string {
  return page(
    'Password set',
    `<h1>Password set</h1>
<p role="status">Your account is yours. Sign in in the app with ${escapeHtml(email)} and the password you just chose.</p>`,
  );
}

export function claimRefusedPage(message: string): string {
  return page('Claim link not valid', `<h1>Claim link not valid</h1>\n<p role="alert">${escapeHtml(message)}</p>`);
}
