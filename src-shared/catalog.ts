import { z } from 'zod';
import defaultCatalogData from './catalog.default.json' with { type: 'json' };

/**
 * The catalog: tiers, their limits, features and prices, as data. A vendor edits a JSON file; this
 * module validates it and answers the questions every runtime asks of it. Money is integer cents.
 */

export const TIER_IDS = ['free', 'professional', 'enterprise', 'custom'] as const;
export const TierId = z.enum(TIER_IDS);
export type TierId = z.infer<typeof TierId>;

/** `-1` means unlimited, everywhere a limit appears. */
export const UNLIMITED = -1;

const limitValue = z
  .number({ error: 'expected a whole number (use -1 for unlimited)' })
  .int({ error: 'expected a whole number (use -1 for unlimited)' })
  .min(-1, { error: 'expected -1 (unlimited) or a number of 0 or more' });

const cents = z
  .number({ error: 'expected a price in whole cents' })
  .int({ error: 'expected a price in whole cents' })
  .min(0, { error: 'a price cannot be negative' });

const identifier = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, { error: 'expected a lower_snake_case identifier' });

export const Prices = z.strictObject({
  monthly_cents: cents,
  yearly_cents: cents,
  setup_fee_cents: cents,
});
export type Prices = z.infer<typeof Prices>;

export const Limits = z.strictObject({
  /** Monthly quota per metered operation (calendar month, UTC). */
  monthly: z.record(identifier, limitValue),
  max_project_size_mb: limitValue,
  api_calls_per_hour: limitValue,
  /** Devices that may hold a license at once (activated and not released or expired). */
  max_devices: limitValue,
});
export type Limits = z.infer<typeof Limits>;

export const Tier = z.strictObject({
  id: TierId,
  name: z.string().min(1).max(60),
  limits: Limits,
  support_level: z.string().min(1).max(40),
  features: z.array(identifier).max(200),
  /** `"negotiated"` for a tier whose accounts each carry their own contract (custom). */
  prices: z.union([Prices, z.literal('negotiated')], {
    error: 'expected { monthly_cents, yearly_cents, setup_fee_cents } or "negotiated"',
  }),
});
export type Tier = z.infer<typeof Tier>;

/** The cardless trial a free account may start once (POST /v1/trial): which paid tier, for how many days. */
const TrialOffer = z.strictObject({
  tier: TierId,
  days: z
    .number({ error: 'expected a whole number of days' })
    .int({ error: 'expected a whole number of days' })
    .min(1, { error: 'a trial lasts at least 1 day' })
    .max(365, { error: 'a trial lasts at most 365 days' }),
});

const CatalogShape = z.strictObject({
  currency: z.string().regex(/^[a-z]{3}$/, { error: 'expected a three-letter ISO currency code in lower case' }),
  operations: z.record(identifier, z.strictObject({ label: z.string().min(1).max(60) })),
  tiers: z.array(Tier).min(1),
  /** Absent: no self-service trial. */
  trial: TrialOffer.optional(),
});

const CatalogSchema = CatalogShape.superRefine((catalog, ctx) => {
  const seen = new Set<string>();
  catalog.tiers.forEach((tier, index) => {
    if (seen.has(tier.id)) {
      ctx.addIssue({ code: 'custom', path: ['tiers', index, 'id'], message: `tier "${tier.id}" appears twice` });
    }
    seen.add(tier.id);
    for (const operation of Object.keys(catalog.operations)) {
      if (!(operation in tier.limits.monthly)) {
        ctx.addIssue({
          code: 'custom',
          path: ['tiers', index, 'limits', 'monthly', operation],
          message: `missing: every tier needs a monthly limit for operation "${operation}"`,
        });
      }
    }
    for (const operation of Object.keys(tier.limits.monthly)) {
      if (!Object.hasOwn(catalog.operations, operation)) {
        ctx.addIssue({
          code: 'custom',
          path: ['tiers', index, 'limits', 'monthly', operation],
          message: `unknown operation "${operation}"; declare it under "operations" first`,
        });
      }
    }
  });
  if (!seen.has('free')) {
    ctx.addIssue({ code: 'custom', path: ['tiers'], message: 'a "free" tier is required: new accounts start on it' });
  }
  const trialTier = catalog.tiers.find((tier) => tier.id === catalog.trial?.tier);
  if (catalog.trial && !trialTier) {
    ctx.addIssue({
      code: 'custom',
      path: ['trial', 'tier'],
      message: `tier "${catalog.trial.tier}" is not in "tiers"; a trial gives one of the catalog's tiers`,
    });
  } else if (trialTier && (trialTier.id === 'free' || trialTier.prices === 'negotiated')) {
    ctx.addIssue({
      code: 'custom',
      path: ['trial', 'tier'],
      message: `a trial gives a paid tier with a price list, not "${trialTier.id}"`,
    });
  }
});

export type Catalog = z.infer<typeof CatalogShape>;

export class CatalogError extends Error {
  override readonly name = 'CatalogError';
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => {
    if (typeof key === 'number') return `${text}[${key}]`;
    return text === '' ? String(key) : `${text}.${String(key)}`;
  }, '');
}

/** Validates catalog data; throws a CatalogError whose message names every bad field. */
export function parseCatalog(data: unknown, source = 'catalog'): Catalog {
  const result = CatalogSchema.safeParse(data);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const where = formatPath(issue.path) || '(top level)';
    return `  ${where}: ${issue.message}`;
  });
  throw new CatalogError(`${source} is not a valid catalog:\n${lines.join('\n')}`);
}

export const defaultCatalog: Catalog = parseCatalog(defaultCatalogData, 'the built-in catalog');

export function findTier(catalog: Catalog, id: TierId): Tier {
  const tier = catalog.tiers.find((candidate) => candidate.id === id);
  if (tier) return tier;
  // Every catalog has a free tier (checked when parsed), so unknown tiers degrade to it.
  return catalog.tiers.find((candidate) => candidate.id === 'free') as Tier;
}

export function monthlyPriceCents(tier: Tier): number | null {
  return tier.prices === 'negotiated' ? null : tier.prices.monthly_cents;
}

/** Tiers from cheapest to dearest by monthly price; negotiated tiers last, file order breaks ties. */
export function tiersByPrice(catalog: Catalog): Tier[] {
  return catalog.tiers
    .map((tier, index) => ({ tier, index }))
    .sort((a, b) => {
      const pa = monthlyPriceCents(a.tier) ?? Number.POSITIVE_INFINITY;
      const pb = monthlyPriceCents(b.tier) ?? Number.POSITIVE_INFINITY;
      return pa === pb ? a.index - b.index : pa - pb;
    })
    .map(({ tier }) => tier);
}

/**
 * The features a tier really grants: its own plus those of every cheaper tier, so moving up never
 * takes a feature away (the seed lists only what each tier adds).
 */
export function effectiveFeatures(catalog: Catalog, id: TierId): string[] {
  const ordered = tiersByPrice(catalog);
  const features = new Set<string>();
  for (const tier of ordered) {
    for (const feature of tier.features) features.add(feature);
    if (tier.id === id) break;
  }
  return [...features];
}

export function yearlySavingCents(tier: Tier): number {
  if (tier.prices === 'negotiated') return 0;
  return Math.max(0, tier.prices.monthly_cents * 12 - tier.prices.yearly_cents);
}
