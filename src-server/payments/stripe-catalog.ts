import type Stripe from 'stripe';
import type { BillingCycle } from '../../src-shared/api.ts';
import { type Catalog, TierId } from '../../src-shared/catalog.ts';
import { catalogPriceSpecs, type PriceKind, type PriceSpec, planOfLookupKey } from './catalog-prices.ts';
import type { Plan } from './plan-change.ts';

/**
 * The catalog in Stripe: Products and Prices created from the catalog and found again by
 * `lookup_key`. Prices are immutable in Stripe, so a changed amount makes a new Price that takes
 * over the lookup key (`transfer_lookup_key`) and archives the old one; existing subscribers keep
 * the price they bought until they change plan.
 */

interface SyncReport {
  created: string[];
  replaced: string[];
  unchanged: string[];
}

/** Stripe answers at most 10 lookup keys per list call. */
const LOOKUP_KEYS_PER_CALL = 10;

export async function pricesByLookupKey(stripe: Stripe, lookupKeys: string[]): Promise<Map<string, Stripe.Price>> {
  const found = new Map<string, Stripe.Price>();
  for (let index = 0; index < lookupKeys.length; index += LOOKUP_KEYS_PER_CALL) {
    const page = await stripe.prices.list({
      lookup_keys: lookupKeys.slice(index, index + LOOKUP_KEYS_PER_CALL),
      active: true,
      limit: 100,
    });
    for (const price of page.data) if (price.lookup_key) found.set(price.lookup_key, price);
  }
  return found;
}

function matches(price: Stripe.Price, spec: PriceSpec): boolean {
  const product = typeof price.product === 'string' ? price.product : price.product.id;
  return (
    price.unit_amount === spec.unitAmountCents &&
    price.currency === spec.currency &&
    product === spec.productId &&
    (price.recurring?.interval ?? null) === spec.interval
  );
}

async function ensureProduct(stripe: Stripe, spec: PriceSpec): Promise<void> {
  try {
    const product = await stripe.products.retrieve(spec.productId);
    if (product.name !== spec.productName || !product.active) {
      await stripe.products.update(
        spec.productId,
        { name: spec.productName, active: true },
        { idempotencyKey: `tollgate-product-${spec.productId}-${spec.productName}` },
      );
    }
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    await stripe.products.create(
      { id: spec.productId, name: spec.productName, metadata: { tollgate_tier: spec.tier } },
      { idempotencyKey: `tollgate-product-${spec.productId}` },
    );
  }
}

/** Creates or replaces whatever differs from the catalog; running it twice changes nothing. */
export async function syncCatalogToStripe(stripe: Stripe, catalog: Catalog): Promise<SyncReport> {
  const specs = catalogPriceSpecs(catalog);
  const report: SyncReport = { created: [], replaced: [], unchanged: [] };
  const products = new Map(specs.map((spec) => [spec.productId, spec]));
  for (const spec of products.values()) await ensureProduct(stripe, spec);
  const existing = await pricesByLookupKey(
    stripe,
    specs.map((spec) => spec.lookupKey),
  );
  for (const spec of specs) {
    const current = existing.get(spec.lookupKey);
    if (current && matches(current, spec)) {
      report.unchanged.push(spec.lookupKey);
      continue;
    }
    const shape = `${spec.unitAmountCents}-${spec.currency}-${spec.interval ?? 'once'}`;
    await stripe.prices.create(
      {
        product: spec.productId,
        currency: spec.currency,
        unit_amount: spec.unitAmountCents,
        lookup_key: spec.lookupKey,
        transfer_lookup_key: current !== undefined,
        ...(spec.interval ? { recurring: { interval: spec.interval } } : {}),
        metadata: { tollgate_tier: spec.tier, tollgate_kind: spec.kind },
      },
      { idempotencyKey: `tollgate-price-${spec.lookupKey}-${shape}-replacing-${current?.id ?? 'none'}` },
    );
    if (current) {
      await stripe.prices.update(current.id, { active: false }, { idempotencyKey: `tollgate-archive-${current.id}` });
      report.replaced.push(spec.lookupKey);
    } else {
      report.created.push(spec.lookupKey);
    }
  }
  return report;
}

/**
 * What a Stripe price sells: read from the metadata the sync wrote (which survives a price being
 * replaced and losing its lookup key), else from the lookup key.
 */
export function priceKind(price: Stripe.Price): { tier: TierId; kind: PriceKind } | null {
  const tier = TierId.safeParse(price.metadata?.tollgate_tier);
  const kind = price.metadata?.tollgate_kind;
  if (tier.success && (kind === 'monthly' || kind === 'yearly' || kind === 'setup_fee')) {
    return { tier: tier.data, kind };
  }
  const plan = planOfLookupKey(price.lookup_key);
  return plan ? { tier: plan.tier, kind: plan.cycle } : null;
}

export function planOfPrice(price: Stripe.Price): Plan | null {
  const found = priceKind(price);
  if (!found || found.kind === 'setup_fee') return null;
  return { tier: found.tier, cycle: found.kind as BillingCycle };
}
