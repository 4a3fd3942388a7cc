import { describe, expect, it } from 'vitest';
import { suggestTier, upsellCandidates, usageReport } from '../../../src-server/analytics/usage-report.ts';
import { defaultCatalog, type TierId } from '../../../src-shared/catalog.ts';

// Limits from the default catalog: free 5 AI / 2 data, professional 100 / 20, enterprise unlimited.
const tiers: Record<string, TierId> = {
  alice: 'professional',
  carol: 'professional',
  gina: 'free',
  erin: 'free',
  bob: 'enterprise',
};
const tierOf = (id: string): TierId => tiers[id] ?? 'free';
const usage = [
  { accountId: 'alice', operation: 'ai_operations', used: 85 },
  { accountId: 'alice', operation: 'data_processing', used: 20 },
  { accountId: 'gina', operation: 'ai_operations', used: 5 },
  { accountId: 'gina', operation: 'data_processing', used: 1 },
  { accountId: 'erin', operation: 'ai_operations', used: 4 },
  { accountId: 'bob', operation: 'ai_operations', used: 5000 },
  { accountId: 'carol', operation: 'ai_operations', used: 10 },
  { accountId: 'dave', operation: 'data_processing', used: 0 },
];

describe('usage per operation and tier', () => {
  const report = usageReport(defaultCatalog, '2026-03', usage, tierOf);
  const cell = (operation: string, tier: TierId) =>
    report.operations.find((row) => row.operation === operation)?.byTier.find((row) => row.tier === tier);

  it('totals use and counts accounts at 80 % and at 100 % of their tier’s limit', () => {
    expect(cell('ai_operations', 'professional')).toEqual({
      tier: 'professional',
      limit: 100,
      accounts: 2,
      used: 95,
      atLeast80: 1,
      atLimit: 0,
    });
    expect(cell('ai_operations', 'free')).toEqual({
      tier: 'free',
      limit: 5,
      accounts: 2,
      used: 9,
      atLeast80: 2,
      atLimit: 1,
    });
    expect(cell('data_processing', 'professional')).toMatchObject({ accounts: 1, used: 20, atLeast80: 1, atLimit: 1 });
    expect(cell('data_processing', 'free')).toMatchObject({ accounts: 1, used: 1, atLeast80: 0, atLimit: 0 });
  });

  it('never puts an unlimited tier near its limit', () => {
    expect(cell('ai_operations', 'enterprise')).toEqual({
      tier: 'enterprise',
      limit: -1,
      accounts: 1,
      used: 5000,
      atLeast80: 0,
      atLimit: 0,
    });
  });

  it('labels operations from the catalog and totals them across tiers', () => {
    expect(report.operations.map(({ operation, label, used }) => [operation, label, used])).toEqual([
      ['ai_operations', 'AI operations', 5104],
      ['data_processing', 'Data processing', 21],
    ]);
  });
});

describe('upsell candidates', () => {
  it('lists accounts at 80 % or more, fullest first, with the cheapest tier that fits', () => {
    const list = upsellCandidates(defaultCatalog, usage, tierOf);
    expect(
      list.map(({ accountId, operation, ratio, suggestedTier }) => [accountId, operation, ratio, suggestedTier]),
    ).toEqual([
      ['alice', 'data_processing', 1, 'enterprise'],
      ['gina', 'ai_operations', 1, 'professional'],
      ['alice', 'ai_operations', 0.85, 'enterprise'],
      ['erin', 'ai_operations', 0.8, 'professional'],
    ]);
    expect(list[1]).toEqual({
      accountId: 'gina',
      tier: 'free',
      operation: 'ai_operations',
      used: 5,
      limit: 5,
      ratio: 1,
      suggestedTier: 'professional',
    });
  });

  it('skips a tier whose limit would still be too small', () => {
    // 150 AI operations do not fit in professional's 100: enterprise is the cheapest that does.
    expect(suggestTier(defaultCatalog, 'free', 'ai_operations', 150)).toBe('enterprise');
    expect(suggestTier(defaultCatalog, 'enterprise', 'ai_operations', 150)).toBe('custom');
  });
});
