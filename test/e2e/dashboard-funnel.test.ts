import { resolve } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LaunchedBrowser, launchChromium, type Page, screenshot, watchConsole } from '../support/browser.ts';
import { walkTwoMonths } from '../support/funnel-journeys.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

// The dashboard's conversion funnel in Debian's Chromium: real accounts walk the funnel over the
// real server across January and February (test/support/funnel-journeys.ts), and the page shows
// each month's sign-up cohort with the figures computed by hand.

const ADMIN_TOKEN = 'e2e-funnel-admin-token-abcdefghij-0123456789';
const clock = { at: Date.UTC(2026, 0, 1) };
let server: TestServer;
let chromium: LaunchedBrowser;

beforeAll(async () => {
  await build({ configFile: resolve('vite.dashboard.config.ts'), logLevel: 'silent' });
  server = await startTestServer({
    now: () => clock.at,
    env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN, TOLLGATE_PAYMENTS: 'local' },
  });
  await walkTwoMonths(server.url, clock);
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  await server?.stop();
});

async function funnelRows(page: Page, month: string): Promise<string[][]> {
  await page.locator(`[data-testid="month-view"][data-month="${month}"]`).waitFor();
  const rows = page.getByTestId('funnel-table').locator('tbody tr');
  const cells: string[][] = [];
  for (let index = 0; index < (await rows.count()); index += 1) {
    cells.push(await rows.nth(index).locator('td').allTextContents());
  }
  return cells;
}

it('shows the funnel of the chosen month’s sign-ups, with counts and step conversion rates', async () => {
  const page = await chromium.browser.newPage();
  try {
    const errors = watchConsole(page);
    await page.goto(`${server.url}/admin`);
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.getByLabel('Month', { exact: true }).fill('2026-01');
    // Step, accounts, from the previous step, from sign-up, reached by any path.
    expect(await funnelRows(page, '2026-01')).toEqual([
      ['Signed up', '5', '—', '100.0 %', '5'],
      ['First use', '3', '60.0 %', '60.0 %', '3'],
      ['First limit reached', '3', '100.0 %', '60.0 %', '3'],
      ['Upgrade prompt shown', '3', '100.0 %', '60.0 %', '3'],
      ['Checkout started', '3', '100.0 %', '60.0 %', '4'],
      ['Paid', '2', '66.7 %', '40.0 %', '3'],
    ]);
    await expect(page.getByTestId('funnel-cohort').textContent()).resolves.toBe(
      'The 5 accounts that signed up in 2026-01, counted up to 2026-02-08 09:00 UTC.',
    );
    await page.getByRole('region', { name: 'Conversion funnel' }).scrollIntoViewIfNeeded();
    await screenshot(page, 'dashboard-funnel-january');

    await page.getByRole('button', { name: 'Next month' }).click();
    expect(await funnelRows(page, '2026-02')).toEqual([
      ['Signed up', '2', '—', '100.0 %', '2'],
      ['First use', '1', '50.0 %', '50.0 %', '1'],
      ['First limit reached', '1', '100.0 %', '50.0 %', '1'],
      ['Upgrade prompt shown', '1', '100.0 %', '50.0 %', '1'],
      ['Checkout started', '0', '0.0 %', '0.0 %', '0'],
      ['Paid', '0', '—', '0.0 %', '0'],
    ]);

    await page.getByRole('button', { name: 'Next month' }).click();
    await page.locator('[data-testid="month-view"][data-month="2026-03"]').waitFor();
    await expect(page.getByTestId('funnel-empty').textContent()).resolves.toBe('Nobody signed up in 2026-03.');
    expect(errors).toEqual([]);
  } finally {
    await page.close();
  }
});
