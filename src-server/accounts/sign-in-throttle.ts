/**
 * Failed sign-ins per e-mail address, with delays that grow: the first FREE_FAILURES mistakes
 * cost nothing, then each further failure makes the address wait twice as long as the last
 * (1 s, 2 s, 4 s, … up to 15 minutes) before any password is checked again, the right one
 * included. Guessing one account's password from many IPs is thus as slow as from one; the
 * per-IP budget (rate-limit.ts) covers guessing many accounts from one client. A success clears
 * the address. Kept in this process's memory (bounded), on the server's clock.
 */

const FREE_FAILURES = 5;
const MAX_DELAY_MS = 15 * 60 * 1000;
const MAX_ADDRESSES = 100_000;

interface Failures {
  count: number;
  blockedUntil: number;
}

export class SignInThrottle {
  private readonly failures = new Map<string, Failures>();

  /** Milliseconds this address must still wait before a sign-in is tried (0: go ahead). */
  waitFor(email: string, now: number): number {
    const entry = this.failures.get(key(email));
    return entry ? Math.max(0, entry.blockedUntil - now) : 0;
  }

  failed(email: string, now: number): void {
    const address = key(email);
    const count = (this.failures.get(address)?.count ?? 0) + 1;
    const over = count - FREE_FAILURES;
    const delay = over > 0 ? Math.min(MAX_DELAY_MS, 1000 * 2 ** (over - 1)) : 0;
    // Re-inserting keeps the Map oldest-first, so the least recent address is dropped at the cap.
    this.failures.delete(address);
    this.failures.set(address, { count, blockedUntil: now + delay });
    if (this.failures.size > MAX_ADDRESSES) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  succeeded(email: string): void {
    this.failures.delete(key(email));
  }
}

function key(email: string): string {
  return email.trim().toLowerCase();
}
