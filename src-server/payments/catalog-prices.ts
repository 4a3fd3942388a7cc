import type { BillingCycle } from '../../src-shared/api.ts';
import { type Catalog, TierId } from '../../src-shared/catalog.ts';

/**
 * How the catalog appears in a payment provider: one product per paid tier (plus one for a setup
 * fee), and one price per (tier, cycle) found again by its `lookup_key`, so a price can be replaced
 * (amount changed in the catalog) without any code or configuration naming a price id.
 */

const PREFIX = 'tollgate';

export type PriceKind = BillingCycle | 'setup_fee';

export interface PriceSpec {
  lookupKey: string;
  tier: TierId;
  kind: PriceKind;
  productId: string;
  productName: string;
  unitAmountCents: number;
  currency: string;
  /** null for the one-time setup fee. */
  interval: 'month' | 'year' | null;
}

export function priceLookupKey(tier: TierId, kind: PriceKind): string {
  return `${PREFIX}_${tier}_${kind}`;
}

/** Every price the catalog sells through a provider: negotiated and zero-priced tiers are not sold. */
export function catalogPriceSpecs(catalog: Catalog): PriceSpec[] {
  const specs: PriceSpec[] = [];
  for (const tier of catalog.tiers) {
    if (tier.prices === 'negotiated' || tier.prices.monthly_cents === 0) continue;
    const product = { productId: `${PREFIX}_${tier.id}`, productName: `${tier.name} plan` };
    specs.push(
      {
        ...product,
        lookupKey: priceLookupKey(tier.id, 'monthly'),
        tier: tier.id,
        kind: 'monthly',
        unitAmountCents: tier.prices.monthly_cents,
        currency: catalog.currency,
        interval: 'month',
      },
      {
        ...product,
        lookupKey: priceLookupKey(tier.id, 'yearly'),
        tier: tier.id,
        kind: 'yearly',
        unitAmountCents: tier.prices.yearly_cents,
        currency: catalog.currency,
        interval: 'year',
      },
    );
    if (tier.prices.setup_fee_cents > 0) {
      specs.push({
        productId: `${PREFIX}_${tier.id}_setup`,
        productName: `${tier.name} setup fee`,
        lookupKey: priceLookupKey(tier.id, 'setup_fee'),
        tier: tier.id,
        kind: 'setup_fee',
        unitAmountCents: tier.prices.setup_fee_cents,
        currency: catalog.currency,
        interval: null,
      });
    }
  }
  return specs;
}

/** The plan a recurring price's lookup key names; null for keys this catalog did not make. */
export function planOfLookupKey(lookupKey: string | null | undefined): { tier: TierId; cycle: BillingCycle } | null {
  const match = /^tollgate_([a-z]+)_(monthly|yearly)$/.exec(lookupKey ?? '');
  if (!match) return null;
  const tier = TierId.safeParse(match[1]);
  if (!tier.success) return null;
  return { tier: tier.data, cycle: match[2] as BillingCycle };
}
