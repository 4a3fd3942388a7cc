import type { ChartConfiguration } from 'chart.js';
import type { MrrSeriesResponse, RevenueResponse, UsageResponse } from '../src-shared/admin-api.ts';
import type { TierId } from '../src-shared/catalog.ts';

/** Chart configurations from API responses. Amounts are drawn in currency units, not cents. */

const TIER_COLOURS: Record<TierId, string> = {
  free: '#9aa5b1',
  professional: '#3b82f6',
  enterprise: '#7c3aed',
  custom: '#f59e0b',
};

// `|| 0` turns the -0 of a negated zero into 0, which tooltips would otherwise print as "-0".
const units = (cents: number) => cents / 100 || 0;

export function mrrChart(series: MrrSeriesResponse): ChartConfiguration {
  const labels = series.months.map((month) => month.month);
  const movement = (label: string, colour: string, pick: (m: MrrSeriesResponse['months'][number]) => number) => ({
    type: 'bar' as const,
    label,
    data: series.months.map((month) => units(pick(month))),
    backgroundColor: colour,
    stack: 'movements',
    yAxisID: 'movements',
  });
  return {
    type: 'bar',
    data: {
      labels,
      datasets: [
        {
          type: 'line' as const,
          label: 'MRR',
          data: series.months.map((month) => units(month.mrrCents)),
          borderColor: '#111827',
          backgroundColor: '#111827',
          yAxisID: 'mrr',
        },
        movement('New', '#16a34a', (m) => m.movements.newCents),
        movement('Expansion', '#4ade80', (m) => m.movements.expansionCents),
        movement('Reactivation', '#2dd4bf', (m) => m.movements.reactivationCents),
        movement('Contraction', '#fb923c', (m) => -m.movements.contractionCents),
        movement('Churned', '#dc2626', (m) => -m.movements.churnedCents),
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        mrr: { type: 'linear', position: 'left', title: { display: true, text: `MRR (${series.currency})` } },
        movements: {
          type: 'linear',
          position: 'right',
          stacked: true,
          grid: { drawOnChartArea: false },
          title: { display: true, text: 'movements' },
        },
        x: { stacked: true },
      },
    },
  } as ChartConfiguration;
}

export function revenueChart(revenue: RevenueResponse, tiers: readonly TierId[]): ChartConfiguration {
  return {
    type: 'bar',
    data: {
      labels: revenue.months.map((month) => month.month),
      datasets: tiers.map((tier) => ({
        label: tier,
        data: revenue.months.map((month) => units(month.byTier[tier]?.netCents ?? 0)),
        backgroundColor: TIER_COLOURS[tier],
      })),
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        x: { stacked: true },
        y: { stacked: true, title: { display: true, text: `net (${revenue.currency})` } },
      },
    },
  };
}

export function usageChart(usage: UsageResponse, tiers: readonly TierId[]): ChartConfiguration {
  return {
    type: 'bar',
    data: {
      labels: usage.operations.map((operation) => operation.label),
      datasets: tiers.map((tier) => ({
        label: tier,
        data: usage.operations.map((operation) => operation.byTier.find((cell) => cell.tier === tier)?.used ?? 0),
        backgroundColor: TIER_COLOURS[tier],
      })),
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: 'units used' } } },
    },
  };
}
