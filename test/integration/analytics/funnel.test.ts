import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import { walkTwoMonths } from '../../support/funnel-journeys.ts';
import { request, signUp, startTestServer, type TestServer } from '../../support/server.ts';

/**
 * The conversion funnel by sign-up cohort, from real accounts walking it over a real server across
 * two months (test/support/funnel-journeys.ts tells the story), checked against figures computed
 * by hand.
 */

const ADMIN_TOKEN = 'funnel-admin-token-0123456789abcdefghij';

const counts = (steps: { step: string; accounts: number; reachedAnyPath: number }[]) =>
  Object.fromEntries(steps.map((step) => [step.step, [step.accounts, step.reachedAnyPath]]));

for (const dialect of testDialects()) {
  describe(`the conversion funnel (${dialect})`, () => {
    let server: TestServer;
    const clock = { at: Date.UTC(2026, 0, 1) };
    const admin = (path: string) => request(server.url, 'GET', path, undefined, { token: ADMIN_TOKEN });

    beforeAll(async () => {
      server = await startTestServer({
        dialect,
        now: () => clock.at,
        env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN, TOLLGATE_PAYMENTS: 'local' },
      });
    });
    afterAll(() => server?.stop());

    it('counts each sign-up cohort step by step, as it stands now', async () => {
      await walkTwoMonths(server.url, clock);

      const answer = await admin('/v1/admin/metrics/funnel?month=2026-02&months=2');
      expect(answer.status).toBe(200);
      const [january, february] = answer.body.months;
      expect(january.month).toBe('2026-01');
      expect(january.asOf).toBe(new Date(clock.at).toISOString());
      // [in the funnel (this step and every one before), reached at all]
      expect(counts(january.steps)).toEqual({
        signed_up: [5, 5],
        first_use: [3, 3], // a1, a2, a3 (a5 bought without using anything)
        limit_reached: [3, 3], // a1's 100 % notice, a2's refusal, a3 in February
        prompt_shown: [3, 3],
        checkout_started: [3, 4], // + a5, who skipped the steps before
        paid: [2, 3], // a1, a3 (in February, still January's cohort); + a5
      });
      expect(january.steps.map((step: { fromPreviousRate: number | null }) => step.fromPreviousRate)).toEqual([
        null,
        3 / 5,
        1,
        1,
        1,
        2 / 3,
      ]);
      expect(january.steps.at(-1).fromSignUpRate).toBe(2 / 5);

      expect(counts(february.steps)).toEqual({
        signed_up: [2, 2],
        first_use: [1, 1],
        limit_reached: [1, 1],
        prompt_shown: [1, 1], // b1 reported twice, counted once
        checkout_started: [0, 0],
        paid: [0, 0],
      });
      expect(february.steps.map((step: { fromPreviousRate: number | null }) => step.fromPreviousRate)).toEqual([
        null,
        1 / 2,
        1,
        1,
        0,
        null,
      ]);
    });

    it('a cohort read at an earlier moment shows where it stood then', async () => {
      // The same January, read back on its last day: a3 had not yet reached its limit nor paid.
      const saved = clock.at;
      clock.at = Date.UTC(2026, 0, 31, 23);
      try {
        const answer = await admin('/v1/admin/metrics/funnel?month=2026-01');
        expect(answer.body.months).toHaveLength(1);
        expect(counts(answer.body.months[0].steps)).toMatchObject({
          limit_reached: [2, 2],
          paid: [1, 2],
        });
      } finally {
        clock.at = saved;
      }
    });

    it('exports the funnel as CSV', async () => {
      const csv = await fetch(`${server.url}/v1/admin/export/funnel.csv?month=2026-02&months=2`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(csv.status).toBe(200);
      const lines = (await csv.text()).trim().split('\r\n');
      expect(lines[0]).toBe('cohort_month,as_of,step,accounts,reached_any_path,from_previous_rate,from_sign_up_rate');
      expect(lines).toHaveLength(1 + 2 * 6);
      expect(lines).toContain(`2026-01,${new Date(clock.at).toISOString()},paid,2,3,${2 / 3},0.4`);
    });

    it('a signed-in support administrator reads the funnel too', async () => {
      const email = `support-${Math.random().toString(36).slice(2)}@vendor.test`;
      const created = await request(
        server.url,
        'POST',
        '/v1/admin/users',
        { email, name: 'Support person', password: 'a long admin password', role: 'support' },
        { token: ADMIN_TOKEN },
      );
      expect(created.status).toBe(201);
      const session = await request(server.url, 'POST', '/v1/admin/sessions', {
        email,
        password: 'a long admin password',
      });
      const funnel = await request(server.url, 'GET', '/v1/admin/metrics/funnel?month=2026-01', undefined, {
        token: session.body.token,
      });
      expect(funnel.status).toBe(200);
      expect(funnel.body.months[0].steps[0]).toMatchObject({ step: 'signed_up', accounts: 5 });
    });

    it('the prompt report needs a session, and the funnel the admin token', async () => {
      const anonymous = await request(server.url, 'POST', '/v1/upgrade-prompts', {
        promptKey: 'limit:ai_operations:full:2026-02',
        reason: 'limit_reached',
      });
      expect(anonymous.status).toBe(401);
      const user = await signUp(server.url);
      const asUser = await user.get('/v1/admin/metrics/funnel');
      expect(asUser.status).toBe(403);
      const badReason = await user.post('/v1/upgrade-prompts', { promptKey: 'x', reason: 'because' });
      expect(badReason.status).toBe(400);
    });
  });
}
