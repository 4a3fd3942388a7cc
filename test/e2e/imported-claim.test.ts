import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createImportedAccount } from '../../src-server/accounts/accounts.ts';
import { createDatabase } from '../../src-server/db/connection.ts';
import { eventually, startTestSmtp } from '../integration/outbox/smtp.ts';
import { type LaunchedBrowser, launchChromium, screenshot, watchConsole } from '../support/browser.ts';
import { setPlan, spawnTestServer } from '../support/server.ts';
import { buildOwnRenderer, startCompanion } from './companion-process.ts';

/**
 * A customer the Stripe import made an account for, end to end: they sign up in the companion's
 * window, which tells them a link was e-mailed; they open the link from the mail (a real SMTP
 * server received it) in the browser, choose a password, and sign in to find the plan they pay for.
 */

const SYNC_MS = '400';
const PASSWORD = 'the password I chose';
const CLAIM_LINK = /(http:\/\/\S+\/claim\?code=[A-Za-z0-9_-]+)/;

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

describe('claiming an imported account from the companion', () => {
  it('sign-up says a link was sent; the mailed link sets the password; sign-in shows the imported plan', async () => {
    const smtp = await startTestSmtp();
    cleanups.push(() => smtp.close());
    const server = await spawnTestServer({ env: { TOLLGATE_SMTP_URL: smtp.url } });
    cleanups.push(() => server.stop());
    const handle = await createDatabase({ dataDir: server.database.dataDir, databaseUrl: server.database.databaseUrl });
    cleanups.push(() => handle.destroy());
    const email = 'paying.customer@example.test';
    const id = await createImportedAccount(handle.db, email, Date.now() - 90 * 86_400_000);
    await setPlan(handle.db, id as string, { tier: 'professional' });

    const companion = await startCompanion(server.url, SYNC_MS, ui.dir);
    cleanups.push(companion.stop);
    const page = await chromium.browser.newPage();
    cleanups.push(() => page.close());
    const errors = watchConsole(page);
    await page.goto(companion.pageUrl);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('whatever I typed first');
    await page.getByRole('button', { name: 'Create your account' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: 'This e-mail already has a subscription to the Professional plan. We sent a link to it' })
      .waitFor();
    await screenshot(page, 'companion-imported-claim-sent');
    await expect(page.getByTestId('plan-name').count()).resolves.toBe(0);

    await eventually('the claim mail', () => smtp.received.some((mail) => mail.to === email));
    const link = smtp.received.find((mail) => mail.to === email)?.text.match(CLAIM_LINK)?.[1] as string;
    const claimPage = await chromium.browser.newPage();
    cleanups.push(() => claimPage.close());
    await claimPage.goto(link);
    await claimPage.getByLabel('New password').fill(PASSWORD);
    await claimPage.getByRole('button', { name: 'Set password' }).click();
    await claimPage
      .getByRole('status')
      .filter({ hasText: `Sign in in the app with ${email}` })
      .waitFor();
    await screenshot(claimPage, 'claim-page-password-set');

    await page.getByRole('button', { name: 'Sign in', exact: true }).first().click();
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).last().click();
    await page.getByTestId('plan-name').filter({ hasText: 'Professional' }).waitFor();
    expect(errors).toEqual([]);
  });
});
