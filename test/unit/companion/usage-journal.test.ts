import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { plaintextCipher } from '../../../src-main/secrets.ts';
import { UsageJournal } from '../../../src-main/usage-journal.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-journal-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const entry = (n: number, operation = 'ai_operations', units = 1) => ({
  key: `key-${String(n).padStart(6, '0')}`,
  operation,
  units,
  at: 1_700_000_000_000 + n,
  account: 'acc-1',
});

describe('usage journal', () => {
  it('has every acknowledged consume on disk when its promise resolves, and counts it pending at once', async () => {
    const journal = await UsageJournal.open(dir, plaintextCipher);
    const writes = Array.from({ length: 500 }, (_, n) =>
      journal.record(entry(n, n % 2 ? 'ai_operations' : 'data_processing', 2)),
    );
    // Counted against the limit before the write finishes: concurrent consumes cannot overshoot.
    expect(journal.pendingUnits('ai_operations', 'acc-1')).toBe(500);
    await Promise.all(writes);
    const onDisk = readFileSync(journal.path, 'utf8').trim().split('\n');
    expect(onDisk.filter((line) => line.startsWith('C\t'))).toHaveLength(500);
    await journal.close();

    const reopened = await UsageJournal.open(dir, plaintextCipher);
    expect(reopened.pendingUnits('ai_operations', 'acc-1')).toBe(500);
    expect(reopened.pendingUnits('data_processing', 'acc-1')).toBe(500);
    expect(reopened.nextBatch(1000, 'acc-1').map((e) => e.key)).toEqual(
      Array.from({ length: 500 }, (_, n) => entry(n).key),
    );
    await reopened.close();
  });

  it('drops a line a crash cut short, and keeps everything before it', async () => {
    const journal = await UsageJournal.open(dir, plaintextCipher);
    await Promise.all([journal.record(entry(1)), journal.record(entry(2))]);
    await journal.close();
    appendFileSync(join(dir, 'usage-journal.tsv'), 'C\tkey-000003\tai_oper');

    const reopened = await UsageJournal.open(dir, plaintextCipher);
    expect(reopened.pendingOf('acc-1').events).toBe(2);
    expect(reopened.lookup('key-000003')).toBeUndefined();
    await reopened.record(entry(3));
    await reopened.close();
    const again = await UsageJournal.open(dir, plaintextCipher);
    expect(again.pendingOf('acc-1').events).toBe(3);
    await again.close();
  });

  it('remembers verdicts across restarts and never sends a settled event again', async () => {
    const journal = await UsageJournal.open(dir, plaintextCipher);
    await Promise.all([1, 2, 3, 4].map((n) => journal.record(entry(n))));
    await journal.recordVerdicts([
      { key: entry(1).key, verdict: 'accepted' },
      { key: entry(2).key, verdict: 'duplicate' },
      { key: entry(3).key, verdict: 'rejected' },
    ]);
    expect(journal.pendingUnits('ai_operations', 'acc-1')).toBe(1);
    await journal.close();

    const reopened = await UsageJournal.open(dir, plaintextCipher);
    expect(reopened.nextBatch(10, 'acc-1').map((e) => e.key)).toEqual([entry(4).key]);
    expect(reopened.lookup(entry(1).key)?.state).toBe('accepted');
    expect(reopened.lookup(entry(3).key)?.state).toBe('rejected');
    await expect(reopened.record(entry(1))).rejects.toThrow(/already recorded/);
    await reopened.close();
  });

  it('sends only durable events, oldest first, in batches of the size asked', async () => {
    const journal = await UsageJournal.open(dir, plaintextCipher);
    const first = journal.record(entry(1));
    expect(journal.nextBatch(10, 'acc-1')).toEqual([]);
    await first;
    await Promise.all(Array.from({ length: 20 }, (_, n) => journal.record(entry(n + 2))));
    expect(journal.nextBatch(5, 'acc-1').map((e) => e.key)).toEqual([1, 2, 3, 4, 5].map((n) => entry(n).key));
    await journal.close();
  });
});
