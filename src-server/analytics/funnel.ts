import { FUNNEL_STEPS, type FunnelStep, type FunnelStepName } from '../../src-shared/admin-api.ts';

/**
 * The conversion funnel of one sign-up cohort: how many of the accounts that signed up in a month
 * have, by now, used the product, reached a limit, seen an upgrade prompt, started a checkout and
 * paid. A cohort rather than events per month, so every step counts the same people and a step's
 * rate is the share of the previous step's accounts that went on (events per month would set this
 * month's payers beside another month's sign-ups). Definitions: docs/analytics.md.
 */

/** When an account of the cohort first reached each step after signing up (UTC ms), or null. */
export interface FunnelAccount {
  firstUseAt: number | null;
  limitReachedAt: number | null;
  promptShownAt: number | null;
  checkoutStartedAt: number | null;
  paidAt: number | null;
}

const LABELS: Record<FunnelStepName, string> = {
  signed_up: 'Signed up',
  first_use: 'First use',
  limit_reached: 'First limit reached',
  prompt_shown: 'Upgrade prompt shown',
  checkout_started: 'Checkout started',
  paid: 'Paid',
};

const REACHED: Record<FunnelStepName, (account: FunnelAccount) => boolean> = {
  signed_up: () => true,
  first_use: (account) => account.firstUseAt !== null,
  limit_reached: (account) => account.limitReachedAt !== null,
  prompt_shown: (account) => account.promptShownAt !== null,
  checkout_started: (account) => account.checkoutStartedAt !== null,
  paid: (account) => account.paidAt !== null,
};

const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);

/**
 * Each step's count: `accounts` reached it and every step before it (so the counts only fall and a
 * rate is never above 100 %); `reachedAnyPath` reached it at all, so a customer who bought from the
 * plans page without ever meeting a limit still shows among the payers. The order in which an
 * account took the steps is not required: a prompt for a feature outside the plan can come before
 * any limit, and it is still the path.
 */
export function funnelSteps(cohort: readonly FunnelAccount[]): FunnelStep[] {
  const inFunnel = new Map<FunnelStepName, number>(FUNNEL_STEPS.map((step) => [step, 0]));
  const anyPath = new Map<FunnelStepName, number>(FUNNEL_STEPS.map((step) => [step, 0]));
  for (const account of cohort) {
    let stillIn = true;
    for (const step of FUNNEL_STEPS) {
      const reached = REACHED[step](account);
      stillIn &&= reached;
      if (reached) anyPath.set(step, (anyPath.get(step) ?? 0) + 1);
      if (stillIn) inFunnel.set(step, (inFunnel.get(step) ?? 0) + 1);
    }
  }
  return FUNNEL_STEPS.map((step, index) => {
    const accounts = inFunnel.get(step) ?? 0;
    const previous = index === 0 ? null : (inFunnel.get(FUNNEL_STEPS[index - 1] as FunnelStepName) ?? 0);
    return {
      step,
      label: LABELS[step],
      accounts,
      reachedAnyPath: anyPath.get(step) ?? 0,
      fromPreviousRate: previous === null ? null : ratio(accounts, previous),
      fromSignUpRate: ratio(accounts, cohort.length),
    };
  });
}
