import { createHmac, timingSafeEqual } from 'node:crypto';
import { writeSync } from 'node:fs';
import { type FileHandle, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecretCipher } from './secrets.ts';

/**
 * The usage journal's records (usage-journal.ts says what the journal is): the entry types, how a
 * line is written, sealed with its <prev>, <seq> and MAC and checked again, how a whole journal is
 * verified against its head record, and the head record itself (two MAC'd slots rewritten in turn).
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
export const VERDICT_BY_CODE: Record<string, Verdict> = { a: 'accepted', d: 'duplicate', r: 'rejected' };

const KEY_PATTERN = /^[A-Za-z0-9_.:-]{8,128}$/;
const OPERATION_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
const ACCOUNT_PATTERN = /^[A-Za-z0-9_-]{0,128}$/;
const SEQ_PATTERN = /^[0-9]{1,15}$/;

/** A consumption line's fields, or null when they are not what this journal writes. */
export function parseConsumption(key: string, fields: string[]): UsageEntry | null {
  if (fields.length !== 4) return null;
  const [operation = '', units = '', at = '', account = ''] = fields;
  if (!KEY_PATTERN.test(key) || !OPERATION_PATTERN.test(operation) || !ACCOUNT_PATTERN.test(account)) return null;
  if (!/^[1-9][0-9]{0,8}$/.test(units) || !/^[0-9]{1,16}$/.test(at)) return null;
  return { key, operation, units: Number(units), at: Number(at), account };
}

/** Whether a verified body is one this journal writes (a MAC'd line is, unless the key leaked). */
function wellFormed(body: string): boolean {
  const [kind, key = '', ...rest] = body.split('\t');
  if (kind === 'C') return parseConsumption(key, rest) !== null;
  if (kind === 'S') return rest.length === 1 && VERDICT_BY_CODE[rest[0] ?? ''] !== undefined;
  return body === OPENED;
}

/** The first line of every compacted journal: it links the new file to the head it replaces. */
export const OPENED = 'O';

export function consumeBody(entry: UsageEntry): string {
  return `C\t${entry.key}\t${entry.operation}\t${entry.units}\t${entry.at}\t${entry.account}`;
}

export function verdictBody(key: string, verdict: Verdict): string {
  return `S\t${key}\t${VERDICT_CODES[verdict]}`;
}

function lineMac(key: Buffer, unsealed: string): string {
  return createHmac('sha256', key).update(`tollgate-usage-journal:${unsealed}`).digest('base64url');
}

export function sealLine(key: Buffer, body: string, prev: number, seq: number): string {
  const unsealed = `${body}\t${prev}\t${seq}`;
  return `${unsealed}\t${lineMac(key, unsealed)}\n`;
}

function sameMac(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A line's body and place when its MAC verifies under `key`; null otherwise. */
function openLine(key: Buffer, line: string): { body: string; prev: number; seq: number } | null {
  const cut = line.lastIndexOf('\t');
  if (cut < 0) return null;
  const unsealed = line.slice(0, cut);
  if (!sameMac(lineMac(key, unsealed), line.slice(cut + 1))) return null;
  const fields = unsealed.split('\t');
  const [prev = '', seq = ''] = fields.slice(-2);
  if (!SEQ_PATTERN.test(prev) || !SEQ_PATTERN.test(seq)) return null;
  return { body: fields.slice(0, -2).join('\t'), prev: Number(prev), seq: Number(seq) };
}

/** The units a consumption line claims (for reporting what was not sent), 0 when it claims none. */
function claimedUnits(line: string): number {
  const [kind, , , units = ''] = line.split('\t');
  return kind === 'C' && /^[0-9]{1,9}$/.test(units) ? Number(units) : 0;
}

interface Verified {
  /** Bodies of the lines that verify and link up, in file order. */
  lines: string[];
  damaged: string[];
  damagedUnits: number;
  /** Records the head (or the links) say were written and are not in the file. */
  missing: number;
  /** The highest <seq> the file or head mentions: numbering continues after it. */
  highestSeq: number;
}

/** Checks every line's MAC and link against the head (pure: the file's lines in, the verdict out). */
export function verifyJournal(lines: string[], head: HeadRecord | null): Verified {
  const result: Verified = { lines: [], damaged: [], damagedUnits: 0, missing: 0, highestSeq: head?.last ?? 0 };
  const reject = (line: string) => {
    result.damaged.push(line);
    result.damagedUnits += claimedUnits(line);
  };
  let linked = head?.base ?? 0;
  let firstVerified = true;
  let unverifiedSinceLink = 0;
  for (const line of lines) {
    if (line === '') continue;
    const seqField = line.split('\t').at(-2) ?? '';
    if (SEQ_PATTERN.test(seqField)) result.highestSeq = Math.max(result.highestSeq, Number(seqField));
    const opened = head ? openLine(head.key, line) : null;
    if (!opened || !wellFormed(opened.body)) {
      reject(line);
      unverifiedSinceLink += 1;
      continue;
    }
    // A compaction that finished without its new head: the file starts right after the old head's end.
    if (firstVerified && head && opened.prev === head.last) linked = head.last;
    firstVerified = false;
    if (opened.prev < linked) {
      // A genuine line out of its place (copied again, or from an older copy of the journal).
      reject(line);
      continue;
    }
    result.missing += Math.max(0, opened.prev - linked - unverifiedSinceLink);
    linked = opened.seq;
    unverifiedSinceLink = 0;
    result.lines.push(opened.body);
  }
  if (head) result.missing += Math.max(0, head.last - linked - unverifiedSinceLink);
  return result;
}

export async function readJournal(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const lines = text.split('\n');
  // The last piece has no newline: a write the crash cut short (or nothing). It was never
  // acknowledged (the head is written after the fsync), so the head does not count it either.
  lines.pop();
  return lines;
}

// ── The head record ───────────────────────────────────────────────────────────────────────────

interface HeadRecord {
  key: Buffer;
  /** The <prev> of the file's first line. */
  base: number;
  /** The <seq> of the last line acknowledged. */
  last: number;
}

/** Two fixed-size slots written alternately in place: a torn write spoils one, the other still holds. */
const SLOT_BYTES = 512;

function headMac(key: Buffer, base: number, last: number): string {
  return createHmac('sha256', key).update(`tollgate-usage-journal-head:${base}:${last}`).digest('base64url');
}

/** The newest slot that verifies, or null when there is no head (or none we can trust). */
export async function readHead(path: string, cipher: SecretCipher): Promise<HeadRecord | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let newest: HeadRecord | null = null;
  for (let offset = 0; offset < bytes.length; offset += SLOT_BYTES) {
    const record = slotRecord(bytes.subarray(offset, offset + SLOT_BYTES).toString('utf8'), cipher);
    if (record && (!newest || record.last > newest.last)) newest = record;
  }
  return newest;
}

function slotRecord(text: string, cipher: SecretCipher): HeadRecord | null {
  try {
    const slot = JSON.parse(text) as { scheme?: unknown; key?: unknown; base?: unknown; last?: unknown; mac?: unknown };
    const { scheme, base, last, mac } = slot;
    if (scheme !== cipher.scheme || typeof slot.key !== 'string' || typeof mac !== 'string') return null;
    if (!Number.isSafeInteger(base) || !Number.isSafeInteger(last)) return null;
    const key = Buffer.from(cipher.open(slot.key), 'base64');
    if (key.length !== 32 || !sameMac(headMac(key, base as number, last as number), mac)) return null;
    return { key, base: base as number, last: last as number };
  } catch {
    return null;
  }
}

export class JournalHead {
  private writes = 0;

  private constructor(
    private readonly file: FileHandle,
    readonly key: Buffer,
    private readonly sealedKey: string,
    private readonly scheme: SecretCipher['scheme'],
    private readonly base: number,
    /** The <seq> the head says the journal ends at. */
    readonly last: number,
  ) {}

  /** Replaces the head atomically (both slots), then keeps it open for in-place updates. */
  static async create(path: string, key: Buffer, cipher: SecretCipher, base: number, last: number) {
    const sealedKey = cipher.seal(key.toString('base64'));
    const slot = slotBytes(key, sealedKey, cipher.scheme, base, last);
    const temporary = `${path}.tmp`;
    const scratch = await open(temporary, 'w', 0o600);
    await scratch.writeFile(Buffer.concat([slot, slot]));
    await scratch.sync();
    await scratch.close();
    await rename(temporary, path);
    await syncDirectory(join(path, '..'));
    return new JournalHead(await open(path, 'r+'), key, sealedKey, cipher.scheme, base, last);
  }

  async write(last: number): Promise<void> {
    this.writes += 1;
    const slot = slotBytes(this.key, this.sealedKey, this.scheme, this.base, last);
    writeAllSync(this.file, slot, (this.writes % 2) * SLOT_BYTES);
    await this.file.datasync();
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

function slotBytes(key: Buffer, sealedKey: string, scheme: string, base: number, last: number): Buffer {
  const text = JSON.stringify({ scheme, key: sealedKey, base, last, mac: headMac(key, base, last) });
  if (text.length >= SLOT_BYTES) throw new Error('The usage journal head record does not fit its slot.');
  return Buffer.from(`${text.padEnd(SLOT_BYTES - 1)}\n`);
}

/**
 * Writes all of `bytes` into the page cache now: at `position`, or at the end of a file opened for
 * appending. A page-cache write takes microseconds; only the fdatasync after it waits on the disk,
 * and handing the write to the thread pool as well would add a trip through another thread (two
 * context switches) to every group commit.
 */
export function writeAllSync(file: FileHandle, bytes: Buffer, position?: number): void {
  for (let written = 0; written < bytes.length; ) {
    const at = position === undefined ? null : position + written;
    written += writeSync(file.fd, bytes, written, bytes.length - written, at);
  }
}

export async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
