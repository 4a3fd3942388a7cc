import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, uniqueEmail } from '../../support/server.ts';
import { closeAfterEach, eventually, openTestCompanion, outageProxy, tempDir } from './harness.ts';

/**
 * The cardless trial through a real companion and a real server sharing one moving clock: the
 * signed-out companion already holds the price list; signed up, one `trial.start` gives the trial
 * tier; with the network gone and the clock past the trial end, the cached license falls back to
 * free by itself; and a second try is refused with the server's reason.
 */

const DAY = 86_400_000;
const folder = tempDir('tollgate-trial-');
const closing = closeAfterEach();
let clock = Date.UTC(2026, 4, 4, 10);
let server: TestServer;
let proxy: Awaited<ReturnType<typeof outageProxy>>;

beforeAll(async () => {
  server = await startTestServer({ now: () => clock });
  proxy = await outageProxy(server.url);
});

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  folder.remove();
});

describe('the trial in the companion', () => {
  it('shows plans signed out, starts the trial, falls back to free offline at its end, and is once', async () => {
    const companion = closing(
      await openTestCompanion({
        home: join(folder.path, 'home'),
        serverUrl: proxy.url,
        clock: () => clock,
        timing: { intervalMs: 200, retryBaseMs: 50, retryMaxMs: 200 },
      }),
      (opened) => opened.close(),
    );
    companion.start();
    // Before anyone signs in: the server's price list and its trial offer, for display.
    const plans = await eventually(async () => companion.state.getState().plans ?? undefined);
    expect(plans.trial).toEqual({ tier: 'professional', days: 14 });
    expect(plans.plans.map((plan) => plan.id)).toEqual(['free', 'professional', 'enterprise', 'custom']);

    const signedUp = await companion.dispatch('auth.signUp', { email: uniqueEmail(), password: 'a long password!' });
    expect(signedUp.ok).toBe(true);
    expect(companion.state.getState()).toMatchObject({
      effectiveTier: 'free',
      trial: { status: 'available', tier: 'professional', days: 14 },
    });

    const started = await companion.dispatch('trial.start', {});
    expect(started.ok).toBe(true);
    const endsAt = clock + 14 * DAY;
    expect(started.ok && started.value).toEqual({ tier: 'professional', endsAt: new Date(endsAt).toISOString() });
    const during = companion.state.getState();
    expect(during.effectiveTier).toBe('professional');
    expect(during.license.accessEndsAt).toBe(endsAt);
    expect(during.trial).toMatchObject({ status: 'running', endsAt: new Date(endsAt).toISOString() });
    const roomy = await companion.dispatch('usage.check', { operation: 'ai_operations', units: 6 });
    expect(roomy.ok && roomy.value).toMatchObject({ allowed: true, limit: 100 });

    // An hour before the end, synced; then the network goes and the clock passes the end.
    clock = endsAt - 3600_000;
    expect((await companion.dispatch('sync.now', {})).ok).toBe(true);
    expect(companion.state.getState().effectiveTier).toBe('professional');
    await proxy.down();
    clock = endsAt + 60_000;
    const denied = await companion.dispatch('usage.check', { operation: 'ai_operations', units: 6 });
    // The trial's paid access ended: the free tier's limit of 5 applies, which 6 units exceed...
    expect(denied.ok && denied.value).toMatchObject({ allowed: false, code: 'LICENSE_EXPIRED', limit: 5 });
    // ...and what fits the free tier is still allowed: back on free, not locked out.
    const freeUse = await companion.dispatch('usage.check', { operation: 'ai_operations', units: 1 });
    expect(freeUse.ok && freeUse.value).toMatchObject({ allowed: true, limit: 5 });
    await eventually(async () => companion.state.getState().effectiveTier === 'free');
    expect(companion.state.getState().standing.code).toBe('LICENSE_EXPIRED');

    // Back online: the server agrees, and the trial cannot be had twice.
    await proxy.up();
    const again = await companion.dispatch('trial.start', {});
    expect(again.ok).toBe(false);
    expect(!again.ok && `${again.error.code}: ${again.error.message}`).toMatch(/^TRIAL_ALREADY_USED: /);
    expect(!again.ok && again.error.message).toContain('once per account');
    await eventually(async () => companion.state.getState().trial?.status === 'used');
    expect(companion.state.getState().effectiveTier).toBe('free');
  });
});
