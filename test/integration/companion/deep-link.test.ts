import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Companion, CompanionOptions } from '../../../src-main/companion.ts';
import { deepLinkInArgs, followDeepLink, parseDeepLink } from '../../../src-main/deep-link.ts';
import { setPlan, signUp, startTestServer, type TestAccount, type TestServer } from '../../support/server.ts';
import { openTestCheckout, submitTestCheckout } from '../../support/test-checkout.ts';
import { openTestCompanion, tempDir } from './harness.ts';

// The user pays in the browser and Checkout sends them to tollgate://checkout/success: the running
// companion (second-instance / open-url hand it the link) settles the checkout at once, through the
// same sync and the same settleCheckout the polling uses — with no polling in between here.

const folder = tempDir('tollgate-deep-link-');
let server: TestServer;
const open: Companion[] = [];

beforeAll(async () => {
  server = await startTestServer({ env: { TOLLGATE_PAYMENTS: 'local' } });
});

afterAll(async () => {
  for (const companion of open) await companion.close();
  await server?.stop();
  folder.remove();
});

async function waitingCheckout(
  name: string,
  options: Partial<CompanionOptions> = {},
): Promise<{ companion: Companion; account: TestAccount }> {
  const account = await signUp(server.url);
  // An hour between syncs: only the link can bring the new plan within this test.
  const companion = await openTestCompanion({
    home: join(folder.path, name),
    serverUrl: server.url,
    timing: { intervalMs: 3_600_000 },
    ...options,
  });
  open.push(companion);
  expect((await companion.dispatch('auth.signIn', { email: account.email, password: account.password })).ok).toBe(true);
  expect(await companion.dispatch('billing.checkout', { tier: 'professional', cycle: 'monthly' })).toMatchObject({
    ok: true,
    value: { kind: 'checkout' },
  });
  expect(companion.state.getState().checkout.status).toBe('waiting');
  return { companion, account };
}

describe('tollgate:// links returning from checkout', () => {
  it('a success link settles the checkout as soon as the server has the payment', async () => {
    const { companion, account } = await waitingCheckout('success');
    // What the provider's webhook does on the server.
    await setPlan(server.db, account.id, { tier: 'professional', patch: { cycle: 'monthly' } });
    expect(companion.state.getState().checkout.status).toBe('waiting');

    const link = deepLinkInArgs(['/opt/Tollgate/tollgate', 'tollgate://checkout/success?session=cs_test_123']);
    expect(link).not.toBeNull();
    if (link) await followDeepLink(companion, link);
    expect(companion.state.getState().checkout).toEqual({
      status: 'completed',
      tier: 'professional',
      cycle: 'monthly',
      error: null,
    });
    expect(companion.state.getState().subscription).toMatchObject({ tier: 'professional', access: true });
  });

  it('a success link that arrives before the payment is applied keeps the checkout waiting', async () => {
    const { companion, account } = await waitingCheckout('early');
    const link = parseDeepLink('tollgate://checkout/success?session=cs_test_early');
    if (link) await followDeepLink(companion, link);
    expect(companion.state.getState().checkout.status).toBe('waiting');
    await setPlan(server.db, account.id, { tier: 'professional', patch: { cycle: 'monthly' } });
    await companion.dispatch('sync.now', {});
    expect(companion.state.getState().checkout.status).toBe('completed');
  });

  it('a cancel link stops the wait and changes no plan; a forged success link grants nothing', async () => {
    const { companion } = await waitingCheckout('cancel');
    const forged = parseDeepLink('tollgate://checkout/success?session=cs_forged');
    if (forged) await followDeepLink(companion, forged);
    expect(companion.state.getState().subscription).toMatchObject({ tier: 'free' });
    expect(companion.state.getState().checkout.status).toBe('waiting');

    const cancel = parseDeepLink('tollgate://checkout/cancel');
    if (cancel) await followDeepLink(companion, cancel);
    expect(companion.state.getState().checkout).toEqual({ status: 'idle', tier: null, cycle: null, error: null });
    expect(companion.state.getState().effectiveTier).toBe('free');
  });
});

/** The tollgate:// links a server page offers, as the browser would follow them. */
function appLinks(html: string): string[] {
  return [...html.matchAll(/href="(tollgate:[^"]*)"/g)].map((match) => (match[1] as string).replaceAll('&amp;', '&'));
}

describe('the server hands the user back to the app only when the app asked', () => {
  it('local test checkout: after paying, the page offers the tollgate:// link that settles the checkout', async () => {
    const opened: string[] = [];
    const { companion } = await waitingCheckout('local-app', {
      checkoutReturn: 'app',
      openExternal: async (url) => void opened.push(url),
    });
    const checkoutUrl = opened[0] as string;
    const visit = await openTestCheckout(checkoutUrl);
    expect(visit.body).toContain('href="/billing/done?checkout=canceled&amp;app=1"');
    const paid = await submitTestCheckout(checkoutUrl, visit);
    const links = appLinks(paid.body);
    const sessionId = new URL(checkoutUrl).pathname.split('/').pop() as string;
    expect(links).toEqual([`tollgate://checkout/success?session=${sessionId}`]);

    const link = parseDeepLink(links[0]);
    expect(link).toEqual({ kind: 'checkout', outcome: 'success', session: sessionId });
    if (link) await followDeepLink(companion, link);
    expect(companion.state.getState().checkout.status).toBe('completed');
  });

  it('a companion that did not ask (the browser flow, --web) gets the plain pages', async () => {
    const opened: string[] = [];
    await waitingCheckout('local-browser', { openExternal: async (url) => void opened.push(url) });
    const checkoutUrl = opened[0] as string;
    const visit = await openTestCheckout(checkoutUrl);
    expect(visit.body).toContain('href="/billing/done?checkout=canceled"');
    expect(appLinks((await submitTestCheckout(checkoutUrl, visit)).body)).toEqual([]);
  });

  it('the return page (Stripe’s success and cancel URLs) links back only with app=1, never with a forged session', async () => {
    const page = async (query: string) => appLinks(await (await fetch(`${server.url}/billing/done?${query}`)).text());
    expect(await page('checkout=success&app=1&session=cs_test_a1')).toEqual([
      'tollgate://checkout/success?session=cs_test_a1',
    ]);
    expect(await page('checkout=canceled&app=1')).toEqual(['tollgate://checkout/cancel']);
    expect(await page('checkout=success')).toEqual([]);
    expect(await page(`checkout=success&app=1&session=${encodeURIComponent('"><script>alert(1)</script>')}`)).toEqual([
      'tollgate://checkout/success',
    ]);
    expect(await page('portal=closed&app=1')).toEqual(['tollgate://portal/return']);
  });
});
