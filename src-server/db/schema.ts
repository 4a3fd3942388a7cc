import type { Insertable, Selectable, Updateable } from 'kysely';
import type { AdminTables } from '../admin/tables.ts';
import type { AnalyticsTables } from '../analytics/tables.ts';
import type { OutboxTables } from '../outbox/tables.ts';
import type { PaymentsTables } from '../payments/tables.ts';
import type { PlansTables } from '../plans/tables.ts';

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
  /**
   * scrypt, self-describing: `scrypt$N$r$p$salt$hash` (base64url). Empty: an account imported from
   * Stripe that its customer has not claimed yet (src-server/accounts/accounts.ts).
   */
  password_hash: string;
  created_at: number;
}

/**
 * A one-time code that claims an unclaimed imported account, e-mailed to its address
 * (017_import_claims, src-server/accounts/claims.ts).
 */
interface AccountClaimsTable {
  /** SHA-256 of the code (hex): the code itself is only in the e-mail. */
  code_hash: string;
  account_id: string;
  created_at: number;
  expires_at: number;
  /** Set by the one claim that used it. */
  used_at: number | null;
}

/** Recent failed sign-ins per address (021_sign_in_failures, src-server/accounts/sign-in-throttle.ts). */
interface SignInFailuresTable {
  /** Trimmed and lower-cased, as typed at sign-in (the address need not have an account). */
  email: string;
  failures: number;
  /** No password is checked for this address before this time. */
  blocked_until: number;
  last_failed_at: number;
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

type LeaseStatus = 'held' | 'returned' | 'expired';

interface LeasesTable {
  id: string;
  account_id: string;
  device_id: string;
  operation: string;
  period: string;
  /** Units held for the device now (also counted in usage_counters.reserved while `held`). */
  held: number;
  /** Units the device's synced events took from the lease this period. */
  spent: number;
  status: LeaseStatus;
  /** When the server gives the held units back if the lease is not renewed (after the signed expiry). */
  expires_at: number;
  created_at: number;
  updated_at: number;
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

interface DevicesTable {
  account_id: string;
  /** The companion's machine-derived id (src-main/device-id.ts). */
  device_id: string;
  name: string;
  os: string;
  app_version: string;
  activated_at: number;
  last_seen_at: number;
  /** null while active; set when the user released it or it expired. */
  released_at: number | null;
  release_reason: 'released' | 'expired' | null;
}

interface CoreTables {
  accounts: AccountsTable;
  sessions: SessionsTable;
  subscriptions: SubscriptionsTable;
  usage_counters: UsageCountersTable;
  usage_events: UsageEventsTable;
  reservations: ReservationsTable;
  leases: LeasesTable;
  notifications: NotificationsTable;
  signing_keys: SigningKeysTable;
  devices: DevicesTable;
  account_claims: AccountClaimsTable;
  sign_in_failures: SignInFailuresTable;
}

/** The highest usage-journal <seq> a device sent for an account (012_journal_heads). */
interface JournalHeadsTable {
  account_id: string;
  device_id: string;
  /** bigint: PostgreSQL returns it as a string. */
  seq: number | string;
  updated_at: number;
}

interface JournalTables {
  journal_heads: JournalHeadsTable;
}

export interface Database
  extends CoreTables,
    PaymentsTables,
    JournalTables,
    OutboxTables,
    AdminTables,
    PlansTables,
    AnalyticsTables {}

export type AccountRow = Selectable<AccountsTable>;
export type DeviceRow = Selectable<DevicesTable>;
export type SubscriptionRow = Selectable<SubscriptionsTable>;
export type NewSubscription = Insertable<SubscriptionsTable>;
export type SubscriptionUpdate = Updateable<SubscriptionsTable>;
export type NotificationRow = Selectable<NotificationsTable>;
export type ReservationRow = Selectable<ReservationsTable>;
