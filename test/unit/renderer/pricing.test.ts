import { describe, expect, it } from 'vitest';
import { pricingTable } from '../../../src-renderer/view/pricing.ts';
import { PLANS } from '../../support/companion-states.ts';

describe('pricing table', () => {
  it('shows monthly prices, setup fees and marks the current plan', () => {
    const table = pricingTable(PLANS, 'monthly', 'free');
    expect(table.columns.map((c) => [c.name, c.price, c.per, c.setupFee, c.action])).toEqual([
      ['Free', '$0', '/ month', 'No setup fee', 'current'],
      ['Professional', '$49', '/ month', 'No setup fee', 'checkout'],
      ['Enterprise', '$199', '/ month', '$500 one-time setup fee', 'checkout'],
      ['Custom', "Let's talk", '', 'Negotiated', 'contact_sales'],
    ]);
    expect(table.columns.map((c) => c.current)).toEqual([true, false, false, false]);
    expect(table.columns.every((c) => c.saving === null)).toBe(true);
  });

  it('shows yearly prices with the saving', () => {
    const table = pricingTable(PLANS, 'yearly', 'free');
    expect(table.columns.map((c) => [c.price, c.per, c.saving])).toEqual([
      ['$0', '/ year', null],
      ['$490', '/ year', 'Save $98 a year'],
      ['$1,990', '/ year', 'Save $398 a year'],
      ["Let's talk", '', null],
    ]);
    expect(table.bestYearlySaving).toBe('save up to 17 %');
  });

  it('puts limits side by side, unlimited in words', () => {
    const table = pricingTable(PLANS, 'monthly', null);
    expect(table.limitRows).toEqual([
      { label: 'AI operations per month', cells: ['5', '100', 'Unlimited', 'Unlimited'] },
      { label: 'Data processing per month', cells: ['2', '20', 'Unlimited', 'Unlimited'] },
      { label: 'API calls per hour', cells: ['10', '100', '1,000', '1,000'] },
      { label: 'Devices', cells: ['1', '3', 'Unlimited', 'Unlimited'] },
      { label: 'Largest project', cells: ['50 MB', '500 MB', 'Unlimited', 'Unlimited'] },
      { label: 'Support', cells: ['Community', 'Email', 'Priority', 'Dedicated'] },
    ]);
  });

  it('marks each feature for each plan; "every feature" covers all', () => {
    const rows = pricingTable(PLANS, 'monthly', null).featureRows;
    const row = (label: string) => rows.find((candidate) => candidate.label === label)?.included;
    expect(row('Basic processing')).toEqual([true, true, true, true]);
    expect(row('Export formats')).toEqual([false, true, true, true]);
    expect(row('SSO')).toEqual([false, false, true, true]);
  });

  it('sends downgrades to billing management and upgrades to checkout', () => {
    const table = pricingTable(PLANS, 'monthly', 'professional');
    expect(table.columns.map((c) => c.action)).toEqual(['manage', 'current', 'checkout', 'contact_sales']);
  });
});
