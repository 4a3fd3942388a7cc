import type { AccountLtv, RevenueMonth, SummaryResponse } from '../../src-shared/admin-api.ts';
import type { TierId } from '../../src-shared/catalog.ts';
import { type MrrTimeline, mrrAt, mrrMonth, subscribersByTier } from './mrr-movements.ts';
import { type AccountInvoices, addInvoices, emptyRevenueLine } from './revenue.ts';

/**
 * The month's headline numbers, from the MRR timeline, when accounts were created and the month's
 * revenue. Every definition is spelled out in docs/analytics.md.
 */

const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);

interface ChurnAndValue {
  logoChurnRate: number | null;
  revenueChurnRate: number | null;
  netRevenueChurnRate: number | null;
  arpuCents: number | null;
  ltvCents: number | null;
}

/** Churn rates on the month's opening base, ARPU on its closing MRR, and the LTV estimate. */
export function churnAndValue(timeline: MrrTimeline, index: number): ChurnAndValue {
  const { movements, mrrCents, subscribers } = mrrMonth(timeline, index);
  const opening = mrrAt(timeline, index);
  const revenueChurnRate = ratio(movements.churnedCents + movements.contractionCents, opening.mrrCents);
  const arpuCents = subscribers === 0 ? null : Math.round(mrrCents / subscribers);
  return {
    logoChurnRate: ratio(movements.churnedAccounts, opening.subscribers),
    revenueChurnRate,
    netRevenueChurnRate: ratio(
      movements.churnedCents + movements.contractionCents - movements.expansionCents,
      opening.mrrCents,
    ),
    arpuCents,
    ltvCents: arpuCents === null || !revenueChurnRate ? null : Math.round(arpuCents / revenueChurnRate),
  };
}

export function monthSummary(
  timeline: MrrTimeline,
  index: number,
  /** Accounts created before the end of the month. */
  accounts: number,
  revenue: RevenueMonth,
  currency: string,
): SummaryResponse {
  const mrr = mrrMonth(timeline, index);
  const start = timeline.boundaries[index] as number;
  const end = timeline.boundaries[index + 1] as number;

  let converted = 0;
  let paidBeforeStart = 0;
  for (const account of timeline.accounts.values()) {
    if (account.firstPaidAt === null) continue;
    if (account.firstPaidAt < start) paidBeforeStart += 1;
    else if (account.firstPaidAt < end) converted += 1;
  }
  const eligible = Math.max(0, accounts - paidBeforeStart);

  return {
    month: mrr.month,
    currency,
    mrr,
    subscribersByTier: subscribersByTier(timeline, index + 1),
    freeAccounts: Math.max(0, accounts - mrr.subscribers),
    accounts,
    conversion: { converted, eligible, rate: ratio(converted, eligible) },
    ...churnAndValue(timeline, index),
    revenueNetCents: revenue.total.netCents,
  };
}

/** The tier an account held at the end of the timeline's month `index`; free when never paid. */
export function tierAt(timeline: MrrTimeline, index: number): (accountId: string) => TierId {
  return (accountId) => timeline.accounts.get(accountId)?.tier[index + 1] ?? 'free';
}

/**
 * Each account's actual paid total (its invoices up to the month's end, in the catalog's currency)
 * beside its tier and MRR at the month's end, best payers first.
 */
export function accountLtvs(
  timeline: MrrTimeline,
  index: number,
  paid: readonly AccountInvoices[],
  currency: string,
  emailOf: (accountId: string) => string,
): AccountLtv[] {
  const tierOf = tierAt(timeline, index);
  return paid
    .filter((sums) => sums.currency === currency)
    .map((sums) => {
      const line = emptyRevenueLine();
      addInvoices(line, sums);
      return {
        accountId: sums.accountId,
        email: emailOf(sums.accountId),
        tier: tierOf(sums.accountId),
        mrrCents: timeline.accounts.get(sums.accountId)?.mrr[index + 1] ?? 0,
        firstPaidAt: new Date(sums.firstPaidAt).toISOString(),
        invoices: line.invoices,
        totalPaidCents: line.netCents,
        setupFeeCents: line.setupFeeCents,
        refundedCents: line.refundedCents,
      };
    })
    .sort(
      (a, b) =>
        b.totalPaidCents - a.totalPaidCents || (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0),
    );
}
