import type { BillingCycle, UpgradeSuggestion } from '../../src-shared/api.ts';
import { formatMoney } from '../../src-shared/format.ts';

/** "$49 / month" for an offer in the cycle the user has chosen; "contact sales" for negotiated plans. */
export function offerPrice(offer: UpgradeSuggestion, cycle: BillingCycle, currency: string): string {
  if (offer.contactSales) return 'price on request';
  const cents = cycle === 'yearly' ? offer.yearlyPriceCents : offer.monthlyPriceCents;
  if (cents === null) return 'price on request';
  return `${formatMoney(cents, currency)} / ${cycle === 'yearly' ? 'year' : 'month'}`;
}
