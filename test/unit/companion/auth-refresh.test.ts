import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Auth } from '../../../src-main/auth.ts';
import { BillingClient } from '../../../src-main/billing-client.ts';
import { plaintextCipher, SessionVault } from '../../../src-main/secrets.ts';
import { openNodeStore } from '../../../src-main/settings-store.ts';

// An expired access token is refreshed once for every caller waiting on it. A refresh begun while
// the network was gone (the sync loop's) may fail after the network is back; a caller who joined
// it then — the user clicking right after reconnecting — must not be told the server is unreachable.

const dir = mkdtempSync(join(tmpdir(), 'tollgate-auth-'));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('a caller who joined a refresh that then failed offline refreshes again on its own', async () => {
  const now = Date.UTC(2026, 11, 3, 12);
  const vault = new SessionVault(openNodeStore(dir), plaintextCipher);
  vault.save({
    account: { id: 'acct_1', email: 'ada@example.com' },
    accessToken: 'expired-token',
    accessTokenExpiresAt: now - 1000,
    refreshToken: 'refresh-1',
  });
  let failFirst: (error: unknown) => void = () => undefined;
  let calls = 0;
  const client = new BillingClient('https://billing.example.com', async () => {
    calls += 1;
    if (calls === 1) return new Promise<Response>((_, reject) => (failFirst = reject));
    return new Response(
      JSON.stringify({
        account: { id: 'acct_1', email: 'ada@example.com', createdAt: new Date(now).toISOString() },
        accessToken: 'fresh-token',
        accessTokenExpiresAt: new Date(now + 900_000).toISOString(),
        refreshToken: 'refresh-2',
      }),
      { status: 200, headers: { 'content-type': 'application/json' } },
    );
  });
  const auth = new Auth(
    client,
    vault,
    () => now,
    () => undefined,
  );
  const sync = auth.accessToken(); // began while offline
  const click = auth.accessToken(); // joins it, just as the network returns
  failFirst(new TypeError('fetch failed'));
  const synced = await sync;
  expect(synced.ok).toBe(false);
  expect(!synced.ok && synced.error.code).toBe('SERVER_UNREACHABLE');
  expect(await click).toEqual({ ok: true, value: 'fresh-token' });
  expect(calls).toBe(2);
});
