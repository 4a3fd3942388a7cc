/**
 * The funnel's own tables (migration 015_funnel). Times are UTC ms, as the server's clock gave them
 * when the report or the checkout reached it.
 */

interface UpgradePromptsTable {
  account_id: string;
  /** The companion's key for the situation the prompt was shown for (src-renderer/view/prompt.ts). */
  prompt_key: string;
  /** `denied`, `limit_reached` or `limit_near`. */
  reason: string;
  shown_at: number;
}

interface CheckoutStartsTable {
  /** The provider's checkout session id. */
  session_id: string;
  account_id: string;
  tier: string;
  cycle: string;
  provider: string;
  started_at: number;
}

export interface AnalyticsTables {
  upgrade_prompts: UpgradePromptsTable;
  checkout_starts: CheckoutStartsTable;
}
