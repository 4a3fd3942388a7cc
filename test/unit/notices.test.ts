import { describe, expect, it } from 'vitest';
import { keptUsageNotice } from '../../src-shared/notices.ts';

describe('keptUsageNotice', () => {
  it('says how many usage records a sign-out keeps for the account, and nothing when none', () => {
    expect(keptUsageNotice(0)).toBeNull();
    expect(keptUsageNotice(1)).toBe(
      '1 usage record from this account is kept on this computer and will be sent when it signs in again.',
    );
    expect(keptUsageNotice(12)).toBe(
      '12 usage records from this account are kept on this computer and will be sent when it signs in again.',
    );
  });
});
