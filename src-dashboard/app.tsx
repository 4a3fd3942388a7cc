import { useEffect, useMemo, useState } from 'react';
import { REPORT_NAMES } from '../src-shared/admin-api.ts';
import { TIER_IDS } from '../src-shared/catalog.ts';
import { periodOf } from '../src-shared/period.ts';
import { AdminApiError, downloadCsv, loadMonth, type MonthData } from './api.ts';
import { ChartCanvas } from './chart-canvas.tsx';
import { mrrChart, revenueChart, usageChart } from './charts.ts';
import { Customers } from './customers.tsx';
import { KpiCards } from './kpi-cards.tsx';
import { MonthPicker } from './month-picker.tsx';
import { forgetToken, loadToken, saveToken } from './session.ts';
import { SignIn } from './sign-in.tsx';
import { FunnelTable, UpsellTable, UsageTable } from './tables.tsx';

type Load = { state: 'loading' } | { state: 'ready'; data: MonthData } | { state: 'failed'; message: string };

export function App() {
  const [token, setToken] = useState<string | null>(loadToken);
  const [refused, setRefused] = useState<string | null>(null);
  const [month, setMonth] = useState(() => periodOf(Date.now()));
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [view, setView] = useState<'analytics' | 'customers'>('analytics');

  useEffect(() => {
    if (!token) return;
    let current = true;
    setLoad({ state: 'loading' });
    loadMonth(token, month).then(
      (data) => {
        if (current) setLoad({ state: 'ready', data });
      },
      (error: unknown) => {
        if (!current) return;
        if (error instanceof AdminApiError && (error.status === 401 || error.status === 403)) {
          forgetToken();
          setToken(null);
          setRefused(
            'That sign-in was refused: sign in as an administrator, or use the server’s TOLLGATE_ADMIN_TOKEN.',
          );
        } else {
          setLoad({ state: 'failed', message: error instanceof Error ? error.message : String(error) });
        }
      },
    );
    return () => {
      current = false;
    };
  }, [token, month]);

  if (!token) {
    return (
      <SignIn
        problem={refused}
        onSubmit={(value) => {
          saveToken(value);
          setRefused(null);
          setToken(value);
        }}
      />
    );
  }

  return (
    <main className="dashboard">
      <header>
        <h1>Tollgate analytics</h1>
        <MonthPicker month={month} onChange={setMonth} />
        <nav>
          <button type="button" aria-pressed={view === 'analytics'} onClick={() => setView('analytics')}>
            Analytics
          </button>
          <button type="button" aria-pressed={view === 'customers'} onClick={() => setView('customers')}>
            Customers
          </button>
        </nav>
        <button
          type="button"
          onClick={() => {
            forgetToken();
            setToken(null);
          }}
        >
          Sign out
        </button>
      </header>
      {load.state === 'loading' ? <p aria-busy="true">Loading {month}…</p> : null}
      {load.state === 'failed' ? (
        <p role="alert" className="problem">
          {load.message}
        </p>
      ) : null}
      {view === 'customers' ? (
        <Customers token={token} currency={load.state === 'ready' ? load.data.summary.currency : 'usd'} />
      ) : null}
      {view === 'analytics' && load.state === 'ready' ? <MonthView data={load.data} token={token} /> : null}
    </main>
  );
}

function MonthView({ data, token }: { data: MonthData; token: string }) {
  const { summary, mrr, revenue, usage, upsell, funnel } = data;
  const cohort = funnel.months.at(-1);
  const revenueTiers = TIER_IDS.filter((tier) => revenue.months.some((month) => month.byTier[tier]));
  const charts = useMemo(
    () => ({
      mrr: mrrChart(mrr),
      revenue: revenueChart(revenue, revenueTiers),
      usage: usageChart(usage, TIER_IDS),
    }),
    [mrr, revenue, usage, revenueTiers],
  );
  const [exportProblem, setExportProblem] = useState<string | null>(null);
  const exportReport = (report: (typeof REPORT_NAMES)[number]) => {
    setExportProblem(null);
    downloadCsv(token, report, summary.month).catch((error: unknown) =>
      setExportProblem(error instanceof Error ? error.message : String(error)),
    );
  };

  return (
    <div data-testid="month-view" data-month={summary.month}>
      <KpiCards summary={summary} />
      <section>
        <h2>MRR and its movements</h2>
        <ChartCanvas
          config={charts.mrr}
          label="MRR over the last twelve months with new, expansion, reactivation, contraction and churned MRR"
        />
      </section>
      <section>
        <h2>Revenue collected by tier</h2>
        <ChartCanvas config={charts.revenue} label="Net revenue collected each month, stacked by tier" />
      </section>
      <section>
        <h2>Usage by operation</h2>
        <ChartCanvas config={charts.usage} label="Units used this month per operation, stacked by tier" />
        <UsageTable usage={usage} />
      </section>
      <section>
        <h2>Upsell candidates</h2>
        <UpsellTable upsell={upsell} />
      </section>
      <section aria-labelledby="funnel-heading">
        <h2 id="funnel-heading">Conversion funnel</h2>
        {cohort ? <FunnelTable cohort={cohort} /> : null}
      </section>
      <section className="exports">
        <h2>Export</h2>
        {REPORT_NAMES.map((report) => (
          <button key={report} type="button" onClick={() => exportReport(report)}>
            {report}.csv
          </button>
        ))}
        {exportProblem ? (
          <p role="alert" className="problem">
            {exportProblem}
          </p>
        ) : null}
      </section>
    </div>
  );
}
