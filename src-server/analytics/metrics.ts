import type { AccountLtv, RevenueMonth, SummaryResponse } from '../../src-shared/admin-api.ts';
import type { TierId } from '../../src-shared/catalog.ts';
import { type MrrTimeline, mrrAt, mrrMonth, subscribersByTier } from './mrr-ledger.ts';
import type { AccountPaid } from './revenue.ts';

/**
 * The month's headline numbers, from the MRR timeline, when accounts were created and the month's
 * revenue. Every definition is spelled out in docs/analytics.md.
 */

const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);

/** How many of the (sorted) creation instants fall before `instant`. */
function countBefore(sortedCreatedAt: readonly number[], instant: number): number {
  let low = 0;
  let high = sortedCreatedAt.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sortedCreatedAt[middle] as number) < instant) low = middle + 1;
    else high = middle;
  }
  return low;
}

export function monthSummary(
  timeline: MrrTimeline,
  index: number,
  sortedCreatedAt: readonly number[],
  revenue: RevenueMonth,
  currency: string,
): SummaryResponse {
  const mrr = mrrMonth(timeline, index);
  const start = timeline.boundaries[index] as number;
  const end = timeline.boundaries[index + 1] as number;
  const opening = mrrAt(timeline, index);
  const accounts = countBefore(sortedCreatedAt, end);

  let converted = 0;
  let paidBeforeStart = 0;
  for (const account of timeline.accounts.values()) {
    if (account.firstPaidAt === null) continue;
    if (account.firstPaidAt < start) paidBeforeStart += 1;
    else if (account.firstPaidAt < end) converted += 1;
  }
  const eligible = Math.max(0, accounts - paidBeforeStart);

  const { movements } = mrr;
  const revenueChurnRate = ratio(movements.churnedCents + movements.contractionCents, opening.mrrCents);
  const arpuCents = mrr.subscribers === 0 ? null : Math.round(mrr.mrrCents / mrr.subscribers);
  const ltvCents = arpuCents === null || !revenueChurnRate ? null : Math.round(arpuCents / revenueChurnRate);

  return {
    month: mrr.month,
    currency,
    mrr,
    subscribersByTier: subscribersByTier(timeline, index + 1),
    freeAccounts: Math.max(0, accounts - mrr.subscribers),
    accounts,
    conversion: { converted, eligible, rate: ratio(converted, eligible) },
    logoChurnRate: ratio(movements.churnedAccounts, opening.subscribers),
    revenueChurnRate,
    netRevenueChurnRate: ratio(
      movements.churnedCents + movements.contractionCents - movements.expansionCents,
      opening.mrrCents,
    ),
    arpuCents,
    ltvCents,
    revenueNetCents: revenue.total.netCents,
  };
}

/** The tier an account held at the end of the timeline's month `index`; free when never paid. */
export function tierAt(timeline: MrrTimeline, index: number): (accountId: string) => TierId {
  return (accountId) => timeline.accounts.get(accountId)?.tier[index + 1] ?? 'free';
}

/** Each account's actual paid total beside its MRR at the month's end, best payers first. */
export function accountLtvs(
  timeline: MrrTimeline,
  index: number,
  paid: ReadonlyMap<string, AccountPaid>,
  emailOf: (accountId: string) => string,
): AccountLtv[] {
  const tierOf = tierAt(timeline, index);
  return [...paid]
    .map(([accountId, line]) => ({
      accountId,
      email: emailOf(accountId),
      tier: tierOf(accountId),
      mrrCents: timeline.accounts.get(accountId)?.mrr[index + 1] ?? 0,
      firstPaidAt: line.firstPaidAt === null ? null : new Date(line.firstPaidAt).toISOString(),
      invoices: line.invoices,
      totalPaidCents: line.netCents,
      setupFeeCents: line.setupFeeCents,
      refundedCents: line.refundedCents,
    }))
    .sort(
      (a, b) =>
        b.totalPaidCents - a.totalPaidCents || (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0),
    );
}
