import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accountLtvs, monthSummary, tierAt } from '../../../src-server/analytics/metrics.ts';
import {
  buildTimeline,
  classifyMovement,
  monthsEndingAt,
  mrrAt,
  mrrMonth,
} from '../../../src-server/analytics/mrr-movements.ts';
import { revenueByMonth } from '../../../src-server/analytics/revenue.ts';
import { TIER_IDS } from '../../../src-shared/catalog.ts';
import { asMonthGroup, createdAt, day, events, graceEvents, invoices, MONTHS } from './fixtures.ts';

const timeline = buildTimeline(events, MONTHS);
const revenue = revenueByMonth(invoices.map(asMonthGroup), MONTHS, 'usd');
const accountsBy = (index: number) =>
  Object.values(createdAt).filter((at) => at < timeline.boundaries[index + 1]!).length;
const summary = (index: number) => monthSummary(timeline, index, accountsBy(index), revenue[index]!, 'usd');

describe('MRR', () => {
  it('counts a yearly plan at price / 12, never the setup fee, and past-due accounts until they leave', () => {
    expect(MONTHS.map((_, index) => mrrMonth(timeline, index).mrrCents)).toEqual([36183, 46283, 36183, 36183]);
    expect(mrrAt(timeline, 0).mrrCents).toBe(14700);
    // bob's 1,990 $ yearly plan adds 165.83 $ a month, not 199 $ and not the 500 $ setup fee.
    expect(timeline.accounts.get('bob')?.mrr).toEqual([0, 16583, 16583, 16583, 16583]);
  });

  it('ARR is twelve times MRR', () => {
    expect(mrrMonth(timeline, 1).arrCents).toBe(46283 * 12);
  });

  it('splits each month into new, expansion, contraction, churned and reactivation', () => {
    expect(mrrMonth(timeline, 0).movements).toEqual({
      newCents: 4900 + 16583,
      expansionCents: 0,
      contractionCents: 0,
      churnedCents: 0,
      reactivationCents: 0,
      netNewCents: 21483,
      newAccounts: 2,
      expansionAccounts: 0,
      contractionAccounts: 0,
      churnedAccounts: 0,
      reactivationAccounts: 0,
    });
    // February: alice's mid-month upgrade, carol's cancel; dave's past due then recovery is no movement.
    expect(mrrMonth(timeline, 1).movements).toMatchObject({
      expansionCents: 15000,
      expansionAccounts: 1,
      churnedCents: 4900,
      churnedAccounts: 1,
      netNewCents: 10100,
      newAccounts: 0,
    });
    // March: alice's mid-month downgrade, carol comes back; frank's cancel and return inside the month is nothing.
    expect(mrrMonth(timeline, 2).movements).toMatchObject({
      contractionCents: 15000,
      contractionAccounts: 1,
      reactivationCents: 4900,
      reactivationAccounts: 1,
      churnedAccounts: 0,
      newAccounts: 0,
      netNewCents: -10100,
    });
    expect(mrrMonth(timeline, 3).movements.netNewCents).toBe(0);
  });

  it('gives month-over-month growth, and none when last month had no MRR', () => {
    expect(MONTHS.map((_, index) => mrrMonth(timeline, index).growthRate)).toEqual([
      21483 / 14700,
      10100 / 36183,
      -10100 / 46283,
      0,
    ]);
    expect(mrrMonth(buildTimeline(events, ['2025-12']), 0).growthRate).toBeNull();
  });

  it('classifies a return from zero as reactivation only for an account that paid before', () => {
    expect(classifyMovement(0, 4900, false)).toBe('new');
    expect(classifyMovement(0, 4900, true)).toBe('reactivation');
    expect(classifyMovement(4900, 0, true)).toBe('churned');
    expect(classifyMovement(4900, 19900, true)).toBe('expansion');
    expect(classifyMovement(19900, 4900, true)).toBe('contraction');
    expect(classifyMovement(4900, 4900, true)).toBeNull();
  });

  it('lists the months of a series oldest first, across a year end', () => {
    expect(monthsEndingAt('2026-02', 4)).toEqual(['2025-11', '2025-12', '2026-01', '2026-02']);
  });

  it('net new MRR always equals the change in MRR, whatever the events', () => {
    const eventArbitrary = fc.record({
      accountId: fc.constantFrom('a', 'b', 'c', 'd'),
      at: fc.integer({ min: Date.UTC(2025, 10, 1), max: Date.UTC(2026, 4, 1) }),
      toTier: fc.constantFrom(...TIER_IDS, null),
      mrrAfterCents: fc.constantFrom(0, 0, 4083, 4900, 16583, 19900),
      // A past-due grace that ends, or not, at any moment.
      mrrEndsAt: fc.option(fc.integer({ min: Date.UTC(2025, 10, 1), max: Date.UTC(2026, 5, 1) }), { nil: null }),
    });
    fc.assert(
      fc.property(fc.array(eventArbitrary, { maxLength: 40 }), (random) => {
        const series = buildTimeline(random, MONTHS);
        MONTHS.forEach((_, index) => {
          const month = mrrMonth(series, index);
          expect(month.movements.netNewCents).toBe(month.mrrCents - mrrAt(series, index).mrrCents);
        });
      }),
    );
  });
});

describe('past due', () => {
  const grace = buildTimeline(graceEvents, MONTHS);
  const movements = (index: number) => mrrMonth(grace, index).movements;

  it('churns when the grace ends, not when the provider finally cancels', () => {
    expect(MONTHS.map((_, index) => mrrMonth(grace, index).mrrCents)).toEqual([14700, 4900, 9800, 9800]);
    expect(movements(1)).toMatchObject({ churnedCents: 9800, churnedAccounts: 2, netNewCents: -9800 });
    expect(grace.accounts.get('hana')?.mrr).toEqual([0, 4900, 0, 0, 0]);
  });

  it('a payment after the grace is a reactivation then; one inside it is no movement', () => {
    expect(movements(2)).toMatchObject({
      reactivationCents: 4900,
      reactivationAccounts: 1,
      churnedCents: 0,
      netNewCents: 4900,
    });
    expect(grace.accounts.get('jo')?.mrr).toEqual([0, 4900, 4900, 4900, 4900]);
  });
});

describe('subscribers, conversion, churn, ARPU and LTV', () => {
  it('counts paying accounts by tier and everyone else as free', () => {
    expect(summary(0)).toMatchObject({
      subscribersByTier: { professional: 4, enterprise: 1 },
      accounts: 6,
      freeAccounts: 1,
    });
    expect(summary(1)).toMatchObject({
      subscribersByTier: { professional: 2, enterprise: 2 },
      accounts: 7,
      freeAccounts: 3,
    });
  });

  it('converts free to paid only on a first payment, out of the accounts that had never paid', () => {
    // January: alice and bob pay for the first time; gina stays free. carol, dave, frank had paid already.
    expect(summary(0).conversion).toEqual({ converted: 2, eligible: 3, rate: 2 / 3 });
    // March: carol's return is a reactivation, not a conversion.
    expect(summary(2).conversion).toEqual({ converted: 0, eligible: 2, rate: 0 });
  });

  it('measures logo churn on subscribers and revenue churn on MRR at the start of the month', () => {
    expect(summary(1)).toMatchObject({
      logoChurnRate: 1 / 5,
      revenueChurnRate: 4900 / 36183,
      netRevenueChurnRate: (4900 - 15000) / 36183,
    });
    expect(summary(2)).toMatchObject({
      logoChurnRate: 0,
      revenueChurnRate: 15000 / 46283,
      netRevenueChurnRate: 15000 / 46283,
    });
  });

  it('ARPU is MRR per subscriber and LTV is ARPU over revenue churn', () => {
    expect(summary(1).arpuCents).toBe(11571); // 46283 / 4
    expect(summary(1).ltvCents).toBe(85444); // 11571 / (4900 / 36183)
    // January lost nothing: no finite LTV estimate rather than a division by zero.
    expect(summary(0)).toMatchObject({ arpuCents: 7237, revenueChurnRate: 0, ltvCents: null });
  });

  it('reports each account’s actual paid total beside its tier and MRR at the month’s end', () => {
    // Up to the end of March, as the database sums them per account (refunds and setup fees kept apart).
    const sums = (accountId: string, invoiceCount: number, paid: number, extra = {}) => ({
      accountId,
      currency: 'usd',
      invoices: invoiceCount,
      amountPaidCents: paid,
      setupFeeCents: 0,
      amountRefundedCents: 0,
      firstPaidAt: day('2026-01-05'),
      ...extra,
    });
    const paid = [
      sums('dave', 3, 14700, { amountRefundedCents: 4900, firstPaidAt: day('2026-01-15') }),
      sums('alice', 4, 38700),
      sums('bob', 1, 249000, { setupFeeCents: 50000 }),
      sums('carol', 2, 9800),
      sums('frank', 3, 14700),
      sums('alice', 1, 4500, { currency: 'eur' }),
    ];
    const list = accountLtvs(timeline, 2, paid, 'usd', (id) => `${id}@example.com`);
    expect(list.map(({ accountId, totalPaidCents }) => [accountId, totalPaidCents])).toEqual([
      ['bob', 249000],
      ['alice', 38700],
      ['frank', 14700],
      ['carol', 9800],
      ['dave', 9800],
    ]);
    expect(list.find((row) => row.accountId === 'dave')).toEqual({
      accountId: 'dave',
      email: 'dave@example.com',
      tier: 'professional',
      mrrCents: 4900,
      firstPaidAt: '2026-01-15T12:00:00.000Z',
      invoices: 3,
      totalPaidCents: 9800,
      setupFeeCents: 0,
      refundedCents: 4900,
    });
    expect(list[0]).toMatchObject({ setupFeeCents: 50000, mrrCents: 16583, tier: 'enterprise' });
    // alice was back on professional at the end of March.
    expect(list[1]).toMatchObject({ tier: 'professional', mrrCents: 4900 });
  });

  it('matches every column of the worked example in docs/analytics.md', () => {
    expect(
      MONTHS.map((_, index) => {
        const month = summary(index);
        return [month.mrr.subscribers, month.freeAccounts, month.arpuCents, month.ltvCents, month.revenueNetCents];
      }),
    ).toEqual([
      [5, 1, 7237, null, 263700],
      [4, 3, 11571, 85444, 23700],
      [5, 2, 7237, 22330, 34600],
      [5, 2, 7237, null, 4900],
    ]);
  });

  it('knows each account’s tier at the month’s end', () => {
    const tierOf = tierAt(timeline, 1);
    expect(['alice', 'carol', 'dave', 'gina'].map(tierOf)).toEqual(['enterprise', 'free', 'professional', 'free']);
  });
});

describe('revenue collected', () => {
  it('sums paid invoices by tier and month with setup fees in and refunds out', () => {
    expect(revenue[0]).toEqual({
      month: '2026-01',
      byTier: {
        professional: { invoices: 4, grossCents: 19600, setupFeeCents: 0, refundedCents: 4900, netCents: 14700 },
        enterprise: { invoices: 1, grossCents: 249000, setupFeeCents: 50000, refundedCents: 0, netCents: 249000 },
      },
      total: { invoices: 5, grossCents: 268600, setupFeeCents: 50000, refundedCents: 4900, netCents: 263700 },
    });
    expect(revenue.map((month) => month.total.netCents)).toEqual([263700, 23700, 34600, 4900]);
    expect(revenue[1]?.byTier.enterprise?.netCents).toBe(9000);
  });

  it('leaves out invoices in another currency', () => {
    expect(revenue[2]?.byTier.enterprise).toMatchObject({ invoices: 1, grossCents: 19900 });
  });

  it('puts the month’s net revenue in the summary', () => {
    expect(summary(0).revenueNetCents).toBe(263700);
  });
});
