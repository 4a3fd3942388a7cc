import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Companion } from '../../../src-main/companion.ts';
import { HostClient } from '../../../src-main/host-client.ts';
import { setPlan, signUp, startTestServer, type TestServer } from '../../support/server.ts';
import {
  bundleCli,
  closeAfterEach,
  eventually,
  openTestCompanion,
  outageProxy,
  serverUsedOf,
  startHeadless,
  tempDir,
} from './harness.ts';

// Offline: the network to the billing server goes away (a proxy drops every connection) while the
// server keeps running; the companion must keep answering from its verified license and bring its
// usage to the server once the network is back.

const DAY = 86_400_000;
const folder = tempDir('tollgate-offline-');
const closing = closeAfterEach();
let server: TestServer;
let proxy: Awaited<ReturnType<typeof outageProxy>>;
let cli: Awaited<ReturnType<typeof bundleCli>>;

beforeAll(async () => {
  [server, cli] = await Promise.all([startTestServer(), bundleCli()]);
  proxy = await outageProxy(server.url);
});

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  cli?.remove();
  folder.remove();
});

async function professionalSignedIn(
  home: string,
  clock?: () => number,
): Promise<{ companion: Companion; accountId: string; me: () => Promise<number> }> {
  const account = await signUp(server.url);
  await setPlan(server.db, account.id, { tier: 'professional' });
  const companion = closing(
    await openTestCompanion({ home, serverUrl: proxy.url, ...(clock ? { clock } : {}) }),
    (opened) => opened.close(),
  );
  const signedIn = await companion.dispatch('auth.signIn', { email: account.email, password: account.password });
  expect(signedIn.ok).toBe(true);
  expect(companion.state.getState().effectiveTier).toBe('professional');
  const me = () => serverUsedOf(account, 'ai_operations');
  return { companion, accountId: account.id, me };
}

describe('offline', () => {
  it('starts with the server unreachable, answers from the cached license, and syncs usage when it returns', async () => {
    const home = join(folder.path, 'process-home');
    const { companion, me } = await professionalSignedIn(home);
    await companion.close();

    closing(proxy, (outage) => outage.up());
    await proxy.down();
    const env = {
      TOLLGATE_HOME: home,
      TOLLGATE_SOCKET: join(folder.path, 'offline.sock'),
      TOLLGATE_SERVER_URL: proxy.url,
      TOLLGATE_SYNC_RETRY_MAX_MS: '300',
    };
    closing(await startHeadless(env, cli.bin), (child) => child.kill('SIGTERM'));
    const host = closing(await HostClient.connect(env.TOLLGATE_SOCKET), (client) => client.close());
    expect((await host.call('license.get')).license).toMatchObject({ status: 'valid', tier: 'professional' });
    expect(await host.call('gate.check', { feature: 'compliance_check' })).toEqual({ allowed: true, code: 'OK' });
    for (let n = 0; n < 3; n += 1) {
      expect((await host.call('usage.consume', { operation: 'ai_operations' })).decision).toMatchObject({
        allowed: true,
        limit: 100,
        remaining: 100 - n,
      });
    }
    expect((await host.call('usage.get')).operations.ai_operations).toMatchObject({ serverUsed: 0, pending: 3 });
    expect(await me()).toBe(0);

    await proxy.up();
    await eventually(async () => (await me()) === 3, 90_000);
    const synced = await eventually(async () => {
      const usage = await host.call('usage.get');
      return usage.operations.ai_operations?.pending === 0 && usage;
    });
    expect(synced.operations.ai_operations).toMatchObject({ serverUsed: 3, pending: 0 });
  });

  // What the window shows on the way, with the clock injected; the same attack on the real process
  // with its clock really turned (libfaketime) is test/integration/companion/trusted-time.test.ts.
  it('gives OFFLINE_GRACE_EXPIRED after the grace and CLOCK_TAMPERED after a clock rollback, then recovers', async () => {
    const clock = { now: Date.now() };
    const { companion } = await professionalSignedIn(join(folder.path, 'clock-home'), () => clock.now);
    closing(proxy, (outage) => outage.up());
    const check = (feature: string) => companion.dispatch('gate.check', { feature });
    expect(await check('compliance_check')).toEqual({ ok: true, value: { allowed: true, code: 'OK' } });

    await proxy.down();
    expect(await companion.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'offline' } });
    clock.now += 6 * DAY;
    expect(await check('compliance_check')).toMatchObject({ value: { allowed: true } });

    clock.now += 2 * DAY; // past the server's 7-day offline grace
    expect(await check('compliance_check')).toMatchObject({
      value: { allowed: false, code: 'OFFLINE_GRACE_EXPIRED' },
    });
    // Without a license that can be honoured nothing is granted, the free tier's features included.
    expect(await check('basic_processing')).toMatchObject({ value: { allowed: false, code: 'OFFLINE_GRACE_EXPIRED' } });
    const consumed = await companion.dispatch('usage.consume', { operation: 'ai_operations', units: 1 });
    expect(consumed).toMatchObject({ value: { decision: { allowed: false, code: 'OFFLINE_GRACE_EXPIRED' } } });
    // The state the UI renders follows the decisions and explains the refusal.
    await expect
      .poll(() => companion.state.getState())
      .toMatchObject({
        effectiveTier: 'free',
        standing: { code: 'OFFLINE_GRACE_EXPIRED' },
        license: { status: 'invalid', problem: { code: 'OFFLINE_GRACE_EXPIRED' } },
      });

    // Turning the clock back to before the server's last answer does not bring the plan back.
    clock.now = Date.now() - 2 * DAY;
    expect(await check('compliance_check')).toMatchObject({ value: { allowed: false, code: 'CLOCK_TAMPERED' } });

    // Back to today: still behind the 8 days ahead the companion has seen, until the server answers.
    clock.now = Date.now();
    expect(await check('compliance_check')).toMatchObject({ value: { allowed: false, code: 'CLOCK_TAMPERED' } });
    await expect.poll(() => companion.state.getState().standing.message).toMatch(/clock is earlier/);
    await proxy.up();
    expect(await companion.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'idle' } });
    expect(await check('compliance_check')).toEqual({ ok: true, value: { allowed: true, code: 'OK' } });
  });

  it('does not honour the cached license when the time record is deleted, until the server answers', async () => {
    const home = join(folder.path, 'time-deleted-home');
    const { companion } = await professionalSignedIn(home);
    await companion.close();
    // The user deletes the trusted-clock record (conf nests `time.highWater` under `time`).
    const file = join(home, 'companion.json');
    const settings = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { highWater?: unknown }>;
    expect(settings.time?.highWater).toBeDefined();
    delete settings.time;
    writeFileSync(file, JSON.stringify(settings));

    closing(proxy, (outage) => outage.up());
    await proxy.down();
    const env = {
      TOLLGATE_HOME: home,
      TOLLGATE_SOCKET: join(folder.path, 'time-deleted.sock'),
      TOLLGATE_SERVER_URL: proxy.url,
      TOLLGATE_SYNC_RETRY_MAX_MS: '300',
    };
    closing(await startHeadless(env, cli.bin), (child) => child.kill('SIGTERM'));
    const host = closing(await HostClient.connect(env.TOLLGATE_SOCKET), (client) => client.close());
    expect(await host.call('gate.check', { feature: 'compliance_check' })).toMatchObject({
      allowed: false,
      code: 'CLOCK_TAMPERED',
    });
    expect((await host.call('usage.consume', { operation: 'ai_operations' })).decision).toMatchObject({
      allowed: false,
      code: 'CLOCK_TAMPERED',
    });
    expect((await host.call('license.get')).license).toMatchObject({
      status: 'invalid',
      problem: { code: 'CLOCK_TAMPERED', message: expect.stringMatching(/record of the time is missing/) },
    });

    await proxy.up();
    await eventually(async () => {
      const gate = await host.call('gate.check', { feature: 'compliance_check' });
      return gate.allowed && gate;
    }, 60_000);
  });

  it('spends offline only what its quota lease holds, so another device using the account meanwhile never makes the server refuse it', async () => {
    const account = await signUp(server.url);
    const companion = closing(
      await openTestCompanion({ home: join(folder.path, 'reconcile-home'), serverUrl: proxy.url }),
      (opened) => opened.close(),
    );
    closing(proxy, (outage) => outage.up());
    expect((await companion.dispatch('auth.signIn', { email: account.email, password: account.password })).ok).toBe(
      true,
    );
    await proxy.down();
    // The free tier's 5: the lease holds 2 of them for this device (a quarter, rounded up).
    for (let n = 0; n < 2; n += 1) {
      const outcome = await companion.dispatch('usage.consume', { operation: 'ai_operations' });
      expect(outcome).toMatchObject({ ok: true, value: { decision: { allowed: true, limit: 5 } } });
    }
    expect(await companion.dispatch('usage.consume', { operation: 'ai_operations' })).toMatchObject({
      ok: true,
      value: { decision: { allowed: false, code: 'LEASE_EXHAUSTED', leaseRemaining: 0 }, idempotencyKey: null },
    });
    // Meanwhile the same account uses the 3 units nobody holds elsewhere, straight against the server.
    for (let n = 0; n < 3; n += 1) {
      const direct = await account.post('/v1/usage/consume', {
        operation: 'ai_operations',
        units: 1,
        idempotencyKey: `other-device-${n}-0000`,
      });
      expect(direct.status).toBe(200);
    }
    expect(
      (
        await account.post('/v1/usage/consume', {
          operation: 'ai_operations',
          units: 1,
          idempotencyKey: 'other-device-x-0000',
        })
      ).status,
    ).toBe(402);
    await proxy.up();
    expect(await companion.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'idle' } });
    // Both units this device acknowledged offline are counted: nothing was refused after the fact.
    expect(await serverUsedOf(account, 'ai_operations')).toBe(5);
    await expect
      .poll(() => companion.state.getState().usage.operations.ai_operations)
      .toMatchObject({ serverUsed: 5, pending: 0 });
    expect(companion.state.getState().lastDenial?.decision.code).not.toBe('LIMIT_REACHED');
    expect(await companion.dispatch('usage.check', { operation: 'ai_operations', units: 1 })).toMatchObject({
      value: { allowed: false, code: 'LIMIT_REACHED', upgrade: { tier: 'professional' } },
    });
  });
});
