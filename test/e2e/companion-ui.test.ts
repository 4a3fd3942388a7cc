import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HostClient } from '../../src-main/host-client.ts';
import { MeResponse, Session } from '../../src-shared/api.ts';
import { type LaunchedBrowser, launchChromium, type Page, screenshot, watchConsole } from '../support/browser.ts';
import { request, spawnTestServer, uniqueEmail } from '../support/server.ts';
import { buildOwnRenderer, startCompanion } from './companion-process.ts';

/**
 * The companion's window end to end: the real billing server (local payment provider) and the
 * companion in --web mode, each a child process with its own data folders, driven in Chromium.
 * Usage arrives through the host socket, as a host app would send it.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const README_SHOTS = join(ROOT, 'docs', 'screenshots');
const SYNC_MS = '400';
const PASSWORD = 'a long test password';
/** The upgrade step pays on the server's own test checkout page. */
const ADMIN_TOKEN = 'companion-ui-admin-token-0123456789abcdef';
const LOCAL_PAYMENTS = { TOLLGATE_PAYMENTS: 'local', TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN };

let chromium: LaunchedBrowser;
let ui: Awaited<ReturnType<typeof buildOwnRenderer>>;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  // The companion's --web mode serves this checkout's UI, built for this file alone.
  ui = await buildOwnRenderer();
  chromium = await launchChromium();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  ui?.remove();
  await chromium?.close();
});

/** What the sign-up step leaves on the page: the alarming words the window showed meanwhile. */
interface SignUpWatch {
  signUpSaw?: () => string[];
}

/** Presses Tab until `target` has focus: the way a keyboard user gets there. */
async function tabTo(page: Page, target: Locator, limit = 80): Promise<void> {
  for (let presses = 0; presses < limit; presses += 1) {
    await page.keyboard.press('Tab');
    if (await target.evaluate((node) => node === node.ownerDocument.activeElement)) return;
  }
  throw new Error(`Tab never reached ${target}`);
}

async function bar(page: Page, label: string) {
  const row = page.locator('.usage-row').filter({ has: page.getByText(label, { exact: true }) });
  const progress = row.getByRole('progressbar');
  return {
    now: await progress.getAttribute('aria-valuenow'),
    max: await progress.getAttribute('aria-valuemax'),
    state: await row.getAttribute('data-state'),
  };
}

/** Saves a test artifact; with TOLLGATE_UPDATE_SCREENSHOTS=1 the README's copy is refreshed too. */
async function shot(page: Page, name: string, readme = false): Promise<void> {
  const path = await screenshot(page, name);
  if (readme && process.env.TOLLGATE_UPDATE_SCREENSHOTS === '1') {
    mkdirSync(README_SHOTS, { recursive: true });
    copyFileSync(path, join(README_SHOTS, `${name}.png`));
  }
}

describe('the companion window against a real billing server', () => {
  it('signs up, fills the free plan through a host app, upgrades by checkout, rides out an outage and syncs', async () => {
    let server = await spawnTestServer({ env: LOCAL_PAYMENTS });
    cleanups.push(() => server.stop());
    const port = new URL(server.url).port;
    const companion = await startCompanion(server.url, SYNC_MS, ui.dir);
    cleanups.push(companion.stop);
    const page = await chromium.browser.newPage();
    cleanups.push(() => page.close());
    const errors = watchConsole(page);

    // Sign up with the keyboard alone.
    await page.goto(companion.pageUrl);
    // The one-time code bought the session cookie and left the address bar.
    expect(page.url()).toBe(`${new URL(companion.pageUrl).origin}/`);
    await tabTo(page, page.getByRole('button', { name: 'Create account' }));
    await page.keyboard.press('Enter');
    await tabTo(page, page.getByLabel('Email'));
    const email = uniqueEmail();
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    // Everything the window says between the click and the license's arrival is recorded: a new
    // account must never be told its license was refused or a limit reached, not even for a moment.
    await page.evaluate(() => {
      // The page's own globals, typed here (the tests compile without the DOM library).
      const page = globalThis as unknown as SignUpWatch & {
        document: { body: { textContent: string | null } };
        MutationObserver: new (
          seen: () => void,
        ) => { observe(target: unknown, options: Record<string, boolean>): void; disconnect(): void };
      };
      const seen = new Set<string>();
      const words = ['License not accepted', 'Limit reached', 'limit reached', '0 of 0'];
      const observer = new page.MutationObserver(() => {
        const text = page.document.body.textContent ?? '';
        for (const word of words) if (text.includes(word)) seen.add(word);
      });
      const options = { subtree: true, childList: true, characterData: true, attributes: true };
      observer.observe(page.document.body, options);
      page.signUpSaw = () => {
        observer.disconnect();
        return [...seen];
      };
    });
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('plan-name').textContent()).toBe('Free');
    await expect(page.getByTestId('account-email').textContent()).resolves.toBe(email);
    // The plan's name comes with the account; the limits only with the signed license, which on a
    // loaded machine can arrive a moment later (until then nothing is granted).
    await expect.poll(() => bar(page, 'AI operations')).toEqual({ now: '0', max: '5', state: 'calm' });
    await expect(bar(page, 'Data processing')).resolves.toEqual({ now: '0', max: '2', state: 'calm' });
    await expect(page.getByTestId('upgrade-prompt').count()).resolves.toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as SignUpWatch).signUpSaw?.())).toEqual([]);
    await shot(page, 'companion-free-plan', true);

    // A host app spends AI operations through the host socket: 80 %, then 100 %, then one too many.
    const host = await HostClient.connect(companion.socket);
    cleanups.push(() => host.close());
    const consume = () => host.call('usage.consume', { operation: 'ai_operations', units: 1 });
    for (let unit = 0; unit < 4; unit += 1) expect((await consume()).decision.allowed).toBe(true);
    await expect.poll(() => bar(page, 'AI operations')).toEqual({ now: '4', max: '5', state: 'warning' });
    const prompt = page.getByTestId('upgrade-prompt');
    await expect.poll(() => prompt.getByRole('heading').textContent()).toBe('AI operations: 80 % used');
    await expect(prompt.textContent()).resolves.toContain('Professional unblocks it — $49 / month.');
    // The window told the server it showed the prompt: the vendor's funnel counts this sign-up there
    // (by any path: at 80 % it has not reached a limit, the step before in the funnel).
    const funnelPromptShown = async () => {
      const funnel = await request(server.url, 'GET', '/v1/admin/metrics/funnel', undefined, { token: ADMIN_TOKEN });
      return funnel.body.months[0].steps.find((step: { step: string }) => step.step === 'prompt_shown').reachedAnyPath;
    };
    await expect.poll(funnelPromptShown).toBe(1);
    // The server's 80 % notice arrives with the next sync.
    const notices = page.getByRole('region', { name: 'Notices' }).getByRole('listitem');
    await notices.filter({ hasText: /80 %/ }).waitFor();
    await shot(page, 'companion-usage-warning', true);

    expect((await consume()).decision.allowed).toBe(true);
    await expect.poll(() => bar(page, 'AI operations')).toEqual({ now: '5', max: '5', state: 'full' });
    const refused = await consume();
    expect(refused.decision).toMatchObject({
      allowed: false,
      code: 'LIMIT_REACHED',
      upgrade: { tier: 'professional' },
    });
    await expect.poll(() => prompt.getByRole('heading').textContent()).toBe('An app was blocked: AI operations');
    // The 100 % notice takes the 80 % one's place; once dismissed, neither comes back.
    await notices.filter({ hasText: /all 5/ }).waitFor();
    await expect.poll(() => notices.count()).toBe(1);
    await shot(page, 'companion-limit-reached', true);
    await notices.getByRole('button', { name: /^Dismiss/ }).click();
    await expect.poll(() => notices.count()).toBe(0);

    // Checkout with the keyboard: the prompt's button, then "Pay (test)" on the provider's page.
    const checkoutOpened = chromium.browser.waitForEvent('page');
    await tabTo(page, prompt.getByRole('button', { name: 'Upgrade to Professional' }));
    await page.keyboard.press('Enter');
    const checkout = await checkoutOpened;
    cleanups.push(() => checkout.close());
    await checkout.waitForLoadState();
    await page.getByTestId('checkout-waiting').getByText('Waiting for payment').waitFor();
    await shot(page, 'companion-checkout-waiting', true);
    await checkout.getByRole('button', { name: 'Pay (test)' }).waitFor();
    await screenshot(checkout, 'companion-local-checkout-page');
    await tabTo(checkout, checkout.getByRole('button', { name: 'Pay (test)' }));
    await checkout.keyboard.press('Enter');

    // The window follows by itself: no reload.
    await expect.poll(() => page.getByTestId('plan-name').textContent(), { timeout: 20_000 }).toBe('Professional');
    await page.getByText('Payment received — you are on Professional.').waitFor();
    await expect.poll(() => bar(page, 'AI operations')).toEqual({ now: '5', max: '100', state: 'calm' });
    await expect(page.locator('th.current').textContent()).resolves.toContain('Professional');
    await shot(page, 'companion-professional', true);

    // The billing server dies: the cached license keeps the plan, usage waits on the device.
    await server.kill('SIGKILL');
    const offline = page.getByTestId('banner-offline');
    await offline.waitFor({ timeout: 20_000 });
    await expect(offline.textContent()).resolves.toMatch(/cached Professional license keeps working offline until/);
    for (let unit = 0; unit < 2; unit += 1) expect((await consume()).decision.allowed).toBe(true);
    await page.getByText('2 recorded on this device, waiting to sync').waitFor();
    await expect(page.getByTestId('plan-name').textContent()).resolves.toBe('Professional');
    await shot(page, 'companion-offline', true);

    // Back on the same address: the banner goes and the device's usage reaches the server.
    server = await spawnTestServer({ database: server.database, env: { ...LOCAL_PAYMENTS, TOLLGATE_PORT: port } });
    await offline.waitFor({ state: 'detached', timeout: 20_000 });
    await page.getByText('waiting to sync').waitFor({ state: 'detached' });
    await expect.poll(() => bar(page, 'AI operations')).toEqual({ now: '7', max: '100', state: 'calm' });
    const signIn = await request<unknown>(server.url, 'POST', '/v1/auth/sign-in', { email, password: PASSWORD });
    const session = Session.parse(signIn.body);
    const me = MeResponse.parse(
      (await request<unknown>(server.url, 'GET', '/v1/me', undefined, { token: session.accessToken })).body,
    );
    expect(me.subscription.tier).toBe('professional');
    expect(me.usage.operations.ai_operations?.used).toBe(7);
    await shot(page, 'companion-synced');
    expect(errors).toEqual([]);
  });

  it('explains a wrong password, a taken email and an unreachable server', async () => {
    const server = await spawnTestServer();
    cleanups.push(() => server.stop());
    const companion = await startCompanion(server.url, SYNC_MS, ui.dir);
    cleanups.push(companion.stop);
    const page = await chromium.browser.newPage();
    cleanups.push(() => page.close());
    const errors = watchConsole(page);
    const email = uniqueEmail();
    Session.parse((await request<unknown>(server.url, 'POST', '/v1/auth/sign-up', { email, password: PASSWORD })).body);

    await page.goto(companion.pageUrl);
    const submit = page.getByRole('button', { name: 'Sign in', exact: true }).last();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('not the password at all');
    await submit.click();
    await page.getByRole('alert').filter({ hasText: 'Wrong email or password.' }).waitFor();
    await shot(page, 'companion-sign-in-wrong-password', true);

    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create your account' }).click();
    await page.getByRole('alert').filter({ hasText: 'An account with this email already exists.' }).waitFor();

    await server.kill('SIGKILL');
    await page.getByRole('button', { name: 'Sign in', exact: true }).first().click();
    await page.getByLabel('Password').fill(PASSWORD);
    await submit.click();
    await page.getByRole('alert').filter({ hasText: "Can't reach the billing server." }).waitFor();
    await expect(page.getByTestId('plan-name').count()).resolves.toBe(0);
    expect(errors).toEqual([]);

    // The companion itself goes away: the window says so instead of showing stale state as live.
    await companion.stop();
    await page.getByRole('alert').filter({ hasText: 'Lost contact with the companion app.' }).waitFor();
  });
});
