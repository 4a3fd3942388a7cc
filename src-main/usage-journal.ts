import { appendFile, type FileHandle, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The device's usage journal: every consumption is written here, and fsync'd, before the host app
 * hears "yes". It is an append-only file of tab-separated lines:
 *   C <key> <operation> <units> <at> <account>   a consumption, not yet answered by the server
 *     (<account> is the account that was signed in when it was recorded; it is only ever sent with
 *     that account's session. Lines written before accounts were recorded have no <account>: they
 *     go with whichever account syncs first, as they always did.)
 *   S <key> <a|d|r>                    the server's verdict: accepted, duplicate (counted before) or rejected
 * Concurrent writes are grouped: while one fsync runs, new lines queue and go down together in the
 * next write + fsync (group commit), so throughput grows with concurrency instead of paying one
 * file rewrite per event. A line cut short by a crash has no newline and is dropped at open.
 */

export interface UsageEntry {
  key: string;
  operation: string;
  units: number;
  /** When it happened on the device (UTC ms). */
  at: number;
  /** The account it is billed to; '' for entries recorded before the journal named accounts. */
  account: string;
}

/** What the server answered for one event of a usage batch. */
export type Verdict = 'accepted' | 'duplicate' | 'rejected';
export type KeyState = 'pending' | Verdict;

const VERDICT_CODES: Record<Verdict, string> = { accepted: 'a', duplicate: 'd', rejected: 'r' };
const VERDICT_BY_CODE: Record<string, Verdict> = { a: 'accepted', d: 'duplicate', r: 'rejected' };

interface QueuedWrite {
  text: string;
  resolve(): void;
  reject(error: unknown): void;
}

/** Settled history older than this many lines is dropped when the journal is compacted at open. */
const SETTLED_KEYS_KEPT = 200_000;

export class UsageJournal {
  private readonly pendingByKey = new Map<string, { entry: UsageEntry; durable: Promise<void>; isDurable: boolean }>();
  private readonly settled = new Map<string, Verdict>();
  /** Unsettled units by account, then operation. */
  private readonly pendingUnitsByAccount = new Map<string, Map<string, number>>();
  private queue: QueuedWrite[] = [];
  private flushing: Promise<void> | null = null;
  private closed = false;
  /** Lines found at open that could not be read as usage: moved to `usage-journal.damaged.tsv`, not sent. */
  damagedLines = 0;

  private constructor(
    private readonly file: FileHandle,
    readonly path: string,
  ) {}

  /** Opens (and compacts) the journal in `dir`. The caller holds the data folder's owner lock. */
  static async open(dir: string): Promise<UsageJournal> {
    const path = join(dir, 'usage-journal.tsv');
    const lines = await readJournal(path);
    const pending = new Map<string, UsageEntry>();
    const settled = new Map<string, Verdict>();
    const damaged: string[] = [];
    for (const line of lines) {
      const [kind, key = '', ...rest] = line.split('\t');
      const consumption = kind === 'C' ? parseConsumption(key, rest) : null;
      if (consumption) {
        if (!settled.has(key)) pending.set(key, consumption);
      } else if (kind === 'C') {
        damaged.push(line);
      } else if (kind === 'S' && rest.length === 1) {
        const verdict = VERDICT_BY_CODE[rest[0] ?? ''];
        if (verdict) {
          pending.delete(key);
          settled.set(key, verdict);
        } else damaged.push(line);
      } else if (line !== '') {
        damaged.push(line);
      }
    }
    // Lines that cannot be read as usage are never sent; they are kept aside (not silently
    // dropped) and reported by the caller.
    if (damaged.length > 0) {
      await appendFile(join(dir, DAMAGED_FILE), damaged.map((line) => `${line}\n`).join(''), { mode: 0o600 });
    }
    // Rewrite the journal with only what still matters, atomically (write, fsync, rename, fsync dir).
    const keptSettled = [...settled].slice(-SETTLED_KEYS_KEPT);
    const compacted =
      keptSettled.map(([key, verdict]) => `S\t${key}\t${VERDICT_CODES[verdict]}\n`).join('') +
      [...pending.values()].map(consumeLine).join('');
    const temporary = `${path}.tmp`;
    const scratch = await open(temporary, 'w', 0o600);
    await scratch.writeFile(compacted);
    await scratch.sync();
    await scratch.close();
    await rename(temporary, path);
    await syncDirectory(dir);

    const journal = new UsageJournal(await open(path, 'a', 0o600), path);
    for (const [key, verdict] of keptSettled) journal.settled.set(key, verdict);
    for (const entry of pending.values()) journal.track(entry, Promise.resolve(), true);
    journal.damagedLines = damaged.length;
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
    const durable = this.write(consumeLine(entry));
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
    await this.write(known.map(({ key, verdict }) => `S\t${key}\t${VERDICT_CODES[verdict]}\n`).join(''));
    for (const { key, verdict } of known) {
      this.untrack(key);
      this.settled.set(key, verdict);
    }
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
    const own = this.pendingUnitsByAccount.get(account)?.get(operation) ?? 0;
    return account === '' ? own : own + (this.pendingUnitsByAccount.get('')?.get(operation) ?? 0);
  }

  /** Unsettled events and units of `account` (with the unowned ones): what a sign-out leaves waiting. */
  pendingOf(account: string): { events: number; units: number } {
    let events = 0;
    let units = 0;
    for (const { entry } of this.pendingByKey.values()) {
      if (entry.account !== account && entry.account !== '') continue;
      events += 1;
      units += entry.units;
    }
    return { events, units };
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
  }

  private track(entry: UsageEntry, durable: Promise<void>, isDurable: boolean) {
    const tracked = { entry, durable, isDurable };
    this.pendingByKey.set(entry.key, tracked);
    const units = this.pendingUnitsByAccount.get(entry.account) ?? new Map<string, number>();
    this.pendingUnitsByAccount.set(entry.account, units);
    units.set(entry.operation, (units.get(entry.operation) ?? 0) + entry.units);
    return tracked;
  }

  private untrack(key: string): void {
    const tracked = this.pendingByKey.get(key);
    if (!tracked) return;
    this.pendingByKey.delete(key);
    const { account, operation } = tracked.entry;
    const units = this.pendingUnitsByAccount.get(account);
    const left = (units?.get(operation) ?? 0) - tracked.entry.units;
    if (left > 0) units?.set(operation, left);
    else units?.delete(operation);
  }

  private write(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ text, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /** Group commit: everything queued while the previous fsync ran goes down in one write + fsync. */
  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      // Let requests already on their way (answers just went out) join this group: one more
      // turn of the event loop costs microseconds, a second fsync costs milliseconds.
      await new Promise((resolve) => setImmediate(resolve));
      const group = this.queue;
      this.queue = [];
      try {
        await this.file.appendFile(group.map((write) => write.text).join(''));
        await this.file.datasync();
        for (const write of group) write.resolve();
      } catch (error) {
        for (const write of group) write.reject(error);
      }
    }
    this.flushing = null;
  }
}

const DAMAGED_FILE = 'usage-journal.damaged.tsv';
const KEY_PATTERN = /^[A-Za-z0-9_.:-]{8,128}$/;
const OPERATION_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
const ACCOUNT_PATTERN = /^[A-Za-z0-9_-]{0,128}$/;

/** A consumption line's fields, or null when they are not what this journal writes. */
function parseConsumption(key: string, fields: string[]): UsageEntry | null {
  if (fields.length !== 3 && fields.length !== 4) return null;
  const [operation = '', units = '', at = '', account = ''] = fields;
  if (!KEY_PATTERN.test(key) || !OPERATION_PATTERN.test(operation) || !ACCOUNT_PATTERN.test(account)) return null;
  if (!/^[1-9][0-9]{0,8}$/.test(units) || !/^[0-9]{1,16}$/.test(at)) return null;
  return { key, operation, units: Number(units), at: Number(at), account };
}

function consumeLine(entry: UsageEntry): string {
  const account = entry.account === '' ? '' : `\t${entry.account}`;
  return `C\t${entry.key}\t${entry.operation}\t${entry.units}\t${entry.at}${account}\n`;
}

async function readJournal(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const lines = text.split('\n');
  // The last piece has no newline: a write the crash cut short (or nothing). It was never acknowledged.
  lines.pop();
  return lines;
}

async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
