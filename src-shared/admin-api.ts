import { z } from 'zod';
import { TierId } from './catalog.ts';
import { PERIOD_PATTERN } from './period.ts';

/**
 * The vendor's analytics API (`/v1/admin/…`), shared by the server's route schemas and the
 * dashboard that reads it. Money is integer cents; rates are fractions (0.05 = 5 %) and null when
 * their denominator is zero; instants are ISO strings. Definitions: docs/analytics.md.
 */

const cents = z.number().int();
const count = z.number().int().min(0);
const rate = z.number().nullable();
const Month = z.string().regex(PERIOD_PATTERN, { error: 'expected a month as YYYY-MM' });

export const REPORT_NAMES = ['mrr', 'revenue', 'usage', 'upsell', 'ltv', 'funnel'] as const;
export const ReportName = z.enum(REPORT_NAMES);
export type ReportName = z.infer<typeof ReportName>;

export const MonthQuery = z.strictObject({ month: Month.optional() });
export const SeriesQuery = z.strictObject({
  month: Month.optional(),
  /** How many months the series covers, ending with `month`. */
  months: z.coerce.number().int().min(1).max(36).optional(),
});
export const ListQuery = z.strictObject({
  month: Month.optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export const MrrMovements = z.object({
  newCents: cents,
  expansionCents: cents,
  contractionCents: cents,
  churnedCents: cents,
  reactivationCents: cents,
  /** new + expansion + reactivation − contraction − churned = this month's MRR − last month's. */
  netNewCents: cents,
  newAccounts: count,
  expansionAccounts: count,
  contractionAccounts: count,
  churnedAccounts: count,
  reactivationAccounts: count,
});
export type MrrMovements = z.infer<typeof MrrMovements>;

export const MrrMonth = z.object({
  month: Month,
  mrrCents: cents,
  arrCents: cents,
  subscribers: count,
  movements: MrrMovements,
  /** (MRR − last month's MRR) / last month's MRR. */
  growthRate: rate,
});
export type MrrMonth = z.infer<typeof MrrMonth>;

const Conversion = z.object({
  /** Accounts whose first paid subscription started this month. */
  converted: count,
  /** Accounts that existed by the month's end and had never paid before it began. */
  eligible: count,
  rate,
});

export const SummaryResponse = z.object({
  month: Month,
  currency: z.string(),
  mrr: MrrMonth,
  subscribersByTier: z.partialRecord(TierId, count),
  freeAccounts: count,
  accounts: count,
  conversion: Conversion,
  logoChurnRate: rate,
  revenueChurnRate: rate,
  netRevenueChurnRate: rate,
  arpuCents: cents.nullable(),
  /** ARPU / monthly revenue churn; null when nothing churned (no finite estimate). */
  ltvCents: cents.nullable(),
  /** Revenue collected this month, net of refunds, setup fees included. */
  revenueNetCents: cents,
});
export type SummaryResponse = z.infer<typeof SummaryResponse>;

export const MrrSeriesResponse = z.object({ currency: z.string(), months: z.array(MrrMonth) });
export type MrrSeriesResponse = z.infer<typeof MrrSeriesResponse>;

export const RevenueLine = z.object({
  invoices: count,
  /** Amount paid, setup fees included. */
  grossCents: cents,
  setupFeeCents: cents,
  refundedCents: cents,
  /** gross − refunded. */
  netCents: cents,
});
export type RevenueLine = z.infer<typeof RevenueLine>;

export const RevenueMonth = z.object({
  month: Month,
  byTier: z.partialRecord(TierId, RevenueLine),
  total: RevenueLine,
});
export type RevenueMonth = z.infer<typeof RevenueMonth>;

export const RevenueResponse = z.object({ currency: z.string(), months: z.array(RevenueMonth) });
export type RevenueResponse = z.infer<typeof RevenueResponse>;

export const UsageCell = z.object({
  tier: TierId,
  /** -1 when unlimited. */
  limit: z.number().int(),
  /** Accounts with any use of the operation this month. */
  accounts: count,
  used: count,
  /** Accounts that used at least 80 % of the limit (those at 100 % included). */
  atLeast80: count,
  atLimit: count,
});
export type UsageCell = z.infer<typeof UsageCell>;

export const UsageResponse = z.object({
  month: Month,
  operations: z.array(
    z.object({
      operation: z.string(),
      label: z.string(),
      used: count,
      byTier: z.array(UsageCell),
    }),
  ),
});
export type UsageResponse = z.infer<typeof UsageResponse>;

export const UpsellCandidate = z.object({
  accountId: z.string(),
  email: z.string(),
  tier: TierId,
  operation: z.string(),
  used: count,
  limit: count,
  /** used / limit. */
  ratio: z.number(),
  /** The cheapest tier whose limit covers this use; null when none does. */
  suggestedTier: TierId.nullable(),
});
export type UpsellCandidate = z.infer<typeof UpsellCandidate>;

export const UpsellResponse = z.object({
  month: Month,
  total: count,
  candidates: z.array(UpsellCandidate),
});
export type UpsellResponse = z.infer<typeof UpsellResponse>;

export const AccountLtv = z.object({
  accountId: z.string(),
  email: z.string(),
  tier: TierId,
  /** MRR at the end of the month asked for. */
  mrrCents: cents,
  firstPaidAt: z.string().nullable(),
  invoices: count,
  /** Everything the account paid up to the month's end, setup fees included, refunds subtracted. */
  totalPaidCents: cents,
  setupFeeCents: cents,
  refundedCents: cents,
});
export type AccountLtv = z.infer<typeof AccountLtv>;

export const LtvListResponse = z.object({
  month: Month,
  /** The formula estimate for the month (ARPU / revenue churn), as in the summary. */
  estimatedLtvCents: cents.nullable(),
  accounts: z.array(AccountLtv),
});
export type LtvListResponse = z.infer<typeof LtvListResponse>;

/** The conversion funnel's steps, in order (docs/analytics.md, "Conversion funnel"). */
export const FUNNEL_STEPS = [
  'signed_up',
  'first_use',
  'limit_reached',
  'prompt_shown',
  'checkout_started',
  'paid',
] as const;
export const FunnelStepName = z.enum(FUNNEL_STEPS);
export type FunnelStepName = z.infer<typeof FunnelStepName>;

export const FunnelStep = z.object({
  step: FunnelStepName,
  label: z.string(),
  /** Accounts of the cohort that reached this step and every step before it. */
  accounts: count,
  /** Accounts of the cohort that reached this step, whichever steps they skipped. */
  reachedAnyPath: count,
  /** accounts / the previous step's accounts; null for the first step or an empty previous step. */
  fromPreviousRate: rate,
  /** accounts / the cohort's size. */
  fromSignUpRate: rate,
});
export type FunnelStep = z.infer<typeof FunnelStep>;

export const FunnelMonth = z.object({
  /** The cohort: accounts that signed up in this month. */
  month: Month,
  /** The steps were counted up to this instant: a young cohort still moves. */
  asOf: z.string(),
  steps: z.array(FunnelStep),
});
export type FunnelMonth = z.infer<typeof FunnelMonth>;

export const FunnelResponse = z.object({ months: z.array(FunnelMonth) });
export type FunnelResponse = z.infer<typeof FunnelResponse>;
