import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Auth } from '../../../src-main/auth.ts';
import { BillingClient } from '../../../src-main/billing-client.ts';
import { syncAfterStatus } from '../../../src-main/companion-state.ts';
import { LicenseCache } from '../../../src-main/license-cache.ts';
import { plaintextCipher, SessionVault } from '../../../src-main/secrets.ts';
import { openNodeStore } from '../../../src-main/settings-store.ts';
import { createMainStore } from '../../../src-main/state.ts';
import { DEFAULT_SYNC_TIMING, Sync } from '../../../src-main/sync.ts';
import { TrustedClock } from '../../../src-main/trusted-clock.ts';
import { UsageJournal } from '../../../src-main/usage-journal.ts';
import { UsageSnapshotCache } from '../../../src-main/usage-snapshot.ts';
import { periodOf } from '../../../src-shared/period.ts';

// An unreachable server is retried with exponential backoff and full jitter, never in a tight loop,
// and usage recorded meanwhile does not make the companion hammer it either. Sync is built from its
// services alone: no companion, no derived state beyond the sync view it reports.

let dir: string;
let close: (() => Promise<void>) | null = null;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-backoff-'));
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(async () => {
  // Stopped pass or fail, while the fake clock still owns its timers.
  await close?.();
  close = null;
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

async function offlineSync(random: () => number) {
  const store = openNodeStore(dir);
  const vault = new SessionVault(store, plaintextCipher);
  vault.save({
    account: { id: 'acct_1', email: 'ada@example.com' },
    accessToken: 'token',
    accessTokenExpiresAt: Date.now() + 86_400_000,
    refreshToken: 'refresh',
  });
  const attempts: number[] = [];
  const client = new BillingClient('https://billing.example.com', async () => {
    attempts.push(Date.now());
    throw new TypeError('fetch failed');
  });
  const clock = () => Date.now();
  const journal = await UsageJournal.open(dir, plaintextCipher);
  // The sync view as the companion keeps it: each status report folded in by the real reducer.
  const view = createMainStore('https://billing.example.com', clock());
  const sync = new Sync({
    client,
    auth: new Auth(client, vault, clock, () => undefined),
    journal,
    license: new LicenseCache({
      store,
      clock,
      keys: { keys: [] },
      deviceId: 'dev-backoff',
      account: () => null,
      time: new TrustedClock(store, plaintextCipher),
    }),
    usage: new UsageSnapshotCache(store, periodOf(clock())),
    deviceId: 'dev-backoff',
    clock,
    random,
    timing: DEFAULT_SYNC_TIMING,
    events: {
      status: (update) => view.setState({ sync: syncAfterStatus(view.getState().sync, update) }),
      account: () => undefined,
      license: () => undefined,
      notifications: () => undefined,
      plans: () => undefined,
      usageAnswered: () => undefined,
      journalBehind: () => undefined,
    },
  });
  close = async () => {
    await sync.stop();
    await journal.close();
  };
  return { sync, journal, view, attempts };
}

async function runFor(ms: number) {
  for (let elapsed = 0; elapsed < ms; elapsed += 250) await vi.advanceTimersByTimeAsync(250);
}

describe('sync while the server is unreachable', () => {
  it('waits twice as long after each failure, up to a minute', async () => {
    const { sync, view, attempts } = await offlineSync(() => 0.999);
    sync.start();
    await runFor(200_000);
    const gaps = attempts.slice(1).map((at, i) => at - (attempts[i] as number));
    expect(gaps.slice(0, 6).map((gap) => Math.round(gap / 1000))).toEqual([1, 2, 4, 8, 16, 32]);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(60_000);
    expect(gaps.at(-1)).toBeGreaterThan(55_000);
    expect(view.getState().sync).toMatchObject({ status: 'offline', offlineSince: attempts[0] });
  });

  it('spreads retries with jitter, and recorded usage does not trigger extra attempts', async () => {
    const { sync, journal, attempts } = await offlineSync(() => 0.3);
    sync.start();
    await runFor(1_000);
    const before = attempts.length;
    for (let n = 0; n < 20; n += 1) {
      // What a consume does once its decision is taken: record durably, then nudge the sync.
      await journal.record({
        key: `dev-backoff.${n}`,
        operation: 'ai_operations',
        units: 1,
        at: Date.now(),
        account: '',
      });
      sync.nudge();
    }
    await runFor(10_000);
    const gaps = attempts.slice(1).map((at, i) => at - (attempts[i] as number));
    // 30 % of the growing cap (never below a quarter second): 0.3 s, 0.6 s, 1.2 s, 2.4 s, 4.8 s…
    expect(gaps.slice(0, 4)).toEqual([300, 600, 1200, 2400]);
    expect(attempts.length - before).toBeLessThanOrEqual(5);
  });
});
