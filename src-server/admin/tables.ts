/** The admin console's tables (migration 008_admin_console). Times are UTC ms. */

export type AdminRole = 'owner' | 'support';

interface AdminUsersTable {
  id: string;
  /** Lower-cased; unique. */
  email: string;
  name: string;
  /** scrypt, as accounts' (src-server/accounts/passwords.ts). */
  password_hash: string;
  role: AdminRole;
  created_at: number;
}

interface AdminSessionsTable {
  /** SHA-256 of the bearer token (hex): a leaked database yields no usable session. */
  token_hash: string;
  admin_id: string;
  expires_at: number;
  created_at: number;
}

interface AuditLogTable {
  id: string;
  at: number;
  /** The admin user's id, or `token` for TOLLGATE_ADMIN_TOKEN (automation). */
  actor_id: string;
  actor_name: string;
  account_id: string | null;
  action: string;
  reason: string;
  before_json: string | null;
  after_json: string | null;
}

interface AccountOverridesTable {
  id: string;
  account_id: string;
  /** Extra units of this operation this period, or null for a feature override. */
  operation: string | null;
  extra_units: number | null;
  feature: string | null;
  expires_at: number;
  created_at: number;
}

interface AccountTrialsTable {
  account_id: string;
  tier: string;
  ends_at: number;
  granted_at: number;
  /** When the trial.ending webhook of this trial was written (migration 014_trials); null until then. */
  ending_notified_at: number | null;
}

export interface AdminTables {
  admin_users: AdminUsersTable;
  admin_sessions: AdminSessionsTable;
  audit_log: AuditLogTable;
  account_overrides: AccountOverridesTable;
  account_trials: AccountTrialsTable;
}
