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
  /** Six acknowledged consumes recorded offline by a Professional account; the journal's lines. */
  async function journalOfSix(name: string) {
    const home = join(folder.path, name);
    const account = await signUp(server.url);
    await setPlan(server.db, account.id, { tier: 'professional' });
    closing(proxy, (outage) => outage.up());
    await proxy.up();
    const first = await openTestCompanion({ home, serverUrl: proxy.url });
    expect((await first.dispatch('auth.signIn', { email: account.email, password: account.password })).ok).toBe(true);
    await proxy.down();
    const consumeOne = () => first.dispatch('usage.consume', { operation: 'ai_operations', units: 1 });
    for (let n = 0; n < 3; n += 1) expect(await consumeOne()).toMatchObject({ value: { decision: { allowed: true } } });
    const path = join(home, 'usage-journal.tsv');
    // A backup taken here (a restored copy, a VM snapshot) holds the first three.
    const older = readFileSync(path, 'utf8');
    for (let n = 0; n < 3; n += 1) expect(await consumeOne()).toMatchObject({ value: { decision: { allowed: true } } });
    await first.close();
    const text = readFileSync(path, 'utf8');
    return { home, account, path, older, text, lines: text.trim().split('\n') };
  }

  /** Starts the companion on the tampered folder, syncs, and returns what it reports. */
  async function syncTampered(home: string) {
    await proxy.up();
    const companion = closing(await openTestCompanion({ home, serverUrl: proxy.url }), (opened) => opened.close());
    expect(await companion.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'idle' } });
    expect(companion.state.getState().sync.pendingEvents).toBe(0);
    // Syncing again counts nothing twice.
    expect(await companion.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'idle' } });
    return companion.state.getState().dataProblems.join('\n');
  }

  const consumptions = (lines: string[]) => lines.filter((line) => line.startsWith('C\t'));

  it('counts the good entries once when malformed and forged lines are inserted among them, and reports the rest', async () => {
    const { home, account, path, lines } = await journalOfSix('malformed-home');
    // A user with a text editor inserts a malformed line and a well-formed entry without a valid MAC.
    const at = Date.now();
    lines.splice(2, 0, `C\tforged-entry-1\tai_operations\tlots\t${at}\t${account.id}`);
    lines.splice(3, 0, `C\tforged-entry-2\tai_operations\t7\t${at}\t${account.id}\t3\t4\tnot-a-mac`);
    writeFileSync(path, `${lines.join('\n')}\n`);

    const problems = await syncTampered(home);
    expect(await serverUsedOf(account, 'ai_operations')).toBe(6);
    expect(problems).toMatch(/2 lines of the usage journal .* could not be verified .* \(7 units\) was not sent/);
    expect(readFileSync(join(home, 'usage-journal.damaged.tsv'), 'utf8')).toContain('forged-entry-2');
  });

  it('does not bill an edited entry, counts the others once, and says how many units it held', async () => {
    const { home, account, path, text, lines } = await journalOfSix('edited-home');
    const [victim] = consumptions(lines).slice(-1);
    const fields = (victim as string).split('\t');
    fields[3] = '50';
    writeFileSync(path, text.replace(victim as string, fields.join('\t')));

    const problems = await syncTampered(home);
    expect(await serverUsedOf(account, 'ai_operations')).toBe(5);
    expect(problems).toMatch(/1 line of the usage journal .* could not be verified .* \(50 units\) was not sent/);
  });

  it('reports a journal cut mid-record and keeps what comes before the cut', async () => {
    const { home, account, path, text, lines } = await journalOfSix('cut-record-home');
    const last = consumptions(lines).at(-1) as string;
    writeFileSync(path, text.slice(0, text.indexOf(last) + 20));

    const problems = await syncTampered(home);
    expect(await serverUsedOf(account, 'ai_operations')).toBe(5);
    expect(problems).toMatch(/usage journal .* is missing 1 record it wrote/);
  });

  it('reports a journal cut mid-file and keeps what comes before the cut', async () => {
    const { home, account, path, text, lines } = await journalOfSix('cut-file-home');
    const fourth = consumptions(lines)[3] as string;
    writeFileSync(path, text.slice(0, text.indexOf(fourth)));

    const problems = await syncTampered(home);
    expect(await serverUsedOf(account, 'ai_operations')).toBe(3);
    expect(problems).toMatch(/usage journal .* is missing 3 records it wrote/);
  });

  it('reports a journal replaced by an older copy, and counts what the copy holds once', async () => {
    const { home, account, path, older } = await journalOfSix('older-copy-home');
    writeFileSync(path, older);

    const problems = await syncTampered(home);
    expect(await serverUsedOf(account, 'ai_operations')).toBe(3);
    expect(problems).toMatch(/usage journal .* is missing 3 records it wrote .* older copy/);
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
