import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { build } from 'vite';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type LaunchedBrowser, launchChromium, type Page, screenshot, watchConsole } from '../support/browser.ts';
import { type Json, request, signUp, startTestServer, type TestAccount, type TestServer } from '../support/server.ts';
import { payTestCheckout } from '../support/test-checkout.ts';

// The admin console in Debian's Chromium, on a real server with the local payment provider and a
// real webhook receiver: an owner signs in by e-mail and password, opens a customer and performs
// every action from the page — each leaves exactly one audit entry, on the page's timeline and in
// the API; the page shows the customer's devices and webhook deliveries, and Replay delivers one
// again. A support administrator sees the same page with every control disabled, and the API
// refuses the action when the page is bypassed.
const ADMIN_TOKEN = 'e2e-console-token-abcdefghijklmnopqrstu';
const PASSWORD = 'an e2e admin password';

let server: TestServer;
let chromium: LaunchedBrowser;
let receiver: Server;
/** The event id of every delivery the receiver got. */
const received: { id: string }[] = [];

const asToken = (method: string, path: string, body?: unknown) =>
  request(server.url, method, path, body, { token: ADMIN_TOKEN });
const auditOf = async (accountId: string) =>
  (await asToken('GET', `/v1/admin/audit?accountId=${accountId}`)).body.entries as Json[];

async function eventually(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let tries = 0; !(await check()); tries++) {
    if (tries > 300) throw new Error(`never happened: ${what}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

beforeAll(async () => {
  await build({ configFile: resolve('vite.dashboard.config.ts'), logLevel: 'silent' });
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      received.push({ id: JSON.parse(body).id });
      res.end();
    });
  });
  await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
  server = await startTestServer({ env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN, TOLLGATE_PAYMENTS: 'local' } });
  const endpoint = await asToken('POST', '/v1/admin/webhooks/endpoints', {
    url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`,
    description: 'the vendor CRM',
  });
  expect(endpoint.status).toBe(201);
  for (const role of ['owner', 'support'] as const) {
    const created = await asToken('POST', '/v1/admin/users', {
      email: `${role}@vendor.test`,
      name: `${role} admin`,
      password: PASSWORD,
      role,
    });
    expect(created.status).toBe(201);
  }
  chromium = await launchChromium();
});

const pages: Page[] = [];
afterEach(async () => {
  for (const page of pages.splice(0)) await page.close();
});

afterAll(async () => {
  await chromium?.close();
  await server?.stop();
  await new Promise((done) => receiver?.close(done));
});

async function customerPage(role: 'owner' | 'support', email: string): Promise<Page> {
  const page = await chromium.browser.newPage();
  pages.push(page);
  await page.goto(`${server.url}/admin/`);
  await page.getByLabel('E-mail').fill(`${role}@vendor.test`);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Customers' }).click();
  await page.getByLabel('Search by e-mail').fill(email);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('button', { name: email }).click();
  await page.getByTestId('customer').waitFor();
  return page;
}

const adminItems = (page: Page) => page.getByTestId('customer-timeline').locator('li[data-kind="admin"]');

/**
 * Fills one action's form on the page, gives the reason and submits; then the page shows the
 * outcome and exactly one new admin entry on its timeline, and the API exactly one new audit entry.
 */
async function perform(
  page: Page,
  account: { id: string },
  form: string,
  action: string,
  reason: string,
  fill: (form: ReturnType<Page['getByRole']>) => Promise<void> = async () => {},
): Promise<{ outcome: string; entry: Json }> {
  const before = await adminItems(page).count();
  const apiBefore = (await auditOf(account.id)).length;
  const locator = page.getByRole('form', { name: form, exact: true });
  await fill(locator);
  await locator.getByLabel('Reason').fill(reason);
  await locator.getByRole('button').click();
  const outcome = (await locator.getByRole('status').textContent()) ?? '';
  await adminItems(page).nth(before).waitFor();
  expect(await adminItems(page).count()).toBe(before + 1);
  expect(await adminItems(page).nth(before).textContent()).toContain(`${action} by owner admin: ${reason}`);
  const entries = await auditOf(account.id);
  expect(entries).toHaveLength(apiBefore + 1);
  const entry = entries.at(-1) as Json;
  expect(entry).toMatchObject({ action, reason, actor: { name: 'owner admin' } });
  // The page's audit table has the entry too, with its before → after.
  const rows = page.getByTestId('customer-audit').locator('tbody tr');
  expect(await rows.count()).toBe(apiBefore + 1);
  expect(await rows.last().textContent()).toContain(`${JSON.stringify(entry.before)} → ${JSON.stringify(entry.after)}`);
  return { outcome, entry };
}

async function payingCustomer(): Promise<TestAccount> {
  const customer = await signUp(server.url);
  const checkout = await customer.post('/v1/billing/checkout', { tier: 'professional', cycle: 'monthly' });
  expect(checkout.status).toBe(200);
  expect((await payTestCheckout(checkout.body.url)).status).toBe(200);
  return customer;
}

it('an owner performs every action from a paying customer’s page, each one audit entry; devices show', async () => {
  const customer = await payingCustomer();
  const license = await customer.get(
    `/v1/license?deviceId=e2e-laptop-1&deviceName=${encodeURIComponent('Ada’s laptop')}&os=linux&appVersion=4.2.0`,
  );
  expect(license.status).toBe(200);
  await customer.post('/v1/usage/consume', { operation: 'ai_operations', units: 5, idempotencyKey: 'e2e-spend-1' });
  const page = await customerPage('owner', customer.email);
  const errors = watchConsole(page);
  expect(await page.getByTestId('customer-plan').textContent()).toContain('professional · active');
  const devices = (await page.getByTestId('customer-devices').textContent()) ?? '';
  expect(devices).toContain('Ada’s laptop');
  expect(devices).toContain('4.2.0');
  expect(await adminItems(page).count()).toBe(0);

  const override = await perform(page, customer, 'Override', 'override.add', 'launch week goodwill', async (form) => {
    await form.getByLabel('Units', { exact: true }).fill('25');
    await form.getByLabel('Until').fill('2099-01-01T00:00');
  });
  expect(override.entry.after).toMatchObject({ kind: 'units', operation: 'ai_operations', extraUnits: 25 });
  await page.getByTestId('customer-overrides').getByText('+25 ai_operations').waitFor();

  const adjusted = await perform(
    page,
    customer,
    "Adjust this period's usage",
    'usage.adjust',
    'an import counted twice',
    async (form) => {
      await form.getByLabel('Correction').fill('-3');
    },
  );
  expect(adjusted.outcome).toContain('2 used this period');
  expect(adjusted.entry).toMatchObject({ before: { used: 5 }, after: { used: 2 } });

  const refunded = await perform(page, customer, 'Refund', 'invoice.refund', 'a week of outage', async (form) => {
    await form.getByLabel('Amount').fill('10');
  });
  expect(refunded.entry).toMatchObject({ before: { amountRefundedCents: 0 }, after: { amountRefundedCents: 1000 } });
  const invoice = (await asToken('GET', `/v1/admin/customers/${customer.id}`)).body.invoices[0];
  expect(invoice).toMatchObject({ amountPaidCents: 4900, amountRefundedCents: 1000 });

  const cancelled = await perform(page, customer, 'Cancel the subscription', 'subscription.cancel', 'asked by phone');
  expect(cancelled.entry.after).toMatchObject({ cancelAtPeriodEnd: true });
  expect(await page.getByTestId('customer-plan').textContent()).toContain('ends');

  const revoked = await perform(page, customer, 'Revoke sessions', 'sessions.revoke', 'stolen laptop');
  expect(revoked.outcome).toContain('1 session(s) revoked');
  expect((await customer.get('/v1/me')).status).toBe(401);

  // The page's export is this customer's audit log, one CSV row per entry above.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export audit log (CSV)' }).click(),
  ]);
  const csv = (await readFile(await download.path(), 'utf8')).trim().split('\r\n');
  expect(csv[0]).toBe('at,actor_id,actor_name,account_id,action,reason,before,after');
  expect(csv.slice(1).map((line) => line.split(',')[4])).toEqual([
    'override.add',
    'usage.adjust',
    'invoice.refund',
    'subscription.cancel',
    'sessions.revoke',
  ]);

  await screenshot(page, 'admin-console-customer');
  expect(errors).toEqual([]);
});

it('an owner grants and ends a trial and records a Custom contract from the page, each one audit entry', async () => {
  const customer = await signUp(server.url);
  const page = await customerPage('owner', customer.email);
  await perform(page, customer, 'Grant a trial', 'trial.grant', 'evaluating for the team', async (form) => {
    await form.getByLabel('Trial tier').selectOption('enterprise');
    await form.getByLabel('Trial ends').fill('2099-01-01T00:00');
  });
  expect(await page.getByTestId('customer-plan').textContent()).toContain('trial of enterprise');
  expect((await customer.get('/v1/me')).body.subscription.tier).toBe('enterprise');

  await perform(page, customer, 'End the trial', 'trial.end', 'evaluation over');
  expect((await customer.get('/v1/me')).body.subscription.tier).toBe('free');

  const contract = await perform(page, customer, 'Custom contract', 'contract.set', 'order form 42', async (form) => {
    await form.getByLabel('Billed').selectOption('yearly');
    await form.getByLabel('Price per cycle').fill('12000');
    await form.getByLabel('Setup fee').fill('500');
    await form.getByLabel('ai_operations a month').fill('5000');
    await form.getByLabel('Max devices').fill('10');
  });
  expect(contract.entry.after).toMatchObject({
    cycle: 'yearly',
    priceCents: 1_200_000,
    setupFeeCents: 50_000,
    limits: { monthly: { ai_operations: 5000 }, max_devices: 10 },
    features: ['all_features'],
  });
  expect(await page.getByTestId('customer-plan').textContent()).toContain('custom');
  expect((await customer.get('/v1/me')).body.subscription).toMatchObject({
    tier: 'custom',
    limits: { monthly: { ai_operations: 5000 } },
  });
  await screenshot(page, 'admin-console-contract');
});

it('the delivery log shows a delivery to the real receiver, and Replay delivers it again (one audit entry)', async () => {
  const customer = await signUp(server.url);
  const log = async () =>
    (await asToken('GET', `/v1/admin/webhooks/deliveries?accountId=${customer.id}&channel=webhook`)).body
      .deliveries as Json[];
  await eventually('customer.created delivered', async () =>
    (await log()).some((delivery) => delivery.eventType === 'customer.created' && delivery.status === 'delivered'),
  );
  const original = (await log()).find((delivery) => delivery.eventType === 'customer.created') as Json;
  const copies = () => received.filter((event) => event.id === original.eventId).length;
  expect(copies()).toBe(1);

  const page = await customerPage('owner', customer.email);
  const row = page.getByTestId('customer-deliveries').locator(`tr[data-delivery="${original.id}"]`);
  expect(await row.getAttribute('data-status')).toBe('delivered');
  expect(await row.textContent()).toContain('customer.created');
  await row.getByRole('button', { name: /Replay/ }).click();
  await page.getByTestId('customer-deliveries').getByRole('status').waitFor();
  await eventually('the replay received', () => copies() === 2);
  await page.getByTestId('customer-deliveries').getByText('customer.created (replay)').waitFor();
  await adminItems(page).first().waitFor();
  expect(await adminItems(page).count()).toBe(1);
  const entries = await auditOf(customer.id);
  expect(entries).toHaveLength(1);
  expect(entries[0]).toMatchObject({ action: 'delivery.replay', before: { deliveryId: original.id } });
  await screenshot(page, 'admin-console-deliveries');
});

it('a support administrator sees the page with every control disabled and why; forcing the API is refused', async () => {
  const customer = await payingCustomer();
  await eventually('a delivery logged', async () => {
    const log = await asToken('GET', `/v1/admin/webhooks/deliveries?accountId=${customer.id}&channel=webhook`);
    return log.body.deliveries.length > 0;
  });
  const page = await customerPage('support', customer.email);
  expect(await page.getByTestId('read-only-note').textContent()).toContain('needs the owner role');
  const forms = page.getByTestId('customer-actions').getByRole('form');
  expect(await forms.count()).toBe(8);
  const buttons = page.getByTestId('customer-actions').getByRole('button');
  expect(await buttons.count()).toBe(8);
  for (const button of await buttons.all()) expect(await button.isDisabled()).toBe(true);
  for (const reason of await page.getByTestId('customer-actions').getByLabel('Reason').all()) {
    expect(await reason.isDisabled()).toBe(true);
  }
  const replays = page.getByTestId('customer-deliveries').getByRole('button', { name: /Replay/ });
  expect(await replays.count()).toBeGreaterThan(0);
  for (const button of await replays.all()) expect(await button.isDisabled()).toBe(true);
  // The page still shows everything a support administrator needs to answer the customer.
  expect(await page.getByTestId('customer-invoices').textContent()).toContain('professional');

  // Bypassing the disabled page: the session token in the tab, straight at the API.
  const token = await page.evaluate<string>("sessionStorage.getItem('tollgate.admin-token')");
  const forced = await page.evaluate(
    async ({ accountId, token }) => {
      const response = await fetch(`/v1/admin/customers/${accountId}/revoke-sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'should not happen' }),
      });
      return { status: response.status, body: await response.json() };
    },
    { accountId: customer.id, token },
  );
  expect(forced).toMatchObject({ status: 403, body: { code: 'ADMIN_READ_ONLY' } });
  expect(await auditOf(customer.id)).toHaveLength(0);
  expect((await customer.get('/v1/me')).status).toBe(200);
  await screenshot(page, 'admin-console-support-refused');
});
