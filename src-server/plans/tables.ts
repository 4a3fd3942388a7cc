/** The plans domain's own table (migration 014_trials). Times are UTC ms. */

interface TrialClaimsTable {
  /** One self-service trial per account, ever. */
  account_id: string;
  /** …and one per device (the machine-derived id the companion sends with its license requests). */
  device_id: string;
  tier: string;
  started_at: number;
  ends_at: number;
}

export interface PlansTables {
  trial_claims: TrialClaimsTable;
}
