import { resolve } from 'node:path';
import { build } from 'vite';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { z } from 'zod';
import { seedAnalytics } from '../../scripts/seed-analytics.ts';
import { formatAmount, formatRate } from '../../src-dashboard/format.ts';
import { SummaryResponse, UpsellResponse, UsageResponse } from '../../src-shared/admin-api.ts';
import { formatCount, formatLimit } from '../../src-shared/format.ts';
import { addMonths, periodOf } from '../../src-shared/period.ts';
import { type LaunchedBrowser, launchChromium, type Page, screenshot, watchConsole } from '../support/browser.ts';
import { request, startTestServer, type TestServer } from '../support/server.ts';

// The vendor's dashboard end to end: Vite builds it, the real server serves it at /admin over a
// seeded year of business, Debian's Chromium signs in with the admin token and reads it.
const ADMIN_TOKEN = 'e2e-admin-token-abcdefghijkl-0123456789';
const THIS_MONTH = periodOf(Date.now());
/** Evaluated in the page: what the dashboard keeps in the tab's sessionStorage. */
const STORED_TOKEN = "sessionStorage.getItem('tollgate.admin-token')";

let server: TestServer;
let chromium: LaunchedBrowser;

beforeAll(async () => {
  // Into out/dashboard, where the server looks for it (as `npm run build:dashboard` does).
  await build({ configFile: resolve('vite.dashboard.config.ts'), logLevel: 'silent' });
  server = await startTestServer({ env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN } });
  await seedAnalytics(server.db, { accounts: 2000, months: 12, end: THIS_MONTH, seed: 11, now: Date.now() });
  chromium = await launchChromium();
});

// A test that fails half-way still closes its page, so the next one starts from a clean browser.
const pages: Page[] = [];
afterEach(async () => {
  for (const page of pages.splice(0)) await page.close();
});

afterAll(async () => {
  await chromium?.close();
  await server?.stop();
});

async function newPage(): Promise<Page> {
  const page = await chromium.browser.newPage();
  pages.push(page);
  return page;
}

/** An admin API answer, read with the schema the dashboard's own client uses. */
async function api<T>(path: string, schema: z.ZodType<T>): Promise<T> {
  const response = await request<unknown>(server.url, 'GET', path, undefined, { token: ADMIN_TOKEN });
  expect(response.status).toBe(200);
  return schema.parse(response.body);
}

async function kpi(page: Page, id: string): Promise<string | null> {
  return page.getByTestId(`kpi-${id}`).locator('.kpi-value').textContent();
}

/** Every figure the page shows for `month` equals what the API answers for it. */
async function expectMonthShown(page: Page, month: string): Promise<void> {
  await page.locator(`[data-testid="month-view"][data-month="${month}"]`).waitFor();
  const summary = await api(`/v1/admin/metrics/summary?month=${month}`, SummaryResponse);
  const money = (cents: number | null) => formatAmount(cents, summary.currency);
  expect(await kpi(page, 'mrr')).toBe(money(summary.mrr.mrrCents));
  expect(await kpi(page, 'arr')).toBe(money(summary.mrr.arrCents));
  expect(await kpi(page, 'net-new-mrr')).toBe(money(summary.mrr.movements.netNewCents));
  expect(await kpi(page, 'subscribers')).toBe(formatCount(summary.mrr.subscribers));
  expect(await kpi(page, 'logo-churn')).toBe(formatRate(summary.logoChurnRate));
  expect(await kpi(page, 'revenue-churn')).toBe(formatRate(summary.revenueChurnRate));
  expect(await kpi(page, 'conversion')).toBe(formatRate(summary.conversion.rate));
  expect(await kpi(page, 'arpu')).toBe(money(summary.arpuCents));
  expect(await kpi(page, 'ltv')).toBe(money(summary.ltvCents));
  expect(await kpi(page, 'revenue')).toBe(money(summary.revenueNetCents));
  expect(summary.mrr.mrrCents).toBeGreaterThan(0);
  // Money reads as in the companion's window: whole amounts without cents, thousands separated.
  expect(await kpi(page, 'mrr')).toMatch(/^\$\d{1,3}(,\d{3})*(\.\d{2})?$/);
  expect(await kpi(page, 'mrr')).not.toMatch(/\.00$/);

  const usage = await api(`/v1/admin/metrics/usage?month=${month}`, UsageResponse);
  const cell = usage.operations[0]?.byTier.find((row) => row.tier === 'free');
  const cells = await page.getByTestId(`usage-${usage.operations[0]?.operation}-free`).locator('td').allTextContents();
  expect(cell).toBeDefined();
  expect(cells.slice(2)).toEqual([
    formatLimit(cell!.limit),
    ...[cell!.accounts, cell!.used, cell!.atLeast80, cell!.atLimit].map(formatCount),
  ]);

  // The default catalog's enterprise tier has no AI-operations limit: the table says so in words.
  const enterprise = usage.operations[0]?.byTier.find((row) => row.tier === 'enterprise');
  expect(enterprise?.limit).toBe(-1);
  const enterpriseCells = page.getByTestId(`usage-${usage.operations[0]?.operation}-enterprise`).locator('td');
  await expect(enterpriseCells.nth(2).textContent()).resolves.toBe('Unlimited');

  const upsell = await api(`/v1/admin/upsell?month=${month}&limit=50`, UpsellResponse);
  expect(await page.getByTestId('upsell-total').textContent()).toContain(formatCount(upsell.total));
  const firstRow = await page.getByTestId('upsell-table').locator('tbody tr').first().locator('td').allTextContents();
  expect(firstRow[0]).toBe(upsell.candidates[0]?.email);

  // The three charts drew something.
  await expect(page.locator('canvas').count()).resolves.toBe(3);
}

it('refuses a token that is not the admin token and keeps asking', async () => {
  const page = await newPage();
  const errors = watchConsole(page);
  await page.goto(`${server.url}/admin`);
  await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Tollgate analytics');
  await page.getByLabel('Admin token').fill('not-the-admin-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert').textContent()).resolves.toContain('refused');
  await expect(page.evaluate(STORED_TOKEN)).resolves.toBeNull();
  await screenshot(page, 'dashboard-refused');
  // Chromium logs the refused requests' 403s; nothing else may go wrong.
  expect(errors.filter((error) => !error.includes('status of 403'))).toEqual([]);
});

it('signs in with the admin token, switches months and shows the API’s numbers', async () => {
  const page = await newPage();
  const errors = watchConsole(page);
  await page.goto(`${server.url}/admin`);
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expectMonthShown(page, THIS_MONTH);
  await screenshot(page, 'dashboard-this-month');
  expect(page.url()).not.toContain(ADMIN_TOKEN);
  await expect(page.evaluate(STORED_TOKEN)).resolves.toBe(ADMIN_TOKEN);

  const earlier = addMonths(THIS_MONTH, -4);
  await page.getByLabel('Month', { exact: true }).fill(earlier);
  await expectMonthShown(page, earlier);
  await screenshot(page, 'dashboard-four-months-ago');

  await page.getByRole('button', { name: 'Previous month' }).click();
  await expectMonthShown(page, addMonths(earlier, -1));

  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'mrr.csv' }).click();
  expect((await download).suggestedFilename()).toBe(`tollgate-mrr-${addMonths(earlier, -1)}.csv`);

  // The token survives a reload of the tab, and signing out forgets it.
  await page.reload();
  await page.locator('[data-testid="month-view"]').waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Admin token').waitFor();
  await expect(page.evaluate(STORED_TOKEN)).resolves.toBeNull();

  expect(errors).toEqual([]);
});
