import { describe, expect, it } from 'vitest';
import {
  formatCount,
  formatDate,
  formatDateTime,
  formatLimit,
  formatMoney,
  formatRelative,
} from '../../src-shared/format.ts';

// One way to write money, counts and limits, for the companion's window and the vendor's dashboard.
describe('money', () => {
  it('shows whole amounts without cents and other amounts with two decimals', () => {
    expect(formatMoney(4900, 'usd')).toBe('$49');
    expect(formatMoney(199000, 'usd')).toBe('$1,990');
    expect(formatMoney(4950, 'usd')).toBe('$49.50');
    expect(formatMoney(36183, 'usd')).toBe('$361.83');
    expect(formatMoney(0, 'usd')).toBe('$0');
  });

  it('writes losses with a minus sign', () => {
    expect(formatMoney(-4900, 'usd')).toBe('-$49');
    expect(formatMoney(-15050, 'usd')).toBe('-$150.50');
  });

  it('uses the catalog currency', () => {
    expect(formatMoney(4900, 'eur')).toBe('€49');
    expect(formatMoney(4900, 'EUR')).toBe('€49');
  });
});

describe('counts and limits', () => {
  it('separates thousands', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1234)).toBe('1,234');
    expect(formatCount(10_000_000)).toBe('10,000,000');
  });

  it('says "Unlimited" for -1 and the count with its unit otherwise', () => {
    expect(formatLimit(-1)).toBe('Unlimited');
    expect(formatLimit(-1, ' MB')).toBe('Unlimited');
    expect(formatLimit(0)).toBe('0');
    expect(formatLimit(1000)).toBe('1,000');
    expect(formatLimit(500, ' MB')).toBe('500 MB');
  });
});

describe('dates', () => {
  it('reads as day, short month and year in the given zone', () => {
    expect(formatDate('2026-12-01T00:00:00.000Z', 'UTC')).toBe('1 Dec 2026');
    expect(formatDate(Date.parse('2026-12-01T00:00:00.000Z'), 'America/New_York')).toBe('30 Nov 2026');
    expect(formatDateTime(Date.parse('2026-11-26T14:05:00Z'), 'UTC')).toBe('26 Nov 2026, 14:05');
  });

  it('says how far away a moment is in the largest whole unit', () => {
    const now = Date.parse('2026-11-26T12:00:00Z');
    expect(formatRelative(now + 6.5 * 86_400_000, now)).toBe('in 6 days');
    expect(formatRelative(now - 2 * 3_600_000, now)).toBe('2 hours ago');
    expect(formatRelative(now - 5 * 60_000, now)).toBe('5 minutes ago');
    expect(formatRelative(now + 10_000, now)).toBe('just now');
  });
});
