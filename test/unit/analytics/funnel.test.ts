import { describe, expect, it } from 'vitest';
import { type FunnelAccount, funnelSteps } from '../../../src-server/analytics/funnel.ts';

const nobody: FunnelAccount = {
  firstUseAt: null,
  limitReachedAt: null,
  promptShownAt: null,
  checkoutStartedAt: null,
  paidAt: null,
};
const all: FunnelAccount = { firstUseAt: 1, limitReachedAt: 2, promptShownAt: 3, checkoutStartedAt: 4, paidAt: 5 };

describe('the funnel of a sign-up cohort', () => {
  it('counts an account in the funnel only up to the first step it missed, and at every step it reached by any path', () => {
    // Bought from the plans page without using anything: a payer, but out of the funnel after sign-up.
    const direct: FunnelAccount = { ...nobody, checkoutStartedAt: 9, paidAt: 10 };
    // A prompt for a feature outside the plan before any limit: the order in time is not required.
    const featurePrompt: FunnelAccount = { ...nobody, firstUseAt: 5, promptShownAt: 4, limitReachedAt: 8 };
    const steps = funnelSteps([all, direct, featurePrompt, nobody]);
    expect(steps.map((step) => [step.step, step.accounts, step.reachedAnyPath])).toEqual([
      ['signed_up', 4, 4],
      ['first_use', 2, 2],
      ['limit_reached', 2, 2],
      ['prompt_shown', 2, 2],
      ['checkout_started', 1, 2],
      ['paid', 1, 2],
    ]);
    expect(steps.map((step) => step.fromPreviousRate)).toEqual([null, 0.5, 1, 1, 0.5, 1]);
    expect(steps.map((step) => step.fromSignUpRate)).toEqual([1, 0.5, 0.5, 0.5, 0.25, 0.25]);
  });

  it('has no rates for an empty cohort or after an empty step', () => {
    expect(funnelSteps([]).every((step) => step.accounts === 0 && step.fromSignUpRate === null)).toBe(true);
    const steps = funnelSteps([nobody]);
    expect(steps.map((step) => step.fromPreviousRate)).toEqual([null, 0, null, null, null, null]);
  });
});
