import { resolve } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LaunchedBrowser, launchChromium, screenshot, watchConsole } from '../support/browser.ts';
import { request, signUp, startTestServer, type TestServer } from '../support/server.ts';

// The admin console in Debian's Chromium: an owner signs in by e-mail and password, finds a
// customer, adds an override with a reason, and sees it on the customer's timeline and in the
// audit log; a support administrator's attempt is refused on the page.
const ADMIN_TOKEN = 'e2e-console-token-abcdefghijklmnopqrstu';
const PASSWORD = 'an e2e admin password';

let server: TestServer;
let chromium: LaunchedBrowser;

beforeAll(async () => {
  await build({ configFile: resolve('vite.dashboard.config.ts'), logLevel: 'silent' });
  server = await startTestServer({ env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN } });
  for (const role of ['owner', 'support'] as const) {
    const created = await request(
      server.url,
      'POST',
      '/v1/admin/users',
      { email: `${role}@vendor.test`, name: `${role} admin`, password: PASSWORD, role },
      { token: ADMIN_TOKEN },
    );
    expect(created.status).toBe(201);
  }
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  await server?.stop();
});

async function signedInAs(role: 'owner' | 'support') {
  const page = await chromium.browser.newPage();
  await page.goto(`${server.url}/admin/`);
  await page.getByLabel('E-mail').fill(`${role}@vendor.test`);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Customers' }).click();
  return page;
}

async function addOverride(page: Awaited<ReturnType<typeof signedInAs>>, email: string, reason: string) {
  await page.getByLabel('Search by e-mail').fill(email);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('button', { name: email }).click();
  await page.getByTestId('customer').waitFor();
  await page.getByLabel('Units').fill('25');
  await page.getByLabel('Until').fill('2099-01-01T00:00');
  await page.getByLabel('Reason').fill(reason);
  await page.getByRole('button', { name: 'Add override' }).click();
}

it('an owner finds a customer and adds an override; the page and the audit log show it once', async () => {
  const customer = await signUp(server.url);
  const page = await signedInAs('owner');
  const errors = watchConsole(page);
  await addOverride(page, customer.email, 'launch week goodwill');
  await page.getByTestId('customer-timeline').getByText('override.add by owner admin: launch week goodwill').waitFor();
  const usage = await page.getByTestId('customer-usage').textContent();
  const me = (await customer.get('/v1/me')).body.subscription.limits.monthly.ai_operations as number;
  expect(usage).toContain(`of ${me}`);
  const audit = await request(server.url, 'GET', `/v1/admin/audit?accountId=${customer.id}`, undefined, {
    token: ADMIN_TOKEN,
  });
  expect(audit.body.entries).toHaveLength(1);
  await screenshot(page, 'admin-console-customer');
  expect(errors).toEqual([]);
  await page.close();
});

it('a support administrator sees the customer but the override is refused on the page', async () => {
  const customer = await signUp(server.url);
  const page = await signedInAs('support');
  await addOverride(page, customer.email, 'should not happen');
  await expect(page.getByRole('alert').textContent()).resolves.toContain('only read');
  const audit = await request(server.url, 'GET', `/v1/admin/audit?accountId=${customer.id}`, undefined, {
    token: ADMIN_TOKEN,
  });
  expect(audit.body.entries).toHaveLength(0);
  await screenshot(page, 'admin-console-support-refused');
  await page.close();
});
