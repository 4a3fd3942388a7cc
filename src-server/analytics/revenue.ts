import type { RevenueLine, RevenueMonth } from '../../src-shared/admin-api.ts';
import type { TierId } from '../../src-shared/catalog.ts';

/**
 * Revenue collected: the money invoices actually brought in, as opposed to MRR. Setup fees count
 * here (they are cash) though never in MRR; a refund is subtracted from the month its invoice was
 * paid in (an invoice records how much of it was refunded, not when). Invoices in a currency other
 * than the catalog's are left out rather than added as if they were the same money.
 *
 * The functions take invoices already grouped (by month and tier, or by account) because the
 * database does the summing; a single invoice is a group of one.
 */

interface InvoiceSums {
  currency: string;
  invoices: number;
  /** Everything the invoices collected, setup fees included. */
  amountPaidCents: number;
  setupFeeCents: number;
  amountRefundedCents: number;
}

export interface MonthTierInvoices extends InvoiceSums {
  /** The month the invoices were paid in, `YYYY-MM`. */
  month: string;
  tier: TierId;
}

export interface AccountInvoices extends InvoiceSums {
  accountId: string;
  /** UTC ms of the account's first paid invoice. */
  firstPaidAt: number;
}

export function emptyRevenueLine(): RevenueLine {
  return { invoices: 0, grossCents: 0, setupFeeCents: 0, refundedCents: 0, netCents: 0 };
}

export function addInvoices(line: RevenueLine, sums: InvoiceSums): void {
  line.invoices += sums.invoices;
  line.grossCents += sums.amountPaidCents;
  line.setupFeeCents += sums.setupFeeCents;
  line.refundedCents += sums.amountRefundedCents;
  line.netCents += sums.amountPaidCents - sums.amountRefundedCents;
}

/** Revenue by tier for each of `months`. */
export function revenueByMonth(
  groups: readonly MonthTierInvoices[],
  months: readonly string[],
  currency: string,
): RevenueMonth[] {
  const report = new Map<string, RevenueMonth>(
    months.map((month) => [month, { month, byTier: {}, total: emptyRevenueLine() }]),
  );
  for (const group of groups) {
    const month = report.get(group.month);
    if (!month || group.currency !== currency) continue;
    const line = month.byTier[group.tier] ?? emptyRevenueLine();
    month.byTier[group.tier] = line;
    addInvoices(line, group);
    addInvoices(month.total, group);
  }
  return [...report.values()];
}
