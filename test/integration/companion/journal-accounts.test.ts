import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setPlan, signUp, startTestServer, type TestServer } from '../../support/server.ts';
import { closeAfterEach, openTestCompanion, outageProxy, serverUsedOf, tempDir } from './harness.ts';

// The usage journal, attacked through its file and through account switches on one device.

const folder = tempDir('tollgate-journal-');
const closing = closeAfterEach();
let server: TestServer;
let proxy: Awaited<ReturnType<typeof outageProxy>>;

beforeAll(async () => {
  server = await startTestServer();
  proxy = await outageProxy(server.url);
});

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  folder.remove();
});

describe('usage journal', () => {
  it('counts the good entries once when malformed lines are inserted among them, and reports the rest', async () => {
    const home = join(folder.path, 'malformed-home');
    const account = await signUp(server.url);
    await setPlan(server.db, account.id, { tier: 'professional' });
    closing(proxy, (outage) => outage.up());
    const first = await openTestCompanion({ home, serverUrl: proxy.url });
    expect((await first.dispatch('auth.signIn', { email: account.email, password: account.password })).ok).toBe(true);
    await proxy.down();
    for (let n = 0; n < 4; n += 1) {
      expect(await first.dispatch('usage.consume', { operation: 'ai_operations' })).toMatchObject({
        value: { decision: { allowed: true } },
      });
    }
    await first.close();

    // A user with a text editor inserts a malformed line and an entry the server does not meter.
    const path = join(home, 'usage-journal.tsv');
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    const at = Date.now();
    lines.splice(2, 0, `C\tforged-entry-1\tai_operations\tlots\t${at}\t${account.id}`);
    lines.splice(3, 0, `C\tforged-entry-2\tteleportation\t7\t${at}\t${account.id}`);
    writeFileSync(path, `${lines.join('\n')}\n`);

    await proxy.up();
    const companion = closing(await openTestCompanion({ home, serverUrl: proxy.url }), (opened) => opened.close());
    expect(await companion.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'idle' } });
    expect(await serverUsedOf(account, 'ai_operations')).toBe(4);
    expect(companion.state.getState().sync.pendingEvents).toBe(0);
    const problems = companion.state.getState().dataProblems.join('\n');
    expect(problems).toMatch(/1 line of the usage journal .* not sent/);
    expect(problems).toMatch(/1 usage entry \(7 units\) .* not billed: UNKNOWN_OPERATION/);
    // Syncing again counts nothing twice.
    expect(await companion.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'idle' } });
    expect(await serverUsedOf(account, 'ai_operations')).toBe(4);
  });

  it('bills usage to the account that recorded it, after another account used the device', async () => {
    const [alice, bob] = await Promise.all([signUp(server.url), signUp(server.url)]);
    await setPlan(server.db, alice.id, { tier: 'professional' });
    closing(proxy, (outage) => outage.up());
    const companion = closing(
      await openTestCompanion({ home: join(folder.path, 'two-accounts-home'), serverUrl: proxy.url }),
      (opened) => opened.close(),
    );
    expect((await companion.dispatch('auth.signIn', { email: alice.email, password: alice.password })).ok).toBe(true);
    await proxy.down();
    for (let n = 0; n < 3; n += 1) {
      expect(await companion.dispatch('usage.consume', { operation: 'ai_operations' })).toMatchObject({
        value: { decision: { allowed: true } },
      });
    }
    // Signing out offline warns that the usage is waiting, and keeps it.
    expect(await companion.dispatch('auth.signOut', {})).toEqual({
      ok: true,
      value: { unsyncedEvents: 3, unsyncedUnits: 3 },
    });

    await proxy.up();
    expect((await companion.dispatch('auth.signIn', { email: bob.email, password: bob.password })).ok).toBe(true);
    expect(await companion.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'idle' } });
    expect(await serverUsedOf(bob, 'ai_operations')).toBe(0);
    expect(await serverUsedOf(alice, 'ai_operations')).toBe(0);
    expect(companion.state.getState().usage.operations.ai_operations).toMatchObject({ pending: 0 });
    expect(await companion.dispatch('auth.signOut', {})).toEqual({
      ok: true,
      value: { unsyncedEvents: 0, unsyncedUnits: 0 },
    });

    expect((await companion.dispatch('auth.signIn', { email: alice.email, password: alice.password })).ok).toBe(true);
    expect(await companion.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'idle' } });
    expect(await serverUsedOf(alice, 'ai_operations')).toBe(3);
    expect(await companion.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'idle' } });
    expect(await serverUsedOf(alice, 'ai_operations')).toBe(3);
    expect(await serverUsedOf(bob, 'ai_operations')).toBe(0);
  });
});
