import type { Transaction } from 'kysely';
import type { Limits } from '../../src-shared/catalog.ts';
import { newId } from '../db/ids.ts';
import type { Database, SubscriptionRow } from '../db/schema.ts';

/**
 * A negotiated Custom contract, recorded by an administrator: the account moves to the `custom`
 * tier with the contract's limits and features, the change is a subscription event whose MRR is the
 * negotiated price (a twelfth of it when yearly), and the first period's charge plus the setup fee
 * is a paid invoice — so MRR, ARPU, revenue and the CSV exports count it like any other plan.
 */

export interface ContractTerms {
  cycle: 'monthly' | 'yearly';
  /** The price of one cycle, in the catalog's currency. */
  priceCents: number;
  setupFeeCents: number;
  limits: Limits;
  features: string[];
}

const CYCLE_MS = { monthly: 30 * 24 * 60 * 60 * 1000, yearly: 365 * 24 * 60 * 60 * 1000 };

function contractMrrCents(terms: Pick<ContractTerms, 'cycle' | 'priceCents'>): number {
  return terms.cycle === 'yearly' ? Math.round(terms.priceCents / 12) : terms.priceCents;
}

export async function recordContract(
  trx: Transaction<Database>,
  row: SubscriptionRow,
  terms: ContractTerms,
  currency: string,
  now: number,
): Promise<void> {
  const accountId = row.account_id;
  const periodEnd = now + CYCLE_MS[terms.cycle];
  await trx
    .updateTable('subscriptions')
    .set({
      tier: 'custom',
      status: 'active',
      cycle: terms.cycle,
      current_period_start: now,
      current_period_end: periodEnd,
      cancel_at_period_end: 0,
      pending_tier: null,
      pending_cycle: null,
      past_due_since: null,
      custom_limits_json: JSON.stringify(terms.limits),
      custom_features_json: JSON.stringify(terms.features),
      updated_at: now,
    })
    .where('account_id', '=', accountId)
    .execute();
  const last = await trx
    .selectFrom('subscription_events')
    .select(['at', 'mrr_after_cents'])
    .where('account_id', '=', accountId)
    .orderBy('at', 'desc')
    .limit(1)
    .executeTakeFirst();
  const mrrBefore = Number(last?.mrr_after_cents ?? 0);
  const mrrAfter = contractMrrCents(terms);
  await trx
    .insertInto('subscription_events')
    .values({
      id: newId('evt'),
      account_id: accountId,
      at: Math.max(now, Number(last?.at ?? 0) + 1),
      kind: mrrBefore === 0 ? 'start' : mrrAfter >= mrrBefore ? 'upgrade' : 'downgrade',
      from_tier: row.tier,
      to_tier: 'custom',
      from_cycle: row.cycle,
      to_cycle: terms.cycle,
      mrr_before_cents: mrrBefore,
      mrr_after_cents: mrrAfter,
    })
    .execute();
  await trx
    .insertInto('invoices')
    .values({
      id: newId('contract'),
      account_id: accountId,
      tier: 'custom',
      cycle: terms.cycle,
      amount_paid_cents: terms.priceCents + terms.setupFeeCents,
      setup_fee_cents: terms.setupFeeCents,
      amount_refunded_cents: 0,
      currency,
      period_start: now,
      period_end: periodEnd,
      paid_at: now,
    })
    .execute();
}
