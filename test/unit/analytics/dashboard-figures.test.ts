import { describe, expect, it } from 'vitest';
import { formatAmount, formatRate } from '../../../src-dashboard/format.ts';

describe('dashboard figures', () => {
  it('write money the way the companion does, and a dash where the API has no figure', () => {
    expect(formatAmount(4900, 'usd')).toBe('$49');
    expect(formatAmount(36183, 'usd')).toBe('$361.83');
    expect(formatAmount(null, 'usd')).toBe('—');
  });

  it('write rates as percentages with one decimal', () => {
    expect(formatRate(0.05)).toBe('5.0 %');
    expect(formatRate(0.1234)).toBe('12.3 %');
    expect(formatRate(null)).toBe('—');
  });
});
