import type { Kysely } from 'kysely';
import type {
  AccountLtv,
  FunnelResponse,
  LtvListResponse,
  MrrSeriesResponse,
  ReportName,
  RevenueMonth,
  RevenueResponse,
  SummaryResponse,
  UpsellResponse,
  UsageResponse,
} from '../../src-shared/admin-api.ts';
import type { Catalog } from '../../src-shared/catalog.ts';
import { periodEnd } from '../../src-shared/period.ts';
import type { Database } from '../db/schema.ts';
import { type CsvCell, toCsv } from './csv.ts';
import { funnelSteps } from './funnel.ts';
import { accountLtvs, churnAndValue, monthSummary, tierAt } from './metrics.ts';
import { monthsEndingAt, mrrMonth } from './mrr-movements.ts';
import { countAccountsCreatedBefore, readAccountInvoices, readFunnelCohorts, readRevenueGroups } from './queries.ts';
import type { ReportData } from './report-data.ts';
import { revenueByMonth } from './revenue.ts';
import { upsellCandidates, usageReport } from './usage-report.ts';

/**
 * Each admin report: read what it needs, hand it to the pure metric functions, shape the answer.
 * The handlers in routes.ts only parse the request and pick a report.
 */

export interface AnalyticsSource {
  db: Kysely<Database>;
  catalog: Catalog;
  data: ReportData;
  /** The server's clock: a cohort's funnel is counted up to now. */
  now: () => number;
}

export async function summaryReport({ db, catalog, data }: AnalyticsSource, month: string): Promise<SummaryResponse> {
  const [{ timeline, index }, accounts, groups] = await Promise.all([
    data.monthTimeline(month),
    countAccountsCreatedBefore(db, periodEnd(month)),
    readRevenueGroups(db, [month]),
  ]);
  const revenue = revenueByMonth(groups, [month], catalog.currency);
  return monthSummary(timeline, index, accounts, revenue[0] as RevenueMonth, catalog.currency);
}

export async function mrrReport(
  { catalog, data }: AnalyticsSource,
  month: string,
  count: number,
): Promise<MrrSeriesResponse> {
  const months = monthsEndingAt(month, count);
  const timeline = await data.timeline(months);
  return { currency: catalog.currency, months: months.map((_, index) => mrrMonth(timeline, index)) };
}

export async function revenueReport(
  { db, catalog }: AnalyticsSource,
  month: string,
  count: number,
): Promise<RevenueResponse> {
  const months = monthsEndingAt(month, count);
  return {
    currency: catalog.currency,
    months: revenueByMonth(await readRevenueGroups(db, months), months, catalog.currency),
  };
}

async function monthUsage({ data }: AnalyticsSource, month: string) {
  const [{ timeline, index }, usage] = await Promise.all([data.monthTimeline(month), data.usageOf(month)]);
  return { usage, tierOf: tierAt(timeline, index) };
}

export async function usageByTierReport(source: AnalyticsSource, month: string): Promise<UsageResponse> {
  const { usage, tierOf } = await monthUsage(source, month);
  return usageReport(source.catalog, month, usage, tierOf);
}

/** Upsell candidates, the first `limit` of them (all without a limit) with their e-mail addresses. */
export async function upsellReport(source: AnalyticsSource, month: string, limit?: number): Promise<UpsellResponse> {
  const { usage, tierOf } = await monthUsage(source, month);
  const all = upsellCandidates(source.catalog, usage, tierOf);
  const shown = limit === undefined ? all : all.slice(0, limit);
  const emails = await source.data.emailsOf(shown.map((candidate) => candidate.accountId));
  return {
    month,
    total: all.length,
    candidates: shown.map((candidate) => ({ ...candidate, email: emails.get(candidate.accountId) ?? '' })),
  };
}

/** Accounts by what they actually paid up to the month's end (the best `limit`, or all). */
export async function ltvReport(
  { db, catalog, data }: AnalyticsSource,
  month: string,
  limit?: number,
): Promise<LtvListResponse> {
  const [{ timeline, index }, paid] = await Promise.all([
    data.monthTimeline(month),
    readAccountInvoices(db, { until: periodEnd(month), currency: catalog.currency, limit }),
  ]);
  const emails = await data.emailsOf(paid.map((row) => row.accountId));
  return {
    month,
    estimatedLtvCents: churnAndValue(timeline, index).ltvCents,
    accounts: accountLtvs(timeline, index, paid, catalog.currency, (id) => emails.get(id) ?? ''),
  };
}

/** One account's actual LTV up to the month's end; null when there is no such account. */
export async function accountLtvReport(
  { db, catalog, data }: AnalyticsSource,
  accountId: string,
  month: string,
): Promise<AccountLtv | null> {
  const account = await db
    .selectFrom('accounts')
    .select(['id', 'email'])
    .where('id', '=', accountId)
    .executeTakeFirst();
  if (!account) return null;
  const [{ timeline, index }, paid] = await Promise.all([
    data.monthTimeline(month),
    readAccountInvoices(db, { until: periodEnd(month), currency: catalog.currency, accountId }),
  ]);
  const [found] = accountLtvs(timeline, index, paid, catalog.currency, () => account.email);
  if (found) return found;
  const tier = tierAt(timeline, index)(accountId);
  return {
    accountId,
    email: account.email,
    tier,
    mrrCents: timeline.accounts.get(accountId)?.mrr[index + 1] ?? 0,
    firstPaidAt: null,
    invoices: 0,
    totalPaidCents: 0,
    setupFeeCents: 0,
    refundedCents: 0,
  };
}

/** The funnels of the sign-up cohorts of each of `count` months ending with `month`, counted up to now. */
export async function funnelReport(
  { db, now }: AnalyticsSource,
  month: string,
  count: number,
): Promise<FunnelResponse> {
  const asOf = now();
  const months = monthsEndingAt(month, count);
  // Up to and including this millisecond: a step taken just now is counted.
  const cohorts = await readFunnelCohorts(db, months, asOf + 1);
  return {
    months: months.map((cohort) => ({
      month: cohort,
      asOf: new Date(asOf).toISOString(),
      steps: funnelSteps(cohorts.get(cohort) ?? []),
    })),
  };
}

/** A report as CSV: every row, amounts in cents, rates as fractions. */
export function csvReport(source: AnalyticsSource, report: ReportName, month: string, count: number): Promise<string> {
  // The funnel reads tables the export cache does not fingerprint (prompts, checkouts, sign-ups), and
  // a handful of rows per cohort: built fresh each time.
  if (report === 'funnel') return buildCsv(source, report, month, count);
  return source.data.export(`${report}:${month}:${count}`, month, () => buildCsv(source, report, month, count));
}

async function buildCsv(source: AnalyticsSource, report: ReportName, month: string, count: number): Promise<string> {
  switch (report) {
    case 'mrr': {
      const { months } = await mrrReport(source, month, count);
      return toCsv(
        [
          'month',
          'mrr_cents',
          'arr_cents',
          'subscribers',
          'new_cents',
          'expansion_cents',
          'contraction_cents',
          'churned_cents',
          'reactivation_cents',
          'net_new_cents',
          'growth_rate',
        ],
        months.map((row) => [
          row.month,
          row.mrrCents,
          row.arrCents,
          row.subscribers,
          row.movements.newCents,
          row.movements.expansionCents,
          row.movements.contractionCents,
          row.movements.churnedCents,
          row.movements.reactivationCents,
          row.movements.netNewCents,
          row.growthRate,
        ]),
      );
    }
    case 'revenue': {
      const { months } = await revenueReport(source, month, count);
      const rows: CsvCell[][] = [];
      for (const row of months) {
        for (const [tier, line] of [...Object.entries(row.byTier), ['all', row.total] as const]) {
          if (!line) continue;
          rows.push([
            row.month,
            tier,
            line.invoices,
            line.grossCents,
            line.setupFeeCents,
            line.refundedCents,
            line.netCents,
          ]);
        }
      }
      return toCsv(
        ['month', 'tier', 'invoices', 'gross_cents', 'setup_fee_cents', 'refunded_cents', 'net_cents'],
        rows,
      );
    }
    case 'usage': {
      const usage = await usageByTierReport(source, month);
      return toCsv(
        ['month', 'operation', 'tier', 'limit', 'accounts', 'used', 'at_least_80_percent', 'at_limit'],
        usage.operations.flatMap((operation) =>
          operation.byTier.map((cell) => [
            month,
            operation.operation,
            cell.tier,
            cell.limit,
            cell.accounts,
            cell.used,
            cell.atLeast80,
            cell.atLimit,
          ]),
        ),
      );
    }
    case 'upsell': {
      const { candidates } = await upsellReport(source, month);
      return toCsv(
        ['month', 'account_id', 'email', 'tier', 'operation', 'used', 'limit', 'ratio', 'suggested_tier'],
        candidates.map((row) => [
          month,
          row.accountId,
          row.email,
          row.tier,
          row.operation,
          row.used,
          row.limit,
          row.ratio,
          row.suggestedTier,
        ]),
      );
    }
    case 'ltv': {
      const { accounts } = await ltvReport(source, month);
      return toCsv(
        [
          'month',
          'account_id',
          'email',
          'tier',
          'mrr_cents',
          'first_paid_at',
          'invoices',
          'total_paid_cents',
          'setup_fee_cents',
          'refunded_cents',
        ],
        accounts.map((row) => [
          month,
          row.accountId,
          row.email,
          row.tier,
          row.mrrCents,
          row.firstPaidAt,
          row.invoices,
          row.totalPaidCents,
          row.setupFeeCents,
          row.refundedCents,
        ]),
      );
    }
    case 'funnel': {
      const { months } = await funnelReport(source, month, count);
      return toCsv(
        ['cohort_month', 'as_of', 'step', 'accounts', 'reached_any_path', 'from_previous_rate', 'from_sign_up_rate'],
        months.flatMap((cohort) =>
          cohort.steps.map((step) => [
            cohort.month,
            cohort.asOf,
            step.step,
            step.accounts,
            step.reachedAnyPath,
            step.fromPreviousRate,
            step.fromSignUpRate,
          ]),
        ),
      );
    }
  }
}
