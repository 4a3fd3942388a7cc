import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SecretCipher } from './secrets.ts';
import type { SettingsStore } from './settings-store.ts';

/**
 * Time only moves forward: a high-water mark of the latest time this companion has seen (its own
 * clock, each time the billing server states), kept in the settings store with an HMAC whose key is
 * sealed by the secret cipher (safeStorage, the OS keychain, where there is one). A clock behind the
 * mark beyond CLOCK_DRIFT_MS is turned back; a missing or forged record means the mark is unknown,
 * and the offline grace is not honoured until the server confirms the time. Without a keychain
 * the key lies beside the record (the state reports `tokenStorage: 'plaintext'`): editing then
 * needs recomputing the HMAC, which docs/security.md lists among the limits.
 *
 * Only a time the server signed for this very request may move the mark back or make it known
 * (`confirm`: the `iat` of a verified license carrying the nonce the companion just sent). Any other
 * time — an unsigned `serverTime`, /v1/me's, a replayable license — can only raise a known mark
 * (`raise`): whoever answers in the server's place (a local fake server, the network) can then at
 * worst make the companion refuse until the real server answers, never bring a grace back.
 */

/** How far this clock may run behind the mark before it counts as turned back. */
export const CLOCK_DRIFT_MS = 5 * 60_000;
/** Our own clock's advance is written at most this often (far inside the drift tolerance). */
const PERSIST_EVERY_MS = 60_000;

const RECORD_KEY = 'time.highWater';
const MAC_KEY = 'time.macKey';

export type TimeProblem = 'behind' | 'unconfirmed';

export class TrustedClock {
  private readonly macKey: Buffer;
  /** null: no record we can trust, until the server states the time. */
  private mark: number | null = null;
  private persisted = 0;

  constructor(
    private readonly store: SettingsStore,
    cipher: SecretCipher,
  ) {
    this.macKey = openKey(store, cipher) ?? newKey(store, cipher);
    const record = store.get(RECORD_KEY) as { at?: unknown; mac?: unknown } | undefined;
    if (
      record &&
      typeof record.at === 'number' &&
      typeof record.mac === 'string' &&
      this.verifies(record.at, record.mac)
    ) {
      this.mark = record.at;
      this.persisted = record.at;
    }
  }

  /** The latest trusted time seen, or null when unconfirmed. */
  get highWater(): number | null {
    return this.mark;
  }

  /** Our own clock read `now`: the mark only ever moves forward with it. */
  observe(now: number): void {
    if (this.mark === null || now <= this.mark) return;
    this.mark = now;
    if (now - this.persisted >= PERSIST_EVERY_MS) this.save();
  }

  /**
   * A time the server signed for the request just made (a verified license carrying the nonce the
   * companion sent): it is the authority, so the mark becomes its time — a clock that ran ahead and
   * came back is forgiven here, and a missing record is known again.
   */
  confirm(serverTime: number, now: number): void {
    if (!Number.isFinite(serverTime)) return;
    this.mark = serverTime;
    this.save();
    this.observe(now);
  }

  /**
   * A time nothing ties to this moment (an unsigned `serverTime`, replayable by anyone answering in
   * the server's place): it may only raise a mark already known — never lower it, never confirm it.
   */
  raise(serverTime: number): void {
    if (this.mark === null || !Number.isFinite(serverTime) || serverTime <= this.mark) return;
    this.mark = serverTime;
    this.save();
  }

  problemAt(now: number): TimeProblem | null {
    if (this.mark === null) return 'unconfirmed';
    return now < this.mark - CLOCK_DRIFT_MS ? 'behind' : null;
  }

  private save(): void {
    if (this.mark === null) return;
    this.store.set(RECORD_KEY, { at: this.mark, mac: this.macOf(this.mark) });
    this.persisted = this.mark;
  }

  private macOf(at: number): string {
    return createHmac('sha256', this.macKey).update(`tollgate-time-high-water:${at}`).digest('base64url');
  }

  private verifies(at: number, mac: string): boolean {
    const expected = Buffer.from(this.macOf(at));
    const given = Buffer.from(mac);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}

function openKey(store: SettingsStore, cipher: SecretCipher): Buffer | null {
  const stored = store.get(MAC_KEY) as { scheme?: unknown; data?: unknown } | undefined;
  if (!stored || stored.scheme !== cipher.scheme || typeof stored.data !== 'string') return null;
  try {
    const key = Buffer.from(cipher.open(stored.data), 'base64');
    return key.length === 32 ? key : null;
  } catch {
    return null;
  }
}

/** A new key invalidates any record made with the old one: the mark is unconfirmed until the server answers. */
function newKey(store: SettingsStore, cipher: SecretCipher): Buffer {
  const key = randomBytes(32);
  store.set(MAC_KEY, { scheme: cipher.scheme, data: cipher.seal(key.toString('base64')) });
  store.delete(RECORD_KEY);
  return key;
}
