import type { Selectable } from 'kysely';
import type { CheckoutReturn } from '../../src-shared/api.ts';
import type { Database, SubscriptionRow } from '../db/schema.ts';
import type { Plan, PlanChange } from './plan-change.ts';
import type { ProviderName } from './subscription-state.ts';

/**
 * What the billing routes need from a payment provider. Stripe and the local test provider both
 * implement it, and both report outcomes through SubscriptionStore.apply, so an account's tier
 * changes only when the provider has confirmed the change.
 */

export interface BillingAccount {
  id: string;
  email: string;
}

export interface PaymentProvider {
  readonly name: ProviderName;
  /** A hosted page where the customer pays for a plan. */
  checkout(
    account: BillingAccount,
    row: SubscriptionRow,
    plan: Plan,
    returnTo: CheckoutReturn,
  ): Promise<{ url: string; sessionId: string }>;
  /** Where the customer manages payment methods and invoices. */
  portal(account: BillingAccount, row: SubscriptionRow, returnTo: CheckoutReturn): Promise<{ url: string }>;
  /** Moves a live subscription to another plan, now or at the end of the period as `change` says. */
  changePlan(account: BillingAccount, row: SubscriptionRow, plan: Plan, change: PlanChange): Promise<void>;
  /** `true`: cancel at the end of the period; `false`: keep renewing (undo a scheduled cancel). */
  setCancelAtPeriodEnd(account: BillingAccount, row: SubscriptionRow, cancel: boolean): Promise<void>;
  /**
   * Gives back `amountCents` of a paid invoice to the customer's card, and records the invoice's new
   * refunded total through SubscriptionStore.apply. `key` makes a repeated request one refund.
   */
  refund(invoice: RefundableInvoice, amountCents: number, reason: string, key: string): Promise<void>;
}

/** A paid invoice as the invoices table holds it, with what was refunded of it so far. */
export type RefundableInvoice = Selectable<Database['invoices']>;

/**
 * Who took an invoice's money, from its id: the local provider's ids start `local_in_`, a Custom
 * contract's `contract_` (paid outside any provider), everything else is Stripe's.
 */
export function invoicePaidThrough(invoiceId: string): ProviderName | 'contract' {
  if (invoiceId.startsWith('local_')) return 'local';
  if (invoiceId.startsWith('contract_')) return 'contract';
  return 'stripe';
}

/** A provider refused or failed; the message is safe to show (it never carries keys). */
export class PaymentProviderError extends Error {
  override readonly name = 'PaymentProviderError';
}
