import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LaunchedBrowser, launchChromium, screenshot, watchConsole } from '../support/browser.ts';
import { startTestServer, uniqueEmail } from '../support/server.ts';
import { buildOwnRenderer, startCompanion } from './companion-process.ts';

/**
 * Freemium in the companion window, against a real billing server and a real companion (--web) in
 * Chromium: a newcomer sees the plans and prices before signing in, "Start free" opens the sign-up
 * form, the signed-up free account starts the cardless trial with one click and sees its days
 * left, and the upgrade opens checkout. A second account on the same computer is told why it
 * cannot have the trial again.
 */

const SYNC_MS = '400';
const PASSWORD = 'a long enough password';

let chromium: LaunchedBrowser;
let ui: Awaited<ReturnType<typeof buildOwnRenderer>>;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
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

describe('plans before sign-in and the cardless trial', () => {
  it('shows plans to a newcomer, signs up from "Start free", starts the trial with one click and upgrades', async () => {
    const server = await startTestServer({ env: { TOLLGATE_PAYMENTS: 'local' } });
    cleanups.push(() => server.stop());
    const companion = await startCompanion(server.url, SYNC_MS, ui.dir);
    cleanups.push(companion.stop);
    const page = await chromium.browser.newPage();
    cleanups.push(() => page.close());
    const errors = watchConsole(page);
    await page.addInitScript(() => {
      const recorder = globalThis as unknown as { opened: string[]; open: (url?: string | URL) => null };
      recorder.opened = [];
      recorder.open = (url) => {
        recorder.opened.push(String(url));
        return null;
      };
    });
    await page.goto(companion.pageUrl);

    // Nobody signed in: the price list from the server, with limits and the trial offer.
    const plans = page.getByRole('region', { name: 'Plans' });
    await plans.waitFor();
    const header = plans.locator('thead');
    await expect(header.locator('.plan-title').allTextContents()).resolves.toEqual([
      'Free',
      'Professional',
      'Enterprise',
      'Custom',
    ]);
    await expect(header.locator('.price').allTextContents()).resolves.toEqual([
      '$0 / month',
      '$49 / month',
      '$199 / month',
      "Let's talk ",
    ]);
    await expect(plans.getByText('Try it free for 14 days, no card').count()).resolves.toBe(1);
    await expect(plans.getByRole('row', { name: /AI operations per month/ }).textContent()).resolves.toBe(
      'AI operations per month5100UnlimitedUnlimited',
    );
    await screenshot(page, 'companion-plans-before-sign-in');

    // "Start free": the sign-up form, for the free plan, ready to type into.
    await plans.getByRole('button', { name: 'Start free' }).click();
    await page.getByRole('heading', { name: 'Create your account' }).waitFor();
    await expect(page.getByTestId('sign-up-plan').textContent()).resolves.toContain('Plan: Free — no card needed');
    await expect.poll(() => page.locator(':focus').getAttribute('type')).toBe('email');
    const email = uniqueEmail();
    await page.keyboard.type(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create your account' }).click();
    await expect.poll(() => page.getByTestId('plan-name').textContent()).toBe('Free');

    // One click, no card: the trial tier at once, with its days left.
    const trial = page.getByTestId('trial');
    await expect.poll(() => trial.getByRole('heading').textContent()).toBe('Try Professional free for 14 days');
    await trial.getByRole('button', { name: 'Start free Professional trial' }).click();
    await expect.poll(() => trial.getByRole('heading').textContent()).toBe('Professional trial: 14 days left');
    await expect.poll(() => page.getByTestId('plan-name').textContent()).toBe('Professional');
    await expect(trial.textContent()).resolves.toContain('then you are back on Free. Upgrade to keep Professional.');
    await screenshot(page, 'companion-trial-running');

    // The upgrade opens the existing checkout. The window's request to open it is recorded instead
    // of followed: a tab of the billing server's left to the browser keeps a connection the
    // in-process server's close then waits out; the page itself is fetched from here instead.
    await trial.getByRole('button', { name: 'Upgrade to Professional' }).click();
    await page.getByTestId('checkout-waiting').getByText('Waiting for payment').waitFor();
    const opened = await page.evaluate(() => (globalThis as unknown as { opened: string[] }).opened);
    expect(opened).toHaveLength(1);
    const checkoutUrl = opened[0] as string;
    expect(checkoutUrl.startsWith(`${server.url}/`)).toBe(true);
    const checkoutPage = await fetch(checkoutUrl);
    expect(checkoutPage.status).toBe(200);
    await expect(checkoutPage.text()).resolves.toContain('Professional');

    // Another account on this computer: the trial is once per device, and the window says so.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('region', { name: 'Plans' }).getByRole('button', { name: 'Start free' }).click();
    await page.getByLabel('Email').fill(uniqueEmail());
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create your account' }).click();
    await expect.poll(() => page.getByTestId('plan-name').textContent()).toBe('Free');
    await trial.getByRole('button', { name: 'Start free Professional trial' }).click();
    await expect
      .poll(() => page.getByTestId('trial-error').textContent())
      .toContain('This device already had the free Professional trial, with another account.');
    await expect(page.getByTestId('plan-name').textContent()).resolves.toBe('Free');
    // The offer gives way to the upgrade; the first account's checkout is not this one's.
    await expect(trial.getByRole('button').allTextContents()).resolves.toEqual(['Upgrade to Professional']);
    await expect(page.getByTestId('checkout-waiting').count()).resolves.toBe(0);
    await screenshot(page, 'companion-trial-already-used');
    expect(errors).toEqual([]);
  });
});
