import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageEventsResponse } from '../../../src-shared/api.ts';
import { testDialects } from '../../support/databases.ts';
import { setPlan, signUp, startTestServer, type TestServer } from '../../support/server.ts';
import { closeAfterEach, openTestCompanion, outageProxy, serverUsedOf, tempDir } from './harness.ts';

// Both the journal and its head record put back to an older copy (a restored backup, a VM
// snapshot) agree with each other; only the server, which remembers how far this device's journal
// has reached, can tell. Run on every database the server supports.

const folder = tempDir('tollgate-rollback-');
const closing = closeAfterEach();
const JOURNAL_FILES = ['usage-journal.tsv', 'usage-journal.head'];

afterAll(() => folder.remove());

describe.each(testDialects())('a journal restored with its head from an older copy (%s)', (dialect) => {
  let server: TestServer;
  afterAll(async () => {
    await server?.stop();
  });

  it('is reported as behind the server, and what it holds is counted once', async () => {
    server = await startTestServer({ dialect });
    const proxy = closing(await outageProxy(server.url), (outage) => outage.close());
    const account = await signUp(server.url);
    await setPlan(server.db, account.id, { tier: 'professional' });
    const home = join(folder.path, dialect);
    const backup = join(folder.path, `${dialect}-backup`);
    const consume = async (companion: Awaited<ReturnType<typeof openTestCompanion>>, times: number) => {
      for (let n = 0; n < times; n += 1) {
        expect(await companion.dispatch('usage.consume', { operation: 'ai_operations' })).toMatchObject({
          value: { decision: { allowed: true } },
        });
      }
    };

    const first = await openTestCompanion({ home, serverUrl: proxy.url });
    expect((await first.dispatch('auth.signIn', { email: account.email, password: account.password })).ok).toBe(true);
    await proxy.down();
    await consume(first, 3);
    await first.close();
    // The backup: journal and head together, three units not yet sent.
    mkdirSync(backup);
    for (const name of JOURNAL_FILES) cpSync(join(home, name), join(backup, name));

    await proxy.up();
    const second = await openTestCompanion({ home, serverUrl: proxy.url });
    expect(await second.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'idle' } });
    await consume(second, 3);
    expect(await second.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'idle' } });
    expect(second.state.getState().dataProblems).toEqual([]);
    await second.close();
    expect(await serverUsedOf(account, 'ai_operations')).toBe(6);

    for (const name of JOURNAL_FILES) cpSync(join(backup, name), join(home, name));
    const restored = closing(await openTestCompanion({ home, serverUrl: proxy.url }), (opened) => opened.close());
    // On the device alone the restored pair is consistent: nothing to report yet.
    expect(restored.state.getState().dataProblems).toEqual([]);
    expect(restored.state.getState().usage.operations.ai_operations).toMatchObject({ pending: 3 });
    expect(await restored.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'idle' } });
    expect(restored.state.getState().dataProblems.join('\n')).toMatch(
      /usage journal .* is older than what this device already sent to the server .* restored from a backup/,
    );
    // The three it held were counted before: once, not twice.
    expect(await serverUsedOf(account, 'ai_operations')).toBe(6);

    // Said once: the journal numbers on past what the server has seen.
    await proxy.down();
    await consume(restored, 1);
    await proxy.up();
    expect(await restored.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'idle' } });
    expect(restored.state.getState().dataProblems).toHaveLength(1);
    expect(await serverUsedOf(account, 'ai_operations')).toBe(7);
  });

  it('the server keeps the highest journal record a device has sent, and answers it', async () => {
    server ??= await startTestServer({ dialect });
    const account = await signUp(server.url);
    const event = (n: number) => ({ idempotencyKey: `journal-head-${n}-000`, operation: 'ai_operations', units: 1 });
    const send = async (n: number, seq: number) => {
      const answer = await account.post('/v1/usage/events', {
        events: [event(n)],
        journal: { deviceId: 'device-a', seq },
      });
      expect(answer.status).toBe(200);
      return UsageEventsResponse.parse(answer.body).journal?.highestSeq;
    };
    expect(await send(1, 10)).toBe(10);
    expect(await send(2, 4)).toBe(10);
    expect(await send(3, 12)).toBe(12);
    // Per device: another device of the account starts from its own.
    const other = await account.post('/v1/usage/events', {
      events: [event(4)],
      journal: { deviceId: 'device-b', seq: 2 },
    });
    expect(UsageEventsResponse.parse(other.body).journal?.highestSeq).toBe(2);
  });
});
