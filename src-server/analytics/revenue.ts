import type { RevenueLine, RevenueMonth } from '../../src-shared/admin-api.ts';
import type { TierId } from '../../src-shared/catalog.ts';
import { periodOf } from '../../src-shared/period.ts';

/**
 * Revenue collected: the money invoices actually brought in, as opposed to MRR. Setup fees count
 * here (they are cash) though never in MRR; a refund is subtracted from the month its invoice was
 * paid in (an invoice records how much of it was refunded, not when). Invoices in a currency other
 * than the catalog's are left out rather than added as if they were the same money.
 */

export interface InvoiceRecord {
  accountId: string;
  tier: TierId;
  /** Everything the invoice collected, setup fee included. */
  amountPaidCents: number;
  setupFeeCents: number;
  amountRefundedCents: number;
  currency: string;
  /** UTC ms. */
  paidAt: number;
}

export function emptyRevenueLine(): RevenueLine {
  return { invoices: 0, grossCents: 0, setupFeeCents: 0, refundedCents: 0, netCents: 0 };
}

function addInvoice(line: RevenueLine, invoice: InvoiceRecord): void {
  line.invoices += 1;
  line.grossCents += invoice.amountPaidCents;
  line.setupFeeCents += invoice.setupFeeCents;
  line.refundedCents += invoice.amountRefundedCents;
  line.netCents += invoice.amountPaidCents - invoice.amountRefundedCents;
}

/** Revenue by tier for each of `months`, from the invoices paid in them. */
export function revenueByMonth(
  invoices: readonly InvoiceRecord[],
  months: readonly string[],
  currency: string,
): RevenueMonth[] {
  const report = new Map<string, RevenueMonth>(
    months.map((month) => [month, { month, byTier: {}, total: emptyRevenueLine() }]),
  );
  for (const invoice of invoices) {
    if (invoice.currency !== currency) continue;
    const month = report.get(periodOf(invoice.paidAt));
    if (!month) continue;
    const line = month.byTier[invoice.tier] ?? emptyRevenueLine();
    month.byTier[invoice.tier] = line;
    addInvoice(line, invoice);
    addInvoice(month.total, invoice);
  }
  return [...report.values()];
}

export interface AccountPaid extends RevenueLine {
  firstPaidAt: number | null;
}

/** What each account actually paid, from invoices paid before `until` (UTC ms). */
export function paidByAccount(
  invoices: readonly InvoiceRecord[],
  until: number,
  currency: string,
): Map<string, AccountPaid> {
  const totals = new Map<string, AccountPaid>();
  for (const invoice of invoices) {
    if (invoice.currency !== currency || invoice.paidAt >= until) continue;
    let line = totals.get(invoice.accountId);
    if (!line) {
      line = { ...emptyRevenueLine(), firstPaidAt: null };
      totals.set(invoice.accountId, line);
    }
    addInvoice(line, invoice);
    if (line.firstPaidAt === null || invoice.paidAt < line.firstPaidAt) line.firstPaidAt = invoice.paidAt;
  }
  return totals;
}
