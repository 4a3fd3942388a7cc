import type { ColumnType } from 'kysely';
import type { SubscriptionEventKind } from './subscription-state.ts';

/**
 * The payments tables (migration 002_payments). Analytics reads subscription_events and invoices,
 * so their names and columns are a contract. Times are UTC ms; money is integer cents.
 */

interface WebhookEventsTable {
  /** The provider's event id: stored in the same transaction as the event's effect. */
  id: string;
  type: string;
  received_at: number;
}

interface SubscriptionEventsTable {
  id: string;
  account_id: string;
  at: number;
  kind: SubscriptionEventKind;
  from_tier: string;
  to_tier: string;
  from_cycle: 'monthly' | 'yearly' | null;
  to_cycle: 'monthly' | 'yearly' | null;
  mrr_before_cents: number;
  mrr_after_cents: number;
  /**
   * When `mrr_after_cents` ends by itself unless a later event changes it first (migration
   * 013_event_dates): a past-due subscription's grace end. Null: it lasts until the next event.
   */
  mrr_ends_at: ColumnType<number | null, number | null | undefined, number | null>;
}

interface InvoicesTable {
  /** The provider's invoice id. */
  id: string;
  account_id: string;
  tier: string;
  cycle: 'monthly' | 'yearly' | null;
  /** Everything the invoice collected, setup fee and prorations included. */
  amount_paid_cents: number;
  /** The part of amount_paid_cents that was a one-time setup fee (never MRR). */
  setup_fee_cents: number;
  amount_refunded_cents: number;
  currency: string;
  period_start: number;
  period_end: number;
  paid_at: number;
}

export interface PaymentsTables {
  webhook_events: WebhookEventsTable;
  subscription_events: SubscriptionEventsTable;
  invoices: InvoicesTable;
}
