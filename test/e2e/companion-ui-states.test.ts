import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CompanionState } from '../../src-shared/contract.ts';
import type { ErrorCode } from '../../src-shared/error-codes.ts';
import { type Page, screenshot, watchConsole } from '../support/browser.ts';
import {
  awaitingLicense,
  CLOCK_PROBLEMS,
  LICENSE_PROBLEMS,
  NOW,
  nothingGranted,
  offline,
  signedIn,
  signedOut,
  TIME,
  withStanding,
} from '../support/companion-states.ts';
import { openRendererSite, type RendererSite } from '../support/renderer-site.ts';

/**
 * The window in every state main can push, driven through the same `window.tollgate` bridge the
 * Electron preload provides (here a stand-in that records calls and answers from a table), and
 * the --web bridge against routed HTTP. The full stack with a real server is companion-ui.test.ts.
 */

let site: RendererSite;

beforeAll(async () => {
  site = await openRendererSite();
});

// A test that fails half-way still closes its page, so the next one starts from a clean browser.
const pages: Page[] = [];
afterEach(async () => {
  for (const page of pages.splice(0)) await page.close();
});

afterAll(async () => {
  await site?.close();
});

async function newPage(): Promise<Page> {
  const page = await site.chromium.browser.newPage();
  pages.push(page);
  return page;
}

type Reply = { ok: true; value: unknown } | { ok: false; error: { code: ErrorCode; message: string } };
interface Call {
  method: string;
  params: unknown;
}

const THIS_DEVICE_ONLY: Reply = {
  ok: true,
  value: {
    devices: [
      {
        deviceId: 'dev-here',
        name: 'Ada laptop',
        os: 'Linux 6.8',
        appVersion: '0.1.0',
        activatedAt: new Date(NOW - TIME.DAY).toISOString(),
        lastSeenAt: new Date(NOW - 60_000).toISOString(),
        thisDevice: true,
      },
    ],
    maxDevices: 1,
  },
};

/** Opens the window with a stand-in preload bridge holding `state`; replies answer invoke by method. */
async function open(state: CompanionState, replies: Record<string, Reply> = {}) {
  const page = await newPage();
  const errors = watchConsole(page);
  await page.clock.setFixedTime(NOW);
  await page.addInitScript(
    ({ initial, table }) => {
      const listeners = new Set<(state: unknown) => void>();
      const world = globalThis as unknown as Record<string, unknown>;
      const calls: unknown[] = [];
      world.__calls = calls;
      world.__replies = table;
      world.__push = (next: unknown) => {
        for (const listener of listeners) listener(next);
      };
      world.tollgate = {
        invoke: async (method: string, params: unknown) => {
          calls.push({ method, params });
          const replies = world.__replies as Record<string, unknown>;
          return replies[method] ?? { ok: true, value: {} };
        },
        onState: (listener: (state: unknown) => void) => {
          listeners.add(listener);
          listener(initial);
          return () => listeners.delete(listener);
        },
      };
    },
    // The devices section lists the account's devices as soon as it shows: this one, by default.
    { initial: state, table: { 'devices.list': THIS_DEVICE_ONLY, ...replies } },
  );
  await page.goto(site.url);
  return {
    page,
    errors,
    /**
     * What the window asked of main, besides listing the devices (the devices section's read) and
     * reporting a prompt it showed to the funnel (`promptReports`).
     */
    calls: () =>
      page.evaluate(() =>
        (globalThis as unknown as { __calls: Call[] }).__calls.filter(
          (call) => call.method !== 'devices.list' && call.method !== 'prompts.shown',
        ),
      ),
    /** The prompt keys the window reported as shown (main sends each to the server once). */
    promptReports: () =>
      page.evaluate(() => [
        ...new Set(
          (globalThis as unknown as { __calls: Call[] }).__calls
            .filter((call) => call.method === 'prompts.shown')
            .map((call) => JSON.stringify(call.params)),
        ),
      ]),
    reply: (method: string, reply: Reply) =>
      page.evaluate(
        ([name, answer]) => {
          (globalThis as unknown as { __replies: Record<string, unknown> }).__replies[name as string] = answer;
        },
        [method, reply] as const,
      ),
    push: (next: CompanionState) =>
      page.evaluate((s) => (globalThis as unknown as { __push(s: unknown): void }).__push(s), next),
  };
}

async function bars(page: Page) {
  return page.getByRole('progressbar').evaluateAll((nodes) =>
    nodes.map((node) => ({
      label: node.ownerDocument.getElementById(node.getAttribute('aria-labelledby') ?? '')?.textContent,
      now: node.getAttribute('aria-valuenow'),
      max: node.getAttribute('aria-valuemax'),
      state: node.closest('[data-state]')?.getAttribute('data-state'),
    })),
  );
}

describe('account forms', () => {
  it('signs in with the keyboard alone and explains a wrong password', async () => {
    const { page, errors, calls, reply, push } = await open(signedOut(), {
      'auth.signIn': { ok: false, error: { code: 'INVALID_CREDENTIALS', message: 'Invalid email or password' } },
    });
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Tollgate');
    await page.keyboard.press('Tab'); // "Sign in" tab
    await page.keyboard.press('Tab'); // "Create account" tab
    await page.keyboard.press('Tab');
    await page.keyboard.type('ada@example.com');
    await page.keyboard.press('Tab');
    await page.keyboard.type('not-the-password');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'Wrong email or password.' }).waitFor();
    expect(await calls()).toEqual([
      { method: 'auth.signIn', params: { email: 'ada@example.com', password: 'not-the-password' } },
    ]);
    await screenshot(page, 'companion-ui-sign-in-wrong-password');

    await reply('auth.signIn', { ok: true, value: { email: 'ada@example.com' } });
    // Focus is still in the password field.
    await page.keyboard.press('Control+A');
    await page.keyboard.type('the-right-password');
    await page.keyboard.press('Enter');
    await push(signedIn('free'));
    // The form is gone; focus lands on the plan that replaced it, so Tab continues from there.
    await expect.poll(() => page.locator(':focus').textContent()).toBe('Your plan');
    await expect(page.getByTestId('account-email').textContent()).resolves.toBe('ada@example.com');
    expect(errors).toEqual([]);
  });

  it('says when the email is taken or the server cannot be reached', async () => {
    const { page, errors } = await open(signedOut(), {
      'auth.signUp': { ok: false, error: { code: 'EMAIL_TAKEN', message: 'taken' } },
      'auth.signIn': { ok: false, error: { code: 'SERVER_UNREACHABLE', message: 'fetch failed' } },
    });
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create your account' }).click();
    await page.getByRole('alert').filter({ hasText: 'at least 10 characters' }).waitFor();
    await page.getByLabel('Password').fill('long enough password');
    await page.getByRole('button', { name: 'Create your account' }).click();
    await page.getByRole('alert').filter({ hasText: 'An account with this email already exists' }).waitFor();
    await screenshot(page, 'companion-ui-sign-up-email-taken');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByLabel('Password').fill('whatever');
    await page.getByRole('button', { name: 'Sign in', exact: true }).last().click();
    await page.getByRole('alert').filter({ hasText: "Can't reach the billing server" }).waitFor();
    expect(errors).toEqual([]);
  });
});

describe('signing out', () => {
  it('says the usage it could not send is kept on this computer for the account', async () => {
    const { page, errors, calls, push } = await open(signedIn('professional', {}, { ai_operations: 3 }), {
      'auth.signOut': { ok: true, value: { unsyncedEvents: 3, unsyncedUnits: 3 } },
    });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await push(signedOut());
    const notice = page.getByTestId('sign-out-notice');
    await expect(notice.textContent()).resolves.toBe(
      '3 usage records from this account are kept on this computer and will be sent when it signs in again.',
    );
    expect(await calls()).toEqual([{ method: 'auth.signOut', params: {} }]);
    await screenshot(page, 'companion-ui-signed-out-usage-kept');
    expect(errors).toEqual([]);
  });

  it('says nothing more when everything was sent', async () => {
    const { page, errors, push } = await open(signedIn('professional'), {
      'auth.signOut': { ok: true, value: { unsyncedEvents: 0, unsyncedUnits: 0 } },
    });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await push(signedOut());
    await page.getByRole('button', { name: 'Sign in' }).first().waitFor();
    await expect(page.getByTestId('sign-out-notice').count()).resolves.toBe(0);
    expect(errors).toEqual([]);
  });
});

describe('plan and usage', () => {
  it('shows a new free account with empty calm bars and no prompt', async () => {
    const { page, errors } = await open(signedIn('free'));
    await expect(page.getByTestId('plan-name').textContent()).resolves.toBe('Free');
    expect(await bars(page)).toEqual([
      { label: 'AI operations', now: '0', max: '5', state: 'calm' },
      { label: 'Data processing', now: '0', max: '2', state: 'calm' },
      { label: 'API calls this hour', now: '0', max: '10', state: 'calm' },
    ]);
    await expect(page.getByText('Resets on 1 Dec 2026').count()).resolves.toBe(1);
    await expect(page.getByTestId('last-sync').textContent()).resolves.toBe('Synced 1 minute ago');
    await expect(page.getByTestId('upgrade-prompt').count()).resolves.toBe(0);
    await screenshot(page, 'companion-ui-free-empty');
    expect(errors).toEqual([]);
  });

  it('just after sign-up, says the license is on its way: no refusal, no "limit reached", no upgrade prompt', async () => {
    const { page, errors, push } = await open(awaitingLicense());
    const banner = page.getByTestId('banner-standing');
    await banner.getByRole('heading', { name: 'Getting your license' }).waitFor();
    await expect(banner.locator('p').textContent()).resolves.toContain('fetching this account’s license');
    await expect(page.getByTestId('usage-locked').textContent()).resolves.toBe(
      'Your plan’s limits show here once its license arrives.',
    );
    const text = await page.locator('body').textContent();
    expect(text).not.toMatch(/Limit reached|limit reached|License not accepted|0 of 0/);
    await expect(page.getByTestId('upgrade-prompt').count()).resolves.toBe(0);
    // The license arrives: the free plan's bars, calm.
    await push(signedIn('free'));
    await expect
      .poll(() => bars(page))
      .toEqual([
        { label: 'AI operations', now: '0', max: '5', state: 'calm' },
        { label: 'Data processing', now: '0', max: '2', state: 'calm' },
        { label: 'API calls this hour', now: '0', max: '10', state: 'calm' },
      ]);
    await expect(page.getByTestId('banner-standing').count()).resolves.toBe(0);
    expect(errors).toEqual([]);
  });

  it('turns a bar to warning at 80 % and full at 100 %, with the prompt naming the plan and price', async () => {
    const { page, errors, push, calls } = await open(signedIn('free', { ai_operations: 4 }));
    expect((await bars(page))[0]).toMatchObject({ now: '4', state: 'warning' });
    const prompt = page.getByTestId('upgrade-prompt');
    await expect(prompt.getByRole('heading').textContent()).resolves.toBe('AI operations: 80 % used');
    await expect(prompt.textContent()).resolves.toContain('Professional unblocks it — $49 / month.');
    await screenshot(page, 'companion-ui-warning-80');

    await push(signedIn('free', { ai_operations: 5 }));
    await prompt.getByRole('heading', { name: 'AI operations: limit reached' }).waitFor();
    expect((await bars(page))[0]).toMatchObject({ now: '5', state: 'full' });
    await screenshot(page, 'companion-ui-limit-reached');
    await prompt.getByRole('button', { name: 'Upgrade to Professional' }).click();
    expect(await calls()).toContainEqual({
      method: 'billing.checkout',
      params: { tier: 'professional', cycle: 'monthly' },
    });
    expect(errors).toEqual([]);
  });

  it('shows API calls this hour as a third bar that warns and fills like the others', async () => {
    const withApiCalls = (used: number | null) => {
      const state = signedIn('free');
      state.usage.apiCalls = { ...state.usage.apiCalls, used, resetsAt: new Date(NOW + 23 * 60_000).toISOString() };
      return state;
    };
    const { page, errors, push } = await open(withApiCalls(8));
    expect((await bars(page))[2]).toEqual({ label: 'API calls this hour', now: '8', max: '10', state: 'warning' });
    await page.getByText('Resets in 23 minutes').waitFor();
    await push(withApiCalls(10));
    await expect.poll(async () => (await bars(page))[2]).toMatchObject({ now: '10', state: 'full' });
    await screenshot(page, 'companion-ui-api-calls-full');
    // A server that does not report the count: the limit alone, no bar pretending to know.
    await push(withApiCalls(null));
    await page.getByText('API calls: up to 10 per hour').waitFor();
    expect(await bars(page)).toHaveLength(2);
    expect(errors).toEqual([]);
  });

  it('shows pending local usage as waiting to sync', async () => {
    const { page, errors } = await open(signedIn('professional', { ai_operations: 40 }, { ai_operations: 3 }));
    expect((await bars(page))[0]).toMatchObject({ now: '43', max: '100', state: 'calm' });
    await page.getByText('3 recorded on this device, waiting to sync').waitFor();
    expect(errors).toEqual([]);
  });

  it('turns a host app denial into a prompt with one-click checkout', async () => {
    const state = {
      ...signedIn('free'),
      lastDenial: {
        at: NOW,
        subject: 'gate.check export_formats',
        decision: {
          allowed: false,
          code: 'FEATURE_NOT_IN_PLAN' as const,
          upgrade: {
            tier: 'professional' as const,
            name: 'Professional',
            monthlyPriceCents: 4900,
            yearlyPriceCents: 49000,
            contactSales: false,
          },
        },
      },
    };
    const { page, errors, calls, promptReports } = await open(state);
    const prompt = page.getByTestId('upgrade-prompt');
    await expect(prompt.getByRole('heading').textContent()).resolves.toBe('An app was blocked: Export formats');
    await expect.poll(promptReports).toEqual([JSON.stringify({ promptKey: `denied:${NOW}`, reason: 'denied' })]);
    await screenshot(page, 'companion-ui-denied-feature');
    await prompt.getByRole('button', { name: 'Not now' }).click();
    await expect(prompt.count()).resolves.toBe(0);
    expect(await calls()).toEqual([]);
    expect(errors).toEqual([]);
  });
});

describe('plans and checkout', () => {
  it('chooses a yearly plan with the keyboard and waits for payment until main reports the new plan', async () => {
    const { page, errors, push, calls } = await open(signedIn('free'), {
      'billing.checkout': { ok: true, value: { kind: 'checkout', url: 'https://checkout.example/cs_1' } },
    });
    const plans = page.getByRole('region', { name: 'Plans' });
    await plans.getByRole('radio', { name: 'Monthly' }).focus();
    await page.keyboard.press('ArrowRight');
    await expect(plans.getByRole('radio', { name: /Yearly/ }).isChecked()).resolves.toBe(true);
    await expect(plans.textContent()).resolves.toContain('Save $98 a year');
    await expect(plans.textContent()).resolves.toContain('(save up to 17 %)');
    await screenshot(page, 'companion-ui-plans-yearly');
    await page.keyboard.press('Tab');
    await expect(page.locator(':focus').textContent()).resolves.toBe('Choose Professional');
    await page.keyboard.press('Enter');
    await expect
      .poll(calls)
      .toContainEqual({ method: 'billing.checkout', params: { tier: 'professional', cycle: 'yearly' } });

    const waiting = signedIn('free');
    waiting.checkout = { status: 'waiting', tier: 'professional', cycle: 'yearly', error: null };
    await push(waiting);
    await page.getByTestId('checkout-waiting').getByText('Waiting for payment').waitFor();
    await screenshot(page, 'companion-ui-checkout-waiting');

    const done = signedIn('professional');
    done.checkout = { status: 'completed', tier: 'professional', cycle: 'yearly', error: null };
    await push(done);
    await page.getByText('Payment received — you are on Professional.').waitFor();
    await expect(page.getByTestId('plan-name').textContent()).resolves.toBe('Professional');
    await expect(plans.locator('th.current').textContent()).resolves.toContain('Professional');
    await expect(plans.getByRole('button', { name: 'Manage billing' }).count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'Manage billing' }).click();
    await expect.poll(calls).toContainEqual({ method: 'billing.portal', params: {} });
    expect(errors).toEqual([]);
  });
});

describe('offline and license problems', () => {
  it('keeps showing the cached plan and usage with a banner saying since and until when', async () => {
    const { page, errors } = await open(offline('professional'));
    const banner = page.getByTestId('banner-offline');
    await expect(banner.textContent()).resolves.toMatch(/since .*\(2 hours ago\)/);
    await expect(banner.textContent()).resolves.toMatch(
      /cached Professional license keeps working offline until .*\(in 7 days\)/,
    );
    await expect(page.getByTestId('plan-name').textContent()).resolves.toBe('Professional');
    expect((await bars(page))[0]).toMatchObject({ now: '42', max: '100' });
    await screenshot(page, 'companion-ui-offline');
    expect(errors).toEqual([]);
  });

  // Each way a license cannot be honoured, in main's words, and never "you have the Free plan".
  const nothingUnlocked = 'Until then no features or usage are unlocked: apps are refused.';
  for (const [name, code, message, title] of [
    ['offline grace over', 'OFFLINE_GRACE_EXPIRED', 'OFFLINE_GRACE_EXPIRED', 'Cached license expired'],
    ['clock turned back', 'CLOCK_TAMPERED', CLOCK_PROBLEMS.behind, "The time can't be trusted"],
    ['time record deleted', 'CLOCK_TAMPERED', CLOCK_PROBLEMS.unconfirmed, "The time can't be trusted"],
    ["another account's license", 'LICENSE_INVALID', LICENSE_PROBLEMS.anotherAccount, 'License not accepted'],
    ['another computer', 'LICENSE_INVALID', LICENSE_PROBLEMS.anotherComputer, 'License not accepted'],
    ['re-signed by another key', 'LICENSE_INVALID', LICENSE_PROBLEMS.foreignKey, 'License not accepted'],
  ] as const) {
    it(`explains ${code} (${name}) truthfully: what happened, and that nothing is unlocked`, async () => {
      const state = nothingGranted(withStanding(offline('professional'), code, message));
      state.license.offlineValidUntil = NOW - TIME.DAY;
      const { page, errors } = await open(state);
      const banner = page.getByTestId('banner-standing');
      await banner.getByRole('heading', { name: title }).waitFor();
      const body = await banner.locator('p').textContent();
      if (code !== 'OFFLINE_GRACE_EXPIRED') expect(body).toContain(message);
      expect(body).toContain(nothingUnlocked);
      await page.getByText('Until this is resolved no features or usage are unlocked: apps are refused.').waitFor();
      // Every limit is 0 meanwhile: no bar says a limit was reached, and no upgrade is offered for it.
      await expect(page.getByTestId('usage-locked').textContent()).resolves.toBe(
        'Nothing can be used until the problem above is solved.',
      );
      await expect(page.getByRole('progressbar').count()).resolves.toBe(0);
      await expect(page.getByTestId('upgrade-prompt').count()).resolves.toBe(0);
      // Nothing on the page promises the free plan, nor that the cached license keeps working.
      await expect(page.locator('body').textContent()).resolves.not.toMatch(/you have the Free plan|keeps working/);
      if (name === 'time record deleted') expect(body).not.toMatch(/earlier/);
      await screenshot(page, `companion-ui-${code.toLowerCase().replaceAll('_', '-')}-${name.replaceAll(/\W+/g, '-')}`);
      expect(errors).toEqual([]);
    });
  }

  for (const [code, title] of [
    ['SUBSCRIPTION_INACTIVE', 'Professional subscription not active'],
    ['LICENSE_EXPIRED', 'Professional access ended'],
  ] as const) {
    it(`explains ${code} with the free plan its license keeps`, async () => {
      const state = withStanding(signedIn('professional'), code);
      if (code === 'LICENSE_EXPIRED') state.license.accessEndsAt = NOW - TIME.HOUR;
      const { page, errors } = await open(state);
      const banner = page.getByTestId('banner-standing');
      await banner.getByRole('heading', { name: title }).waitFor();
      await expect(banner.locator('p').textContent()).resolves.toContain(
        "Meanwhile you have the Free plan's features and limits.",
      );
      expect(errors).toEqual([]);
    });
  }

  it('says to connect, never to upgrade, when an app is blocked past the offline lease', async () => {
    const state: CompanionState = {
      ...offline('professional'),
      lastDenial: {
        at: NOW - 1_000,
        subject: 'usage.consume ai_operations',
        decision: { allowed: false, code: 'LEASE_EXHAUSTED', limit: 100, remaining: 58, leaseRemaining: 0 },
      },
    };
    const { page, errors } = await open(state);
    const prompt = page.getByTestId('upgrade-prompt');
    await expect(prompt.getByRole('heading').textContent()).resolves.toBe('An app was blocked: AI operations');
    await expect(prompt.textContent()).resolves.toContain('Connect to the internet to continue');
    await expect(prompt.textContent()).resolves.not.toMatch(/upgrade/i);
    await expect(prompt.getByRole('button').allTextContents()).resolves.toEqual(['Not now']);
    expect(errors).toEqual([]);
  });
});

describe('billing status', () => {
  it('shows a past-due plan with the date access ends, and a cancellation date', async () => {
    const state = signedIn('professional', { ai_operations: 12 });
    state.subscription = { ...state.subscription!, status: 'past_due', pastDueGraceEndsAt: '2026-12-03T12:00:00.000Z' };
    const { page, errors, push } = await open(state);
    await expect(page.getByTestId('plan-status').textContent()).resolves.toBe(
      'Payment overdue — access until 3 Dec 2026',
    );
    await expect(page.getByTestId('banner-past-due').textContent()).resolves.toContain('to keep Professional');
    await screenshot(page, 'companion-ui-past-due');

    const canceling = signedIn('professional');
    canceling.subscription = { ...canceling.subscription!, cancelAtPeriodEnd: true };
    await push(canceling);
    await page.getByText('Ends on 26 Dec 2026').waitFor();
    await expect(page.getByTestId('banner-past-due').count()).resolves.toBe(0);
    expect(errors).toEqual([]);
  });
});

describe('notices and white label', () => {
  it('shows the server notices and asks main to dismiss one', async () => {
    const state = signedIn('free', { ai_operations: 4 });
    state.notifications = [
      {
        id: 'n_80',
        kind: 'usage_threshold',
        operation: 'ai_operations',
        threshold: 80,
        period: '2026-11',
        used: 4,
        limit: 5,
        message: 'You have used 80 % of your AI operations this month.',
        createdAt: '2026-11-26T11:00:00.000Z',
        readAt: null,
      },
    ];
    const { page, errors, calls } = await open(state);
    await page.getByRole('button', { name: 'Dismiss: You have used 80 % of your AI operations this month.' }).click();
    await expect.poll(calls).toEqual([{ method: 'notifications.dismiss', params: { id: 'n_80' } }]);
    expect(errors).toEqual([]);
  });

  it("takes the product name, accent colour and logo from main's state", async () => {
    const logo =
      'data:image/svg+xml;base64,' +
      Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><circle cx="10" cy="10" r="9" fill="#0b6e4f"/></svg>',
      ).toString('base64');
    const state = signedIn('enterprise');
    state.branding = { productName: 'Acme Studio', accentColor: '#0b6e4f', logoUrl: logo };
    const { page, errors } = await open(state);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Acme Studio');
    await expect(page.title()).resolves.toBe('Acme Studio');
    await expect(page.locator('header img').getAttribute('src')).resolves.toBe(logo);
    const accent = await page
      .locator('header')
      .evaluate((header) => header.ownerDocument.defaultView?.getComputedStyle(header).borderBottomColor);
    expect(accent).toBe('rgb(11, 110, 79)');
    await screenshot(page, 'companion-ui-white-label');
    expect(errors).toEqual([]);
  });
});

describe('--web bridge', () => {
  it('opened from the companion (its page cookie), calls the bridge with no token the page could read', async () => {
    const page = await newPage();
    // What the companion's one-time link leaves behind: the readable marker (the session cookie is HttpOnly).
    await page.context().addCookies([{ name: 'tollgate_web_page', value: '1', url: site.url }]);
    const errors = watchConsole(page);
    const seen: { path: string; auth: string | undefined }[] = [];
    await page.route('**/api/**', async (route) => {
      const url = new URL(route.request().url());
      seen.push({ path: `${url.pathname}${url.search}`, auth: route.request().headers().authorization });
      if (url.pathname === '/api/events') {
        await route.fulfill({
          status: 200,
          headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-store' },
          body: `retry: 60000\ndata: ${JSON.stringify(signedOut())}\n\n`,
        });
        return;
      }
      await route.fulfill({ json: { ok: false, error: { code: 'INVALID_CREDENTIALS', message: 'no' } } });
    });
    await page.goto(site.url);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('secret');
    await page.getByRole('button', { name: 'Sign in', exact: true }).last().click();
    await page.getByText('Wrong email or password.').waitFor();
    expect(seen).toContainEqual({ path: '/api/events', auth: undefined });
    expect(seen).toContainEqual({ path: '/api/rpc/auth.signIn', auth: undefined });
    expect(await page.evaluate('document.cookie')).toBe('tollgate_web_page=1');

    // A reload keeps working: the cookies stay with the browser.
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(seen.filter((request) => request.path === '/api/events').length).toBeGreaterThanOrEqual(2);
    expect(errors).toEqual([]);
    // The browser's pages may share one cookie jar: the next test starts without the marker.
    await page.context().clearCookies();
  });

  it('without a bridge or token, says to open the window from the companion and requests nothing', async () => {
    const page = await newPage();
    const errors = watchConsole(page);
    const requests: string[] = [];
    page.on('request', (request) => requests.push(new URL(request.url()).pathname));
    await page.goto(site.url);
    await page.getByText('Open it from there').waitFor();
    expect(requests.filter((path) => path.startsWith('/api/'))).toEqual([]);
    expect(errors).toEqual([]);
  });
});
