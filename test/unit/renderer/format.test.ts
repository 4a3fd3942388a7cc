import { describe, expect, it } from 'vitest';
import {
  formatDate,
  formatDateTime,
  formatMoney,
  formatRelative,
  formatWindow,
  humanize,
} from '../../../src-renderer/view/format.ts';

describe('money', () => {
  it('shows whole amounts without cents and other amounts with two decimals', () => {
    expect(formatMoney(4900, 'usd')).toBe('$49');
    expect(formatMoney(199000, 'usd')).toBe('$1,990');
    expect(formatMoney(4950, 'usd')).toBe('$49.50');
    expect(formatMoney(0, 'usd')).toBe('$0');
  });

  it('uses the catalog currency', () => {
    expect(formatMoney(4900, 'eur')).toBe('€49');
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

describe('words', () => {
  it('turns catalog identifiers into words, spelling acronyms in capitals', () => {
    expect(humanize('export_formats')).toBe('Export formats');
    expect(humanize('ai_operations')).toBe('AI operations');
    expect(humanize('sso')).toBe('SSO');
    expect(humanize('dedicated_support')).toBe('Dedicated support');
  });

  it('names the API-call window', () => {
    expect(formatWindow(3600)).toBe('hour');
    expect(formatWindow(86_400)).toBe('24 hours');
    expect(formatWindow(60)).toBe('minute');
    expect(formatWindow(900)).toBe('15 minutes');
  });
});
