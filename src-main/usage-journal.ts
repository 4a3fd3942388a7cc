import { randomBytes } from 'node:crypto';
import { appendFile, type FileHandle, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import {
  consumeBody,
  JournalHead,
  type KeyState,
  OPENED,
  parseConsumption,
  readHead,
  readJournal,
  sealLine,
  syncDirectory,
  type UsageEntry,
  VERDICT_BY_CODE,
  type Verdict,
  verdictBody,
  verifyJournal,
  writeAllSync,
} from './journal-records.ts';
import type { SecretCipher } from './secrets.ts';

/**
 * The device's usage journal: every consumption is written here, and fsync'd, before the host app
 * hears "yes". It is an append-only file of tab-separated lines, each ending in its place in the
 * journal and a MAC:
 *   C <key> <operation> <units> <at> <account> <prev> <seq> <mac>   a consumption, not yet answered
 *     (<account> is the account signed in when it was recorded; it is only sent with that account's session)
 *   S <key> <a|d|r> <prev> <seq> <mac>   the server's verdict: accepted, duplicate (counted before) or rejected
 * <seq> numbers every line the device ever wrote (it keeps growing across compactions), <prev> is the
 * <seq> of the line before it, and <mac> is an HMAC-SHA256 of the rest of the line under a key that
 * only the companion holds (sealed by the secret cipher — safeStorage where there is one). A separate
 * head record (`usage-journal.head`, rewritten in place and fsync'd after every journal write, before
 * anything is acknowledged) holds the key and the journal's first and last <seq>. So at open an
 * edited or inserted line fails its MAC, a line removed from the middle breaks the <prev> links, and
 * a file cut short or replaced by an older copy ends before the head's last <seq>. What cannot be
 * verified is moved to `usage-journal.damaged.tsv` and reported (`problems`), never sent; what
 * verifies is kept and synced. Rolling back both files together is consistent here; the server,
 * which keeps the highest <seq> each device sent (sync.ts sends `durableSeq`), catches that.
 * Concurrent writes are grouped: while one fsync runs, new lines queue and go down together in the
 * next write + fsync (group commit), so throughput grows with concurrency instead of paying one
 * file rewrite per event. A line cut short by a crash has no newline and is dropped at open.
 */

interface PendingTotals {
  events: number;
  units: number;
  byOperation: Map<string, number>;
}

interface QueuedWrite {
  text: string;
  resolve(): void;
  reject(error: unknown): void;
}

/** Settled history older than this many lines is dropped when the journal is compacted at open. */
const SETTLED_KEYS_KEPT = 200_000;

const JOURNAL_FILE = 'usage-journal.tsv';
const HEAD_FILE = 'usage-journal.head';
const DAMAGED_FILE = 'usage-journal.damaged.tsv';

export class UsageJournal {
  private readonly pendingByKey = new Map<string, { entry: UsageEntry; durable: Promise<void>; isDurable: boolean }>();
  private readonly settled = new Map<string, Verdict>();
  /** Unsettled events and units by account (units also by operation): every consume asks, so kept up to date. */
  private readonly pendingByAccount = new Map<string, PendingTotals>();
  private queue: QueuedWrite[] = [];
  private flushing: Promise<void> | null = null;
  private closed = false;
  /** The <seq> of the last line queued (the next line links to it). */
  private lastSeq: number;
  /** The next line is numbered after this, at least (continueAfter). */
  private skipTo = 0;
  /** The <seq> of the last line the head covers: what the server is told the journal holds. */
  durableSeq: number;
  /** What was found at open that could not be verified or is missing: said to the user, never sent. */
  readonly problems: string[] = [];

  private constructor(
    private readonly file: FileHandle,
    private readonly head: JournalHead,
    readonly path: string,
  ) {
    this.lastSeq = head.last;
    this.durableSeq = head.last;
  }

  /** Opens, verifies and compacts the journal in `dir`. The caller holds the data folder's owner lock. */
  static async open(dir: string, cipher: SecretCipher): Promise<UsageJournal> {
    const path = join(dir, JOURNAL_FILE);
    const lines = await readJournal(path);
    const headPath = join(dir, HEAD_FILE);
    const stored = await readHead(headPath, cipher);
    const verified = verifyJournal(lines, stored);

    const pending = new Map<string, UsageEntry>();
    const settled = new Map<string, Verdict>();
    for (const line of verified.lines) {
      const [kind, key = '', ...rest] = line.split('\t');
      if (kind === 'C') {
        const consumption = parseConsumption(key, rest) as UsageEntry;
        if (!settled.has(key)) pending.set(key, consumption);
      } else if (kind === 'S') {
        pending.delete(key);
        settled.set(key, VERDICT_BY_CODE[rest[0] ?? ''] as Verdict);
      }
    }
    const journalName = `the usage journal (${path})`;
    const problems: string[] = [];
    if (verified.damaged.length > 0) {
      // Never sent: kept aside (not silently dropped) for the user and support to see.
      await appendFile(join(dir, DAMAGED_FILE), verified.damaged.map((line) => `${line}\n`).join(''), { mode: 0o600 });
      const count = verified.damaged.length;
      const why = stored
        ? 'could not be verified (edited, inserted or damaged)'
        : `could not be verified: its head record (${HEAD_FILE}) is missing or damaged`;
      problems.push(
        `${count} line${count === 1 ? '' : 's'} of ${journalName} ${why}; the usage in ${count === 1 ? 'it' : 'them'} ` +
          `(${verified.damagedUnits} unit${verified.damagedUnits === 1 ? '' : 's'}) was not sent. ` +
          `${count === 1 ? 'It is' : 'They are'} kept in ${DAMAGED_FILE}.`,
      );
    }
    if (verified.missing > 0) {
      problems.push(
        `${journalName} is missing ${verified.missing} record${verified.missing === 1 ? '' : 's'} it wrote ` +
          '(cut short, lines removed, or replaced by an older copy): the usage in them cannot be recovered on this device.',
      );
    }

    // Rewrite the journal with only what still matters, atomically (write, fsync, rename, fsync dir),
    // renumbered after every <seq> ever used so a <seq> never names two lines.
    const key = stored?.key ?? randomBytes(32);
    const base = Math.max(stored?.last ?? 0, verified.highestSeq);
    const keptSettled = [...settled].slice(-SETTLED_KEYS_KEPT);
    const bodies = [
      OPENED,
      ...keptSettled.map(([entryKey, verdict]) => verdictBody(entryKey, verdict)),
      ...[...pending.values()].map(consumeBody),
    ];
    let seq = base;
    const compacted = bodies.map((body) => sealLine(key, body, seq, ++seq)).join('');
    const temporary = `${path}.tmp`;
    const scratch = await open(temporary, 'w', 0o600);
    await scratch.writeFile(compacted);
    await scratch.sync();
    await scratch.close();
    await rename(temporary, path);
    await syncDirectory(dir);
    // A crash here leaves the old head: the new file starts right after its last <seq>, which the
    // next open accepts (verifyJournal), so compaction never looks like tampering.
    const head = await JournalHead.create(headPath, key, cipher, base, seq);

    const journal = new UsageJournal(await open(path, 'a', 0o600), head, path);
    for (const [entryKey, verdict] of keptSettled) journal.settled.set(entryKey, verdict);
    for (const entry of pending.values()) journal.track(entry, Promise.resolve(), true);
    journal.problems.push(...problems);
    return journal;
  }

  /**
   * Records a consumption. Its units count against the limit at once (so concurrent consumes can
   * never overshoot), and the promise resolves only once the line is on disk.
   */
  record(entry: UsageEntry): Promise<void> {
    if (this.closed) return Promise.reject(new Error('The usage journal is closed.'));
    if (this.pendingByKey.has(entry.key) || this.settled.has(entry.key)) {
      return Promise.reject(new Error(`Usage ${entry.key} is already recorded.`));
    }
    const durable = this.write([consumeBody(entry)]);
    const tracked = this.track(entry, durable, false);
    durable.then(
      () => {
        tracked.isDurable = true;
      },
      () => this.untrack(entry.key),
    );
    return durable;
  }

  /** Marks events as settled by the server; durable when the promise resolves. */
  async recordVerdicts(results: ReadonlyArray<{ key: string; verdict: Verdict }>): Promise<void> {
    const known = results.filter((result) => this.pendingByKey.has(result.key));
    if (known.length === 0) return;
    await this.write(known.map(({ key, verdict }) => verdictBody(key, verdict)));
    for (const { key, verdict } of known) {
      this.untrack(key);
      this.settled.set(key, verdict);
    }
  }

  /**
   * The server has seen this device's journal reach `seq`, beyond what this journal holds (it was
   * restored from an older copy): number on from there, so the next lines are not mistaken for the
   * lost ones and the server is not told "behind" again. The link (<prev>) to the last line stays.
   */
  continueAfter(seq: number): void {
    this.skipTo = Math.max(this.skipTo, seq);
  }

  /** Where a key stands, and (while pending) when it is durable. */
  lookup(key: string): { state: KeyState; durable: Promise<void> } | undefined {
    const pending = this.pendingByKey.get(key);
    if (pending) return { state: 'pending', durable: pending.durable };
    const verdict = this.settled.get(key);
    return verdict ? { state: verdict, durable: Promise.resolve() } : undefined;
  }

  /** Units `account` recorded on this device for an operation and not yet settled with the server. */
  pendingUnits(operation: string, account: string): number {
    const own = this.pendingByAccount.get(account)?.byOperation.get(operation) ?? 0;
    return account === '' ? own : own + (this.pendingByAccount.get('')?.byOperation.get(operation) ?? 0);
  }

  /** Unsettled events and units of `account` (with the unowned ones): what a sign-out leaves waiting. */
  pendingOf(account: string): { events: number; units: number } {
    const own = this.pendingByAccount.get(account);
    const unowned = account === '' ? undefined : this.pendingByAccount.get('');
    return {
      events: (own?.events ?? 0) + (unowned?.events ?? 0),
      units: (own?.units ?? 0) + (unowned?.units ?? 0),
    };
  }

  /** The oldest durable unsettled events of `account`, in the order they happened: the next batch to send. */
  nextBatch(max: number, account: string): UsageEntry[] {
    const batch: UsageEntry[] = [];
    for (const { entry, isDurable } of this.pendingByKey.values()) {
      if (batch.length >= max) break;
      if (isDurable && (entry.account === account || entry.account === '')) batch.push(entry);
    }
    return batch;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flushing;
    await this.file.close();
    await this.head.close();
  }

  private track(entry: UsageEntry, durable: Promise<void>, isDurable: boolean) {
    const tracked = { entry, durable, isDurable };
    this.pendingByKey.set(entry.key, tracked);
    let totals = this.pendingByAccount.get(entry.account);
    if (!totals) {
      totals = { events: 0, units: 0, byOperation: new Map() };
      this.pendingByAccount.set(entry.account, totals);
    }
    totals.events += 1;
    totals.units += entry.units;
    totals.byOperation.set(entry.operation, (totals.byOperation.get(entry.operation) ?? 0) + entry.units);
    return tracked;
  }

  private untrack(key: string): void {
    const tracked = this.pendingByKey.get(key);
    if (!tracked) return;
    this.pendingByKey.delete(key);
    const { account, operation, units } = tracked.entry;
    const totals = this.pendingByAccount.get(account);
    if (!totals) return;
    totals.events -= 1;
    totals.units -= units;
    const left = (totals.byOperation.get(operation) ?? 0) - units;
    if (left > 0) totals.byOperation.set(operation, left);
    else totals.byOperation.delete(operation);
    if (totals.events === 0) this.pendingByAccount.delete(account);
  }

  /** Numbers and seals the lines now, so their order in the file is the order they were queued. */
  private write(bodies: string[]): Promise<void> {
    let text = '';
    for (const body of bodies) {
      const prev = this.lastSeq;
      this.lastSeq = Math.max(prev, this.skipTo) + 1;
      text += sealLine(this.head.key, body, prev, this.lastSeq);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ text, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /**
   * Group commit: everything queued while the previous fsync ran goes down in one write + fsync,
   * then the head record says where the journal now ends (fsync'd too) before anyone is answered:
   * an acknowledged line is always covered by the head, so cutting it off is always detected.
   */
  private async flush(): Promise<void> {
    // The head of one group is fsync'd while the next group's lines are: each head is written only
    // after its own lines are durable, and heads one after another (never two slots torn at once).
    let heads: Promise<void> = Promise.resolve();
    while (this.queue.length > 0) {
      // Let requests already on their way (answers just went out) join this group: one more
      // turn of the event loop costs microseconds, a second fsync costs milliseconds.
      await new Promise((resolve) => setImmediate(resolve));
      const group = this.queue;
      this.queue = [];
      const last = this.lastSeq;
      try {
        // One write of the whole group (synchronous: writeAllSync says why), one fdatasync.
        writeAllSync(this.file, Buffer.from(group.map((write) => write.text).join('')));
        await this.file.datasync();
      } catch (error) {
        for (const write of group) write.reject(error);
        continue;
      }
      heads = heads
        .then(() => this.head.write(last))
        .then(
          () => {
            this.durableSeq = Math.max(this.durableSeq, last);
            for (const write of group) write.resolve();
          },
          (error: unknown) => {
            for (const write of group) write.reject(error);
          },
        );
    }
    await heads;
    this.flushing = null;
    // Lines queued while the last head was written.
    if (this.queue.length > 0) this.flushing = this.flush();
  }
}
