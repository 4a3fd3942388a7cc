import { describe, expect, it } from 'vitest';
import { LeaseBook } from '../../../src-main/lease-book.ts';
import type { SettingsStore } from '../../../src-main/settings-store.ts';
import { signLease } from '../../../src-shared/lease.ts';
import { generateLicenseKeyPair, publicJwks } from '../../../src-shared/license.ts';

const NOW = Date.UTC(2026, 4, 10, 12);
const DAY = 86_400_000;

function memoryStore(): SettingsStore & { data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  return {
    data,
    get: (k) => data.get(k),
    set: (k, v) => data.set(k, structuredClone(v)),
    delete: (k) => data.delete(k),
  };
}

async function setup(claims: Partial<{ sub: string; dev: string; period: string; units: number }> = {}) {
  const vendor = await generateLicenseKeyPair();
  const store = memoryStore();
  const pending = { units: 0 };
  const book = new LeaseBook({
    store,
    keys: publicJwks(vendor.publicJwk),
    deviceId: 'dev-1',
    account: () => 'acct-1',
    pendingUnits: () => pending.units,
  });
  const token = await signLease(
    { sub: 'acct-1', dev: 'dev-1', op: 'ai_operations', period: '2026-05', units: 10, ...claims },
    vendor.privateJwk,
    { now: NOW, expiresAt: NOW + DAY },
  );
  await book.accept([{ operation: 'ai_operations', units: 10, period: '2026-05', expiresAt: '', token }]);
  return { book, store, pending, vendor };
}

describe('the lease book', () => {
  it('leaves the lease units less what is pending and what the server settled since', async () => {
    const { book, pending } = await setup();
    expect(book.allowance('ai_operations', NOW)).toEqual({ units: 10, problem: null });
    pending.units = 4;
    expect(book.allowance('ai_operations', NOW).units).toBe(6);
    // Three of the four are synced: no longer pending, still spent.
    book.noteSettled({ ai_operations: 3 });
    pending.units = 1;
    expect(book.allowance('ai_operations', NOW).units).toBe(6);
    pending.units = 7;
    expect(book.allowance('ai_operations', NOW)).toMatchObject({ units: 0, problem: expect.stringMatching(/connect/) });
  });

  it('grants nothing for another account, another machine, another month, after expiry, or unleased', async () => {
    for (const claims of [{ sub: 'acct-2' }, { dev: 'dev-2' }, { period: '2026-04' }]) {
      expect((await setup(claims)).book.allowance('ai_operations', NOW).units).toBe(0);
    }
    const { book } = await setup();
    expect(book.allowance('ai_operations', NOW + DAY).units).toBe(0);
    expect(book.allowance('data_processing', NOW).units).toBe(0);
  });

  it('grants nothing from a stored lease that was edited, and keeps what it settled across a restart', async () => {
    const { store, vendor, book } = await setup();
    book.noteSettled({ ai_operations: 2 });
    const reopened = new LeaseBook({
      store,
      keys: publicJwks(vendor.publicJwk),
      deviceId: 'dev-1',
      account: () => 'acct-1',
      pendingUnits: () => 0,
    });
    await reopened.load();
    expect(reopened.allowance('ai_operations', NOW).units).toBe(8);

    const stored = store.get('leases') as Record<string, { token: string; settled: number }>;
    const lease = stored.ai_operations as { token: string; settled: number };
    const [header, payload, signature] = lease.token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    lease.token = [
      header,
      Buffer.from(JSON.stringify({ ...claims, units: 1000 })).toString('base64url'),
      signature,
    ].join('.');
    store.set('leases', stored);
    await reopened.load();
    expect(reopened.allowance('ai_operations', NOW)).toMatchObject({
      units: 0,
      problem: expect.stringMatching(/could not be verified/),
    });
  });
});
