import type { SubscriptionEventRecord } from '../../../src-server/analytics/mrr-movements.ts';
import type { MonthTierInvoices } from '../../../src-server/analytics/revenue.ts';
import type { TierId } from '../../../src-shared/catalog.ts';
import { periodOf } from '../../../src-shared/period.ts';

/**
 * A small business whose every number is worked out by hand in docs/analytics.md's example.
 * Prices from the default catalog: professional 49 $/month or 490 $/year; enterprise 199 $/month
 * or 1,990 $/year plus a 500 $ setup fee. A yearly enterprise plan is 199000 / 12 = 16583 ¢ MRR.
 *
 *   alice  created 2025-12-10; professional monthly from 01-05; upgrades to enterprise 02-15;
 *          downgrades to professional 03-20 (mid-month upgrade and downgrade)
 *   bob    created 2026-01-02; enterprise yearly from 01-10, pays the setup fee (yearly + setup)
 *   carol  created 2025-11-01; professional since 2025-12-01; cancels 02-10, reactivates 03-05
 *   dave   created 2025-12-01; professional since 2025-12-15; past due 02-03 (grace to 02-10),
 *          recovered 02-09;
 *          his January invoice is refunded in full
 *   erin   created 2026-02-20; free, never pays
 *   frank  created 2025-11-15; professional since 2025-12-05; cancels 03-10 and reactivates 03-25
 *          (inside one month: no movement)
 *   gina   created 2025-12-20; free, never pays
 */

export const day = (iso: string): number => Date.parse(`${iso}T12:00:00Z`);

const event = (
  accountId: string,
  date: string,
  toTier: TierId | null,
  mrrAfterCents: number,
  mrrEndsAt: number | null = null,
): SubscriptionEventRecord => ({
  accountId,
  at: day(date),
  toTier,
  mrrAfterCents,
  mrrEndsAt,
});

/** The grace a past-due subscription keeps access (and MRR) for: TOLLGATE_PAST_DUE_GRACE_DAYS=7. */
const GRACE_MS = 7 * 86_400_000;

export const events: SubscriptionEventRecord[] = [
  event('carol', '2025-12-01', 'professional', 4900),
  event('frank', '2025-12-05', 'professional', 4900),
  event('dave', '2025-12-15', 'professional', 4900),
  event('alice', '2026-01-05', 'professional', 4900),
  event('carol', '2026-01-20', 'professional', 4900), // cancel at period end: still paying until then
  event('bob', '2026-01-10', 'enterprise', 16583),
  // past_due: access kept during the grace (to 02-10), MRR too; recovered before it ends
  event('dave', '2026-02-03', 'professional', 4900, day('2026-02-03') + GRACE_MS),
  event('dave', '2026-02-09', 'professional', 4900), // recovered
  event('carol', '2026-02-10', 'free', 0), // back to free at the end of the period she cancelled
  event('alice', '2026-02-15', 'enterprise', 19900),
  event('carol', '2026-03-05', 'professional', 4900), // reactivation
  event('frank', '2026-03-10', 'free', 0),
  event('alice', '2026-03-20', 'professional', 4900),
  event('frank', '2026-03-25', 'professional', 4900),
];

export const createdAt: Record<string, number> = {
  alice: day('2025-12-10'),
  bob: day('2026-01-02'),
  carol: day('2025-11-01'),
  dave: day('2025-12-01'),
  erin: day('2026-02-20'),
  frank: day('2025-11-15'),
  gina: day('2025-12-20'),
};

/** One paid invoice, as the invoices table holds it. */
export interface Invoice {
  accountId: string;
  tier: TierId;
  amountPaidCents: number;
  setupFeeCents: number;
  amountRefundedCents: number;
  currency: string;
  paidAt: number;
}

const invoice = (
  accountId: string,
  date: string,
  tier: TierId,
  amountPaidCents: number,
  extra: Partial<Invoice> = {},
): Invoice => ({
  accountId,
  tier,
  amountPaidCents,
  setupFeeCents: 0,
  amountRefundedCents: 0,
  currency: 'usd',
  paidAt: day(date),
  ...extra,
});

export const invoices: Invoice[] = [
  invoice('carol', '2026-01-01', 'professional', 4900),
  invoice('alice', '2026-01-05', 'professional', 4900),
  invoice('frank', '2026-01-05', 'professional', 4900),
  invoice('bob', '2026-01-10', 'enterprise', 249000, { setupFeeCents: 50000 }),
  invoice('dave', '2026-01-15', 'professional', 4900, { amountRefundedCents: 4900 }),
  invoice('alice', '2026-02-05', 'professional', 4900),
  invoice('frank', '2026-02-05', 'professional', 4900),
  invoice('dave', '2026-02-09', 'professional', 4900),
  invoice('alice', '2026-02-15', 'enterprise', 9000), // the prorated upgrade
  invoice('carol', '2026-03-05', 'professional', 4900),
  invoice('alice', '2026-03-15', 'enterprise', 19900),
  invoice('dave', '2026-03-15', 'professional', 4900),
  invoice('frank', '2026-03-25', 'professional', 4900),
  invoice('alice', '2026-04-15', 'professional', 4900),
  invoice('alice', '2026-03-01', 'enterprise', 4500, { currency: 'eur' }), // another currency: left out
];

export const MONTHS = ['2026-01', '2026-02', '2026-03', '2026-04'];

/** A single invoice as the group of one the database's GROUP BY month and tier would give. */
export const asMonthGroup = (paid: Invoice): MonthTierInvoices => ({
  month: periodOf(paid.paidAt),
  tier: paid.tier,
  currency: paid.currency,
  invoices: 1,
  amountPaidCents: paid.amountPaidCents,
  setupFeeCents: paid.setupFeeCents,
  amountRefundedCents: paid.amountRefundedCents,
});

/**
 * Past-due subscriptions whose grace runs out (7 days), worked out by hand:
 *
 *   hana  professional monthly since 2026-01-20; renewal fails 02-20 (past due, grace to 02-27);
 *         the provider cancels only on 03-01 after its last retry. Churned in February: −49 $.
 *   ivan  professional monthly since 2026-01-20; renewal fails 02-20 (grace to 02-27); pays on the
 *         provider's last retry, 03-01. Churned in February, reactivation in March: +49 $.
 *   jo    professional monthly since 2026-01-20; renewal fails 02-25 (grace to 03-04), pays 03-02:
 *         inside the grace, no movement at all.
 *
 *              Jan          Feb                  Mar
 *   new        147 (3 × 49)
 *   churned                 98 (hana, ivan)
 *   reactiv.                                     49 (ivan)
 *   MRR end    147          49 (jo)              98 (ivan, jo)
 */
export const graceEvents: SubscriptionEventRecord[] = [
  event('hana', '2026-01-20', 'professional', 4900),
  event('ivan', '2026-01-20', 'professional', 4900),
  event('jo', '2026-01-20', 'professional', 4900),
  event('hana', '2026-02-20', 'professional', 4900, day('2026-02-20') + GRACE_MS),
  event('ivan', '2026-02-20', 'professional', 4900, day('2026-02-20') + GRACE_MS),
  event('jo', '2026-02-25', 'professional', 4900, day('2026-02-25') + GRACE_MS),
  event('hana', '2026-03-01', 'free', 0),
  event('ivan', '2026-03-01', 'professional', 4900),
  event('jo', '2026-03-02', 'professional', 4900),
];
