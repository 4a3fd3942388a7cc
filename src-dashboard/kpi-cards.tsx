import type { SummaryResponse } from '../src-shared/admin-api.ts';
import { formatCount } from '../src-shared/format.ts';
import { formatAmount, formatRate } from './format.ts';

interface Kpi {
  id: string;
  label: string;
  value: string;
  detail?: string;
}

function kpis(summary: SummaryResponse): Kpi[] {
  const money = (cents: number | null) => formatAmount(cents, summary.currency);
  const { mrr, conversion } = summary;
  return [
    { id: 'mrr', label: 'MRR', value: money(mrr.mrrCents), detail: `${formatRate(mrr.growthRate)} vs last month` },
    { id: 'arr', label: 'ARR', value: money(mrr.arrCents) },
    { id: 'net-new-mrr', label: 'Net new MRR', value: money(mrr.movements.netNewCents) },
    {
      id: 'subscribers',
      label: 'Subscribers',
      value: formatCount(mrr.subscribers),
      detail: `${formatCount(summary.freeAccounts)} free accounts`,
    },
    { id: 'logo-churn', label: 'Logo churn', value: formatRate(summary.logoChurnRate) },
    {
      id: 'revenue-churn',
      label: 'Revenue churn',
      value: formatRate(summary.revenueChurnRate),
      detail: `net ${formatRate(summary.netRevenueChurnRate)}`,
    },
    {
      id: 'conversion',
      label: 'Free → paid',
      value: formatRate(conversion.rate),
      detail: `${formatCount(conversion.converted)} of ${formatCount(conversion.eligible)}`,
    },
    { id: 'arpu', label: 'ARPU', value: money(summary.arpuCents) },
    { id: 'ltv', label: 'LTV (estimate)', value: money(summary.ltvCents) },
    { id: 'revenue', label: 'Revenue collected', value: money(summary.revenueNetCents), detail: 'net of refunds' },
  ];
}

export function KpiCards({ summary }: { summary: SummaryResponse }) {
  return (
    <section className="kpis" aria-label="Key figures">
      {kpis(summary).map((kpi) => (
        <article key={kpi.id} className="kpi" data-testid={`kpi-${kpi.id}`}>
          <h3>{kpi.label}</h3>
          <p className="kpi-value">{kpi.value}</p>
          {kpi.detail ? <p className="kpi-detail">{kpi.detail}</p> : null}
        </article>
      ))}
    </section>
  );
}
