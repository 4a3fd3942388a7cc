import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Companion } from '../../../src-main/companion.ts';
import type { CompanionFailure, ResultOf } from '../../../src-shared/contract.ts';
import type { Result } from '../../../src-shared/result.ts';
import { setPlan, signUp, startTestServer, type TestAccount, type TestServer } from '../../support/server.ts';
import { closeAfterEach, eventually, openTestCompanion, outageProxy, serverUsedOf, tempDir } from './harness.ts';

// Quota leases end to end: real companions (each its own data folder and machine identity), each
// behind its own network that can be cut, on one Professional account of a real server.

const folder = tempDir('tollgate-leases-');
const closing = closeAfterEach();
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
  folder.remove();
});

type Proxy = Awaited<ReturnType<typeof outageProxy>>;
let homes = 0;

async function device(account: TestAccount, name: string): Promise<{ companion: Companion; proxy: Proxy }> {
  const proxy = closing(await outageProxy(server.url), (p) => p.close());
  homes += 1;
  const companion = closing(
    await openTestCompanion({
      home: join(folder.path, `${name}-${homes}`),
      serverUrl: proxy.url,
      machineIdentity: `machine-${name}-${homes}`,
    }),
    (opened) => opened.close(),
  );
  const signedIn = await companion.dispatch('auth.signIn', { email: account.email, password: account.password });
  expect(signedIn.ok).toBe(true);
  return { companion, proxy };
}

async function professional(): Promise<TestAccount> {
  const account = await signUp(server.url);
  await setPlan(server.db, account.id, { tier: 'professional' });
  return account;
}

const consume = async (companion: Companion, key: string) =>
  (await companion.dispatch('usage.consume', {
    operation: 'ai_operations',
    units: 1,
    idempotencyKey: `consume-${key}`,
  })) as Result<ResultOf<'usage.consume'>, CompanionFailure>;

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe('quota leases across devices', () => {
  for (const order of permutations([0, 1, 2])) {
    it(`three offline companions never overshoot, and every acknowledged consume counts once (reconnect ${order.join(', ')})`, async () => {
      const account = await professional();
      const devices = [];
      for (const name of ['a', 'b', 'c']) devices.push(await device(account, name));
      for (const { proxy } of devices) await proxy.down();

      // Each asks 60 times, 10 at a time in parallel, all three at once, until refused.
      const asked = 60;
      const acknowledged: string[] = [];
      let refused = 0;
      await Promise.all(
        devices.map(async ({ companion }, d) => {
          for (let wave = 0; wave < asked / 10; wave += 1) {
            const answers = await Promise.all(
              Array.from({ length: 10 }, (_, i) => consume(companion, `dev${d}-${order.join('')}-${wave * 10 + i}`)),
            );
            for (const answer of answers) {
              if (!answer.ok) throw new Error(answer.error.message);
              if (answer.value.decision.allowed) acknowledged.push(answer.value.idempotencyKey as string);
              else {
                expect(answer.value.decision.code).toBe('LEASE_EXHAUSTED');
                refused += 1;
              }
            }
          }
        }),
      );
      expect(refused + acknowledged.length).toBe(3 * asked);
      expect(acknowledged.length).toBeGreaterThan(0);

      for (const index of order) {
        const { companion, proxy } = devices[index] as (typeof devices)[number];
        await proxy.up();
        expect(await companion.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'idle' } });
        expect(await serverUsedOf(account, 'ai_operations')).toBeLessThanOrEqual(100);
      }
      // A second round of syncs (resends included) changes nothing.
      for (const { companion } of devices) await companion.dispatch('sync.now', {});

      expect(await serverUsedOf(account, 'ai_operations')).toBe(acknowledged.length);
      const events = await server.db
        .selectFrom('usage_events')
        .select(['idempotency_key', 'status'])
        .where('account_id', '=', account.id)
        .execute();
      expect(
        events
          .filter((e) => e.status === 'accepted')
          .map((e) => e.idempotency_key)
          .sort(),
      ).toEqual([...acknowledged].sort());
      for (const { companion } of devices) {
        expect(companion.state.getState().usage.operations.ai_operations).toMatchObject({ pending: 0 });
      }
    });
  }

  it('refuses a device past its lease offline, and allows it again once online with units left', async () => {
    const account = await professional();
    const { companion, proxy } = await device(account, 'solo');
    await proxy.down();
    let n = 0;
    for (; n < 200; n += 1) {
      const answer = await consume(companion, `solo-${n}`);
      if (!answer.ok) throw new Error(answer.error.message);
      if (!answer.value.decision.allowed) break;
    }
    const refused = await consume(companion, 'solo-refused');
    expect(refused).toMatchObject({
      ok: true,
      value: { decision: { allowed: false, code: 'LEASE_EXHAUSTED', leaseRemaining: 0 }, idempotencyKey: null },
    });
    expect(n).toBe(25);
    expect(await companion.dispatch('usage.check', { operation: 'ai_operations', units: 1 })).toMatchObject({
      value: { allowed: false, code: 'LEASE_EXHAUSTED', remaining: 75 },
    });

    await proxy.up();
    companion.start();
    // The sync's next retry reconnects; then the consume renews the lease and is allowed.
    const allowed = await eventually(async () => {
      const answer = await consume(companion, `solo-back-${Date.now()}`);
      return answer.ok && answer.value.decision.allowed && answer.value;
    }, 90_000);
    expect(allowed.decision).toMatchObject({ allowed: true, code: 'OK' });
    // Online, the device keeps going past one lease's worth: each renewal hands it more.
    for (let i = 0; i < 40; i += 1) {
      expect((await consume(companion, `solo-online-${i}`)).ok).toBe(true);
    }
    await companion.dispatch('sync.now', {});
    expect(await serverUsedOf(account, 'ai_operations')).toBeGreaterThanOrEqual(25 + 1 + 40);
  });

  it('renews the leases with one request per sync', async () => {
    const account = await professional();
    const calls: string[] = [];
    const counting: typeof fetch = (input, init) => {
      calls.push(`${init?.method ?? 'GET'} ${new URL(String(input instanceof Request ? input.url : input)).pathname}`);
      return fetch(input, init);
    };
    const companion = closing(
      await openTestCompanion({
        home: join(folder.path, 'counted'),
        serverUrl: server.url,
        machineIdentity: 'machine-counted',
        fetch: counting,
      }),
      (opened) => opened.close(),
    );
    expect((await companion.dispatch('auth.signIn', { email: account.email, password: account.password })).ok).toBe(
      true,
    );
    for (let sync = 0; sync < 3; sync += 1) {
      calls.length = 0;
      expect(await companion.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'idle' } });
      expect(calls.filter((call) => call === 'POST /v1/leases')).toHaveLength(1);
    }
  });

  it('renews a spent lease with one request however many consumes are waiting on it', async () => {
    const account = await professional();
    const calls: string[] = [];
    const counting: typeof fetch = (input, init) => {
      calls.push(`${init?.method ?? 'GET'} ${new URL(String(input instanceof Request ? input.url : input)).pathname}`);
      return fetch(input, init);
    };
    const companion = closing(
      await openTestCompanion({
        home: join(folder.path, 'burst'),
        serverUrl: server.url,
        machineIdentity: 'machine-burst',
        fetch: counting,
      }),
      (opened) => opened.close(),
    );
    expect((await companion.dispatch('auth.signIn', { email: account.email, password: account.password })).ok).toBe(
      true,
    );
    // Professional: 100 a month, leases of 25 (a quarter). Spend one, then 30 consumes at once.
    for (let i = 0; i < 25; i += 1) {
      expect((await consume(companion, `burst-lease-${i}`)).ok).toBe(true);
    }
    calls.length = 0;
    const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => consume(companion, `burst-${i}`)));
    const allowed = burst.filter((answer) => answer.ok && answer.value.decision.allowed);
    expect(allowed).toHaveLength(25);
    // The renewed lease is spent by the first 25: the consumes that waited with them are refused,
    // not allowed against the units the lease had before they took them.
    expect(burst.filter((answer) => answer.ok && answer.value.decision.code === 'LEASE_EXHAUSTED')).toHaveLength(5);
    expect(calls.filter((call) => call === 'POST /v1/leases')).toEqual(['POST /v1/leases']);
    await companion.dispatch('sync.now', {});
    expect(await serverUsedOf(account, 'ai_operations')).toBe(50);
  });

  it('grants nothing from a lease edited in the data folder: refused offline with LEASE_EXHAUSTED', async () => {
    const account = await professional();
    const home = join(folder.path, 'tampered');
    const proxy = closing(await outageProxy(server.url), (p) => p.close());
    const open = () => openTestCompanion({ home, serverUrl: proxy.url, machineIdentity: 'machine-tampered' });
    const first = await open();
    expect((await first.dispatch('auth.signIn', { email: account.email, password: account.password })).ok).toBe(true);
    await first.close();

    // The attacker raises the lease's units from 25 to 100000 in the settings file, offline.
    const file = join(home, 'companion.json');
    const settings = JSON.parse(readFileSync(file, 'utf8'));
    const lease = settings.leases.ai_operations;
    const [header, payload, signature] = lease.token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    expect(claims.units).toBe(25);
    claims.units = 100_000;
    lease.token = [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
    writeFileSync(file, JSON.stringify(settings));

    await proxy.down();
    const companion = closing(await open(), (opened) => opened.close());
    const answer = await consume(companion, 'tampered-0001');
    expect(answer).toMatchObject({
      ok: true,
      value: { decision: { allowed: false, code: 'LEASE_EXHAUSTED', leaseRemaining: 0 } },
    });
    expect(companion.state.getState().usage.operations.ai_operations).toMatchObject({ pending: 0 });
  });
});
