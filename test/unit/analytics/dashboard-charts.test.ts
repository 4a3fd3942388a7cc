import { describe, expect, it } from 'vitest';
import { mrrChart, revenueChart } from '../../../src-dashboard/charts.ts';
import { buildTimeline, mrrMonth } from '../../../src-server/analytics/mrr-movements.ts';
import { revenueByMonth } from '../../../src-server/analytics/revenue.ts';
import { asMonthGroup, events, invoices, MONTHS } from './fixtures.ts';

// The dashboard's charts drawn from the fixture's API answers (docs/analytics.md's worked example).
const timeline = buildTimeline(events, MONTHS);
const series = { currency: 'usd', months: MONTHS.map((_, index) => mrrMonth(timeline, index)) };

const dataset = (config: ReturnType<typeof mrrChart>, label: string) =>
  config.data.datasets.find((candidate) => candidate.label === label)?.data;

describe('dashboard charts', () => {
  it('draw MRR in dollars with gains above the axis and losses below it', () => {
    const chart = mrrChart(series);
    expect(chart.data.labels).toEqual(MONTHS);
    expect(dataset(chart, 'MRR')).toEqual([361.83, 462.83, 361.83, 361.83]);
    expect(dataset(chart, 'New')).toEqual([214.83, 0, 0, 0]);
    expect(dataset(chart, 'Expansion')).toEqual([0, 150, 0, 0]);
    expect(dataset(chart, 'Churned')).toEqual([0, -49, 0, 0]);
    expect(dataset(chart, 'Contraction')).toEqual([0, 0, -150, 0]);
    expect(dataset(chart, 'Reactivation')).toEqual([0, 0, 49, 0]);
  });

  it('stack net revenue by tier, a tier with no invoices in a month at zero', () => {
    const revenue = { currency: 'usd', months: revenueByMonth(invoices.map(asMonthGroup), MONTHS, 'usd') };
    const chart = revenueChart(revenue, ['professional', 'enterprise']);
    expect(dataset(chart, 'professional')).toEqual([147, 147, 147, 49]);
    expect(dataset(chart, 'enterprise')).toEqual([2490, 90, 199, 0]);
  });
});
