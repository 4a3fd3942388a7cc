import { copyFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LaunchedBrowser, launchChromium, type Page, screenshot, watchConsole } from '../support/browser.ts';
import { request, setPlan, signUp, startTestServer, type TestAccount, type TestServer } from '../support/server.ts';
import { buildOwnRenderer, startCompanion } from './companion-process.ts';

/**
 * The window's devices against a real billing server and a real companion (--web), in Chromium.
 * The "other computer" is a license request with another device id, made with the account's token
 * through the server's API, exactly what another companion would send.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const README_SHOTS = join(ROOT, 'docs', 'screenshots');
const SYNC_MS = '400';
const OTHER = { deviceId: 'dev-studio-pc-000000000000000000001', deviceName: 'Studio PC', os: 'Windows 11' };

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

async function otherComputerTakesAPlace(account: TestAccount): Promise<void> {
  const query = new URLSearchParams(OTHER).toString();
  const answer = await account.get(`/v1/license?${query}`);
  expect(answer.status).toBe(200);
}

async function serverDevices(account: TestAccount): Promise<string[]> {
  const answer = await account.get('/v1/devices');
  expect(answer.status).toBe(200);
  return (answer.body.devices as { name: string }[]).map((device) => device.name);
}

/** A server, a companion, a window signed in as a fresh account (whose plan `prepare` sets up first). */
async function signedInWindow(prepare: (server: TestServer, account: TestAccount) => Promise<void>) {
  const server = await startTestServer({ env: { TOLLGATE_PAYMENTS: 'local' } });
  cleanups.push(() => server.stop());
  const account = await signUp(server.url);
  await prepare(server, account);
  const companion = await startCompanion(server.url, SYNC_MS, ui.dir);
  cleanups.push(companion.stop);
  const page = await chromium.browser.newPage();
  cleanups.push(() => page.close());
  const errors = watchConsole(page);
  await page.goto(companion.pageUrl);
  await page.getByLabel('Email').fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).last().click();
  await page.getByTestId('plan-name').waitFor();
  return { server, account, page, errors };
}

async function deviceNames(page: Page, testId: string): Promise<string[]> {
  return page.getByTestId(testId).locator('li strong').allTextContents();
}

describe('the devices in the companion window', () => {
  it('lists this device first and another with Release; releasing it removes it here and on the server', async () => {
    const { account, page, errors } = await signedInWindow(async (server, account) => {
      await setPlan(server.db, account.id, { tier: 'professional' });
      await otherComputerTakesAPlace(account);
    });
    const devices = page.getByTestId('devices');
    await expect.poll(() => devices.getByTestId('device-places').textContent()).toBe('2 of 3 devices');
    await expect(deviceNames(page, 'device-list')).resolves.toEqual([hostname(), 'Studio PC']);
    const here = devices.getByTestId('this-device');
    await expect(here.textContent()).resolves.toContain('This device');
    await expect(here.getByRole('button').count()).resolves.toBe(0);
    const other = devices.getByTestId('other-device');
    await expect(other.textContent()).resolves.toMatch(/Windows 11 · last seen/);
    await screenshot(page, 'companion-devices');
    if (process.env.TOLLGATE_UPDATE_SCREENSHOTS === '1') {
      mkdirSync(README_SHOTS, { recursive: true });
      copyFileSync(
        join(ROOT, 'test-results', 'screenshots', 'companion-devices.png'),
        join(README_SHOTS, 'companion-devices.png'),
      );
    }

    // Release asks first; Cancel keeps the device.
    await other.getByRole('button', { name: 'Release Studio PC' }).click();
    await other.getByRole('button', { name: 'Cancel' }).click();
    await expect(deviceNames(page, 'device-list')).resolves.toEqual([hostname(), 'Studio PC']);
    await other.getByRole('button', { name: 'Release Studio PC' }).click();
    await other.getByRole('button', { name: 'Yes, release' }).click();

    await expect.poll(() => deviceNames(page, 'device-list')).toEqual([hostname()]);
    await expect(devices.getByTestId('device-places').textContent()).resolves.toBe('1 of 3 devices');
    await expect(serverDevices(account)).resolves.toEqual([hostname()]);
    expect(errors).toEqual([]);
  });

  it('at the free plan limit shows the device holding the place and the upgrade; releasing it lets this one in', async () => {
    const { server, account, page, errors } = await signedInWindow(async (_server, account) => {
      await otherComputerTakesAPlace(account);
    });
    const limit = page.getByTestId('device-limit');
    await limit.waitFor();
    await expect(limit.getByRole('heading').textContent()).resolves.toBe('Every device place of your plan is in use');
    await expect(limit.textContent()).resolves.toContain('Your plan allows 1 device, and all are in use');
    await expect(deviceNames(page, 'device-limit')).resolves.toEqual(['Studio PC']);
    await expect(limit.textContent()).resolves.toContain('Professional allows more devices — $49 / month.');
    await expect(page.getByTestId('devices').count()).resolves.toBe(0);
    await screenshot(page, 'companion-device-limit');

    // One click on the upgrade opens the existing checkout, waiting for payment.
    // The checkout tab is answered here: a page of the server's kept open by the browser would hold
    // its connection and the in-process server's close would wait for it.
    await chromium.browser.route(`${server.url}/**`, (route) => route.fulfill({ body: 'test checkout' }));
    cleanups.push(() => chromium.browser.unrouteAll());
    const checkoutOpened = chromium.browser.waitForEvent('page');
    await limit.getByRole('button', { name: 'Upgrade to Professional' }).click();
    const checkout = await checkoutOpened;
    cleanups.push(() => checkout.close());
    await page.getByTestId('checkout-waiting').getByText('Waiting for payment').waitFor();
    expect(checkout.url().startsWith(server.url)).toBe(true);

    // Or release the other computer: this one takes the place at once.
    await limit.getByRole('button', { name: 'Release Studio PC' }).click();
    await limit.getByRole('button', { name: 'Yes, release' }).click();
    await limit.waitFor({ state: 'detached' });
    const devices = page.getByTestId('devices');
    await expect.poll(() => devices.getByTestId('device-places').textContent()).toBe('1 of 1 device');
    await expect(deviceNames(page, 'device-list')).resolves.toEqual([hostname()]);
    await expect.poll(() => serverDevices(account)).toEqual([hostname()]);
    expect(errors).toEqual([]);
  });

  it('a computer released from another device says so at its next sync and can be taken back', async () => {
    const { server, account, page, errors } = await signedInWindow(async () => {});
    const devices = page.getByTestId('devices');
    await expect.poll(() => devices.getByTestId('device-places').textContent()).toBe('1 of 1 device');
    const listed = await account.get('/v1/devices');
    const thisDevice = (listed.body.devices as { deviceId: string }[])[0]?.deviceId;

    // Released elsewhere (another companion, the API): this computer learns it at its next sync.
    const released = await request(server.url, 'DELETE', `/v1/devices/${thisDevice}`, undefined, {
      token: account.token,
    });
    expect(released.status).toBe(204);
    const screen = page.getByTestId('device-released');
    await screen.waitFor();
    await expect(screen.getByRole('heading').textContent()).resolves.toBe(
      'This computer was released from your account',
    );
    await expect(devices.count()).resolves.toBe(0);
    await screenshot(page, 'companion-device-released');

    await screen.getByRole('button', { name: 'Use Tollgate on this computer again' }).click();
    await screen.waitFor({ state: 'detached' });
    await expect.poll(() => devices.getByTestId('device-places').textContent()).toBe('1 of 1 device');
    await expect(serverDevices(account)).resolves.toEqual([hostname()]);
    expect(errors).toEqual([]);
  });
});
