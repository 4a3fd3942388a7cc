import { expect } from 'vitest';
import { signUp, type TestAccount } from './server.ts';

/**
 * Real accounts walking the conversion funnel over a real server started with
 * TOLLGATE_PAYMENTS=local and an injectable clock: each step is the route a user's companion (or
 * browser) calls, at the time the test sets.
 */

/** Where the test's clock stands; the server reads it through `now`. */
export interface TestClock {
  at: number;
}

interface FunnelWalker {
  account: TestAccount;
  /** Spends free-tier AI operations (its limit is 5 a month). */
  use(units: number): Promise<number>;
  /** The companion reporting the window showed an upgrade prompt. */
  promptShown(promptKey: string, reason?: 'denied' | 'limit_reached' | 'limit_near'): Promise<boolean>;
  /** Opens a checkout; returns its session id. */
  startCheckout(): Promise<string>;
  /** Completes the test checkout with the account's session. */
  pay(sessionId: string): Promise<void>;
}

let keys = 0;

async function walker(serverUrl: string): Promise<FunnelWalker> {
  const account = await signUp(serverUrl);
  // The test clock jumps days at a time, past the access token's quarter of an hour: each step
  // starts with a fresh session, as a companion refreshing its token would.
  const post = async (path: string, body: unknown) => {
    await account.refresh();
    return account.post(path, body);
  };
  return {
    account,
    async use(units) {
      const answer = await post('/v1/usage/consume', {
        operation: 'ai_operations',
        units,
        idempotencyKey: `funnel-${++keys}`,
      });
      return answer.status;
    },
    async promptShown(promptKey, reason = 'limit_reached') {
      const answer = await post('/v1/upgrade-prompts', { promptKey, reason });
      expect(answer.status).toBe(200);
      return answer.body.recorded as boolean;
    },
    async startCheckout() {
      const answer = await post('/v1/billing/checkout', { tier: 'professional', cycle: 'monthly' });
      expect(answer.status).toBe(200);
      return answer.body.sessionId as string;
    },
    async pay(sessionId) {
      const answer = await post(`/v1/billing/test-checkout/${sessionId}/pay`, {});
      expect(answer.status).toBe(200);
    },
  };
}

/**
 * The two-month story both funnel tests check (hand-computed figures in docs/analytics.md):
 *
 * January cohort, five sign-ups on 01-10:
 *   a1 uses 5 (its 100 % notice), sees the prompt, starts a checkout and pays, all in January;
 *   a2 uses 3, is refused 4 more (402), sees the prompt, starts a checkout and never pays;
 *   a3 uses 2 in January; in February it reaches the limit, sees the prompt, starts a checkout, pays;
 *   a4 never comes back;
 *   a5 buys straight from the plans, never using anything.
 * February cohort, two sign-ups on 02-05:
 *   b1 uses 5, sees the prompt (reported twice: counted once);
 *   b2 never comes back.
 */
export async function walkTwoMonths(serverUrl: string, clock: TestClock): Promise<void> {
  clock.at = Date.UTC(2026, 0, 10, 9);
  const [a1, a2, a3, a4, a5] = await Promise.all([1, 2, 3, 4, 5].map(() => walker(serverUrl)));
  if (!a1 || !a2 || !a3 || !a4 || !a5) throw new Error('sign-ups failed');
  clock.at = Date.UTC(2026, 0, 12, 9);
  expect(await a1.use(5)).toBe(200);
  expect(await a2.use(3)).toBe(200);
  expect(await a2.use(4)).toBe(402);
  expect(await a3.use(2)).toBe(200);
  clock.at = Date.UTC(2026, 0, 15, 9);
  expect(await a1.promptShown('limit:ai_operations:full:2026-01')).toBe(true);
  expect(await a2.promptShown('denied:1768467600000', 'denied')).toBe(true);
  await a2.startCheckout();
  await a1.pay(await a1.startCheckout());
  await a5.pay(await a5.startCheckout());

  clock.at = Date.UTC(2026, 1, 5, 9);
  const [b1, b2] = await Promise.all([1, 2].map(() => walker(serverUrl)));
  if (!b1 || !b2) throw new Error('sign-ups failed');
  clock.at = Date.UTC(2026, 1, 8, 9);
  expect(await a3.use(5)).toBe(200);
  expect(await a3.promptShown('limit:ai_operations:full:2026-02')).toBe(true);
  await a3.pay(await a3.startCheckout());
  expect(await b1.use(5)).toBe(200);
  expect(await b1.promptShown('limit:ai_operations:full:2026-02')).toBe(true);
  // The companion resending the same report (an answer lost on the way) is not a second prompt.
  expect(await b1.promptShown('limit:ai_operations:full:2026-02')).toBe(false);
}
