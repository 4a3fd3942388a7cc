import { describe, expect, it } from 'vitest';
import { nextAttemptAt } from '../../../src-server/outbox/worker.ts';

/** The outbox's retry schedule: exponential with jitter, and no retry three days after the event. */

const DAY = 24 * 3600_000;
const T0 = Date.UTC(2026, 0, 1);

describe('outbox retry backoff', () => {
  it('waits longer after each failure, between half and all of the doubling step', () => {
    let previousLow = 0;
    for (let attempts = 1; attempts <= 8; attempts += 1) {
      const low = nextAttemptAt(T0, attempts, T0, () => 0) as number;
      const high = nextAttemptAt(T0, attempts, T0, () => 1) as number;
      const step = 30_000 * 2 ** (attempts - 1);
      expect(low - T0).toBe(step / 2);
      expect(high - T0).toBe(step);
      expect(low).toBeGreaterThan(previousLow);
      previousLow = low;
    }
  });

  it('never waits more than six hours, and spreads retries by the jitter', () => {
    expect((nextAttemptAt(T0, 40, T0, () => 1) as number) - T0).toBe(6 * 3600_000);
    const spread = new Set([0, 0.25, 0.5, 0.75].map((r) => nextAttemptAt(T0, 5, T0, () => r)));
    expect(spread.size).toBe(4);
  });

  it('gives up three days after the event, whatever the attempt count', () => {
    expect(nextAttemptAt(T0, 3, T0 + 2 * DAY, () => 0)).not.toBeNull();
    expect(nextAttemptAt(T0, 3, T0 + 3 * DAY, () => 0)).toBeNull();
    expect(nextAttemptAt(T0, 30, T0 + 2.9 * DAY, () => 1)).toBeNull();
  });
});
