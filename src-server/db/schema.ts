import type { Insertable, Selectable, Updateable } from 'kysely';
import type { AdminTables } from '../admin/tables.ts';
import type { PaymentsTables } from '../payments/tables.ts';

/**
 * The database schema as Kysely sees it. Every time is a bigint of UTC milliseconds; every flag is an
 * integer 0/1 (the same on SQLite and PostgreSQL); JSON is stored as text.
 *
 * Other areas own their tables in their own files and join them here with one line each:
 *   `export interface Database extends CoreTables, PaymentsTables, AnalyticsTables {}`
 */

interface AccountsTable {
  id: string;
  /** Lower-cased; unique. */
  email: string;
  /** scrypt, self-describing: `scrypt$N$r$p$salt$hash` (base64url). */
  password_hash: string;
  created_at: number;
}

interface SessionsTable {
  id: string;
  account_id: string;
  /** SHA-256 of the access token (hex): a leaked database never yields usable tokens. */
  access_token_hash: string;
  access_expires_at: number;
  refresh_token_hash: string;
  refresh_expires_at: number;
  created_at: number;
  revoked_at: number | null;
}

type SubscriptionProvider = 'none' | 'local' | 'stripe';

interface SubscriptionsTable {
  account_id: string;
  tier: string;
  /** A Stripe-style status: see SUBSCRIPTION_STATUSES in src-shared/license.ts. */
  status: string;
  cycle: 'monthly' | 'yearly' | null;
  current_period_start: number | null;
  current_period_end: number | null;
  cancel_at_period_end: number;
  pending_tier: string | null;
  pending_cycle: 'monthly' | 'yearly' | null;
  past_due_since: number | null;
  provider: SubscriptionProvider;
  provider_customer_id: string | null;
  provider_subscription_id: string | null;
  /** A custom contract's limits (src-shared Limits as JSON), replacing the tier's. */
  custom_limits_json: string | null;
  /** A custom contract's features (JSON array), replacing the tier's. */
  custom_features_json: string | null;
  updated_at: number;
}

interface UsageCountersTable {
  account_id: string;
  operation: string;
  /** YYYY-MM (UTC calendar month). */
  period: string;
  used: number;
  /** Units held by open reservations; they count against the limit until committed or released. */
  reserved: number;
}

export type UsageEventStatus = 'accepted' | 'rejected';

export interface UsageEventsTable {
  account_id: string;
  idempotency_key: string;
  operation: string;
  units: number;
  period: string;
  status: UsageEventStatus;
  /** The first answer, `{ status, body }`, returned again verbatim when the key is repeated. */
  result_json: string;
  /** When the device says it happened (informational); null for server-side consumes. */
  occurred_at: number | null;
  created_at: number;
}

type ReservationStatus = 'held' | 'committed' | 'released' | 'expired';

interface ReservationsTable {
  id: string;
  account_id: string;
  idempotency_key: string;
  operation: string;
  units: number;
  period: string;
  status: ReservationStatus;
  expires_at: number;
  created_at: number;
  settled_at: number | null;
}

export interface NotificationsTable {
  id: string;
  account_id: string;
  kind: 'usage_threshold';
  operation: string;
  period: string;
  /** 80 or 100 (% of the monthly limit). Unique per account, operation and period. */
  threshold: number;
  used: number;
  limit_value: number;
  created_at: number;
  read_at: number | null;
}

interface SigningKeysTable {
  /** 'license': one row every server process shares, inserted once by whichever starts first. */
  id: string;
  kid: string;
  private_jwk: string;
  public_jwk: string;
  created_at: number;
}

interface CoreTables {
  accounts: AccountsTable;
  sessions: SessionsTable;
  subscriptions: SubscriptionsTable;
  usage_counters: UsageCountersTable;
  usage_events: UsageEventsTable;
  reservations: ReservationsTable;
  notifications: NotificationsTable;
  signing_keys: SigningKeysTable;
}

export interface Database extends CoreTables, PaymentsTables, AdminTables {}

export type AccountRow = Selectable<AccountsTable>;
export type SubscriptionRow = Selectable<SubscriptionsTable>;
export type NewSubscription = Insertable<SubscriptionsTable>;
export type SubscriptionUpdate = Updateable<SubscriptionsTable>;
export type NotificationRow = Selectable<NotificationsTable>;
export type ReservationRow = Selectable<ReservationsTable>;
