import { createHash } from 'node:crypto';
import { escapeHtml } from '../http/html.ts';
import { type LocalCheckout, TEST_PROMOTION_CODE } from './local-provider.ts';

/**
 * The local provider's pages: self-contained HTML (no scripts, no external resources) under a
 * strict Content Security Policy that allows exactly the one inline stylesheet, by hash. The
 * checkout is a plain form, so it works by keyboard (Tab to "Pay (test)", Enter) and without
 * JavaScript.
 */

const STYLE = `
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f6f6f4; color: #1c1c1c; }
main { max-width: 32rem; margin: 3rem auto; padding: 2rem; background: #fff; border: 1px solid #ccc; border-radius: 8px; }
.banner { background: #fff3c4; border: 2px dashed #8a6d00; padding: .75rem 1rem; border-radius: 6px; font-weight: 600; }
dl { display: grid; grid-template-columns: auto 1fr; gap: .25rem 1rem; }
dt { color: #555; }
label { display: block; margin: 1rem 0 .25rem; }
input { font: inherit; padding: .4rem .6rem; border: 1px solid #777; border-radius: 6px; margin-bottom: 1rem; }
.problem { background: #fde8e8; border: 1px solid #b91c1c; padding: .5rem 1rem; border-radius: 6px; }
button { font: inherit; font-weight: 600; padding: .6rem 1.4rem; border-radius: 6px; border: 2px solid #1d4ed8; background: #1d4ed8; color: #fff; cursor: pointer; }
button:focus-visible, a:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
a { color: #1d4ed8; }
`;

const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

export const TEST_PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${STYLE_HASH}'`,
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

function money(cents: number, currency: string): string {
  return new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() }).format(cents / 100);
}

function page(title: string, body: string, testBanner = true): string {
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
${testBanner ? '<p class="banner" role="note">Test checkout — no real payment. This server runs the local test provider (TOLLGATE_PAYMENTS=local); nothing is charged.</p>' : ''}
${body}
</main>
</body>
</html>`;
}

/** The checkout form; `problem` is why the last submission was refused (an unknown promotion code). */
export function checkoutPage(checkout: LocalCheckout, tierName: string, problem: string | null = null): string {
  const total = checkout.priceCents + checkout.setupFeeCents;
  const setupFee =
    checkout.setupFeeCents > 0
      ? `<dt>Setup fee (once)</dt><dd>${money(checkout.setupFeeCents, checkout.currency)}</dd>`
      : '';
  return page(
    'Test checkout — no real payment',
    `<h1>Test checkout — no real payment</h1>
<dl>
<dt>Plan</dt><dd>${escapeHtml(tierName)}, billed ${checkout.plan.cycle}</dd>
<dt>Price</dt><dd>${money(checkout.priceCents, checkout.currency)} per ${checkout.plan.cycle === 'yearly' ? 'year' : 'month'}</dd>
${setupFee}
<dt>Due today</dt><dd>${money(total, checkout.currency)}</dd>
</dl>
${problem ? `<p class="problem" role="alert">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="/billing/test-checkout/${escapeHtml(checkout.id)}/pay">
<input type="hidden" name="token" value="${escapeHtml(checkout.formToken)}">
<label for="promotion_code">Promotion code (optional; the test code ${TEST_PROMOTION_CODE} takes 50 % off this first invoice)</label>
<input id="promotion_code" name="promotion_code" autocomplete="off" maxlength="64">
<button type="submit">Pay (test)</button>
</form>
<p><a href="/billing/done?checkout=canceled${checkout.returnTo === 'app' ? '&amp;app=1' : ''}">Cancel and go back</a></p>`,
  );
}

export function paidPage(checkout: LocalCheckout, tierName: string, appLink: string | null): string {
  const paid = money(checkout.amountPaidCents ?? 0, checkout.currency);
  return page(
    'Test payment recorded',
    `<h1>Test payment recorded</h1>
<p role="status">Your ${escapeHtml(tierName)} plan is active. You can close this window and return to the app.</p>
<p>Paid today (test): <strong data-testid="amount-paid">${paid}</strong></p>${returnButton(appLink)}`,
  );
}

/** The hand-over to the desktop app (a tollgate:// link), when the app asked for one. */
function returnButton(appLink: string | null): string {
  return appLink ? `\n<p><a href="${escapeHtml(appLink)}">Return to the app</a></p>` : '';
}

/** Where checkout and the portal return to; `testMode` keeps the test banner on the local provider. */
export function donePage(message: string, testMode: boolean, appLink: string | null = null): string {
  return page(
    'Billing',
    `<h1>Billing</h1><p role="status">${escapeHtml(message)}</p>${returnButton(appLink)}`,
    testMode,
  );
}

export function unknownCheckoutPage(): string {
  return page(
    'Test checkout not found',
    '<h1>Test checkout not found</h1><p role="alert">This test checkout is unknown or expired. Start again from the app.</p>',
  );
}

/** Not the browser that opened the checkout's link (a used or missing code, a cross-site post). */
export function refusedCheckoutPage(): string {
  return page(
    'Test checkout refused',
    '<h1>Test checkout refused</h1><p role="alert">Only the browser that opened this checkout from the app can ' +
      'complete it, and its link works once. Start the checkout again from the app.</p>',
  );
}
