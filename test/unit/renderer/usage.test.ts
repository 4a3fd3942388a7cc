import { describe, expect, it } from 'vitest';
import { apiCallsBar, apiCallsReset, usageBar, usageBars } from '../../../src-renderer/view/usage.ts';
import { signedIn } from '../../support/companion-states.ts';

const bar = (serverUsed: number, limit: number, pending = 0) =>
  usageBar('ai_operations', { label: 'AI operations', serverUsed, pending, limit });

describe('usage bars', () => {
  it('is calm below 80 %', () => {
    expect(bar(0, 5)).toMatchObject({ state: 'calm', percent: 0, summary: '0 of 5 used', limit: 5 });
    expect(bar(79, 100)).toMatchObject({ state: 'calm', percent: 79 });
  });

  it('warns from 80 % and is full only at the limit', () => {
    expect(bar(4, 5)).toMatchObject({ state: 'warning', percent: 80, summary: '4 of 5 used' });
    expect(bar(99, 100)).toMatchObject({ state: 'warning', percent: 99 });
    expect(bar(5, 5)).toMatchObject({ state: 'full', percent: 100 });
  });

  it('never shows 100 % before the limit is reached (percent rounds down)', () => {
    expect(bar(999, 1000)).toMatchObject({ state: 'warning', percent: 99 });
  });

  it('caps the bar at 100 % when usage went past the limit', () => {
    expect(bar(7, 5)).toMatchObject({ state: 'full', percent: 100, summary: '7 of 5 used' });
  });

  it('treats a limit of zero as full', () => {
    expect(bar(0, 0)).toMatchObject({ state: 'full', percent: 100 });
  });

  it('shows "Unlimited" for -1, without a percentage', () => {
    expect(bar(1234, -1)).toMatchObject({ state: 'unlimited', limit: null, summary: '1,234 used · Unlimited' });
  });

  it('counts pending local usage in the bar and says it is waiting to sync', () => {
    const pending = bar(2, 5, 2);
    expect(pending).toMatchObject({ used: 4, pending: 2, state: 'warning' });
    expect(pending.pendingNote).toBe('2 recorded on this device, waiting to sync');
    expect(bar(2, 5).pendingNote).toBeNull();
  });

  it('lists one bar per metered operation', () => {
    const bars = usageBars(signedIn('free', { ai_operations: 4 }).usage);
    expect(bars.map((b) => [b.label, b.state])).toEqual([
      ['AI operations', 'warning'],
      ['Data processing', 'calm'],
    ]);
  });
});

describe('the API calls bar', () => {
  const apiCalls = (used: number | null, limit: number, resetsAt: string | null = null) => ({
    limit,
    windowSeconds: 3600,
    used,
    resetsAt,
  });

  it('shows calls this hour with the same calm, warning and full states', () => {
    expect(apiCallsBar(apiCalls(3, 10))).toMatchObject({
      label: 'API calls this hour',
      state: 'calm',
      summary: '3 of 10 used',
      limit: 10,
    });
    expect(apiCallsBar(apiCalls(8, 10))).toMatchObject({ state: 'warning', percent: 80 });
    expect(apiCallsBar(apiCalls(10, 10))).toMatchObject({ state: 'full', percent: 100 });
  });

  it('shows no bar when the server does not report a count, or does not count (unlimited)', () => {
    expect(apiCallsBar(apiCalls(null, 10))).toBeNull();
    expect(apiCallsBar(apiCalls(0, -1))).toBeNull();
  });

  it('says when the hourly window resets, while it is open', () => {
    const now = Date.parse('2026-11-26T12:00:00Z');
    expect(apiCallsReset(apiCalls(3, 10, '2026-11-26T12:23:00Z'), now)).toBe('Resets in 23 minutes');
    expect(apiCallsReset(apiCalls(3, 10, '2026-11-26T11:59:00Z'), now)).toBeNull();
    expect(apiCallsReset(apiCalls(0, 10), now)).toBeNull();
    expect(apiCallsReset(apiCalls(3, -1, '2026-11-26T12:23:00Z'), now)).toBeNull();
  });
});
