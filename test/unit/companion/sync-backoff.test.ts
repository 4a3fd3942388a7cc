import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Companion } from '../../../src-main/companion.ts';
import { plaintextCipher, SessionVault } from '../../../src-main/secrets.ts';
import { openNodeStore } from '../../../src-main/settings-store.ts';

// An unreachable server is retried with exponential backoff and full jitter, never in a tight loop,
// and usage recorded meanwhile does not make the companion hammer it either.

let dir: string;
let opened: Companion | null = null;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-backoff-'));
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(async () => {
  // Closed pass or fail, with the fake clock still in charge of its timers.
  await opened?.close();
  opened = null;
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

async function offlineCompanion(random: () => number) {
  const store = openNodeStore(dir);
  new SessionVault(store, plaintextCipher).save({
    account: { id: 'acct_1', email: 'ada@example.com' },
    accessToken: 'token',
    accessTokenExpiresAt: Date.now() + 86_400_000,
    refreshToken: 'refresh',
  });
  const attempts: number[] = [];
  const companion = await Companion.open({
    home: dir,
    serverUrl: 'https://billing.example.com',
    openStore: openNodeStore,
    cipher: plaintextCipher,
    random,
    fetch: async () => {
      attempts.push(Date.now());
      throw new TypeError('fetch failed');
    },
  });
  opened = companion;
  return { companion, attempts };
}

async function runFor(ms: number) {
  for (let elapsed = 0; elapsed < ms; elapsed += 250) await vi.advanceTimersByTimeAsync(250);
}

describe('sync while the server is unreachable', () => {
  it('waits twice as long after each failure, up to a minute', async () => {
    const { companion, attempts } = await offlineCompanion(() => 0.999);
    companion.start();
    await runFor(200_000);
    const gaps = attempts.slice(1).map((at, i) => at - (attempts[i] as number));
    expect(gaps.slice(0, 6).map((gap) => Math.round(gap / 1000))).toEqual([1, 2, 4, 8, 16, 32]);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(60_000);
    expect(gaps.at(-1)).toBeGreaterThan(55_000);
    expect(companion.state.getState().sync).toMatchObject({ status: 'offline', offlineSince: attempts[0] });
  });

  it('spreads retries with jitter, and recorded usage does not trigger extra attempts', async () => {
    const { companion, attempts } = await offlineCompanion(() => 0.3);
    companion.start();
    await runFor(1_000);
    const before = attempts.length;
    for (let n = 0; n < 20; n += 1) {
      await companion.dispatch('usage.consume', { operation: 'ai_operations' });
    }
    await runFor(10_000);
    const gaps = attempts.slice(1).map((at, i) => at - (attempts[i] as number));
    // 30 % of the growing cap (never below a quarter second): 0.3 s, 0.6 s, 1.2 s, 2.4 s, 4.8 s…
    expect(gaps.slice(0, 4)).toEqual([300, 600, 1200, 2400]);
    expect(attempts.length - before).toBeLessThanOrEqual(5);
  });
});
