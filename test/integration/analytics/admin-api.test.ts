import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAnalytics } from '../../../scripts/seed-analytics.ts';
import { defaultCatalog } from '../../../src-shared/catalog.ts';
import { periodEnd } from '../../../src-shared/period.ts';
import { testDialects } from '../../support/databases.ts';
import { type Json, request, signUp, startTestServer, type TestServer } from '../../support/server.ts';
import {
  bruteAccountPaid,
  bruteRevenue,
  bruteSummary,
  bruteUsage,
  loadWorld,
  monthsBefore,
  mrrOf,
  type World,
} from './brute-force.ts';

// A seeded business small enough to recompute by brute force, large enough for every movement.
const ADMIN_TOKEN = 'test-admin-token-0123456789-abcdefghij';
const LAST_MONTH = '2026-10';
const SAMPLE_MONTHS = ['2026-01', '2026-06', LAST_MONTH];

for (const dialect of testDialects()) {
  describe(`admin analytics API (${dialect})`, () => {
    let server: TestServer;
    let world: World;
    const admin = (path: string) => request(server.url, 'GET', path, undefined, { token: ADMIN_TOKEN });

    beforeAll(async () => {
      server = await startTestServer({ dialect, env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN } });
      await seedAnalytics(server.db, { accounts: 1200, months: 12, end: LAST_MONTH, seed: 7 });
      world = await loadWorld(server.db);
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('answers 401 without a token and 403 with a user’s token or a wrong one', async () => {
      const user = await signUp(server.url);
      for (const path of ['/v1/admin/metrics/summary', '/v1/admin/export/mrr.csv', '/v1/admin/upsell']) {
        const anonymous = await request(server.url, 'GET', path);
        expect(anonymous.status).toBe(401);
        expect(anonymous.headers.get('content-type')).toContain('application/problem+json');
        expect((await user.get(path)).status).toBe(403);
        expect((await request(server.url, 'GET', path, undefined, { token: `${ADMIN_TOKEN}x` })).status).toBe(403);
      }
    });

    it('the monthly summary equals a brute-force recomputation', async () => {
      for (const month of SAMPLE_MONTHS) {
        const expected = bruteSummary(world, month, 'usd');
        const { status, body } = await admin(`/v1/admin/metrics/summary?month=${month}`);
        expect(status).toBe(200);
        expect(body.mrr).toMatchObject({
          month,
          mrrCents: expected.mrrCents,
          arrCents: expected.mrrCents * 12,
          subscribers: expected.subscribers,
          movements: { ...expected.movement, churnedAccounts: expected.churnedAccounts },
        });
        expect(body.mrr.movements.netNewCents).toBe(expected.mrrCents - expected.openingMrrCents);
        expect(body).toMatchObject({
          subscribersByTier: expected.byTier,
          accounts: expected.accounts,
          freeAccounts: expected.freeAccounts,
          conversion: expected.conversion,
          logoChurnRate: expected.logoChurnRate,
          revenueChurnRate: expected.revenueChurnRate,
          arpuCents: expected.arpuCents,
          ltvCents: expected.ltvCents,
          revenueNetCents: expected.revenueNetCents,
        });
      }
      // The seeded year has every kind of movement, so the comparison above exercised them all.
      const year = await admin(`/v1/admin/metrics/mrr?month=${LAST_MONTH}&months=12`);
      const total = (key: string) => year.body.months.reduce((sum: number, row: Json) => sum + row.movements[key], 0);
      for (const key of ['newCents', 'expansionCents', 'contractionCents', 'churnedCents', 'reactivationCents']) {
        expect(total(key)).toBeGreaterThan(0);
      }
    });

    it('the MRR series agrees month by month with the summaries', async () => {
      const { body } = await admin(`/v1/admin/metrics/mrr?month=${LAST_MONTH}&months=12`);
      expect(body.months.map((row: Json) => row.month)).toEqual(monthsBefore(LAST_MONTH, 12));
      for (const month of SAMPLE_MONTHS) {
        const row = body.months.find((candidate: Json) => candidate.month === month);
        expect(row.mrrCents).toBe(bruteSummary(world, month, 'usd').mrrCents);
      }
    });

    it('revenue by tier equals the paid invoices of each month, setup fees in and refunds out', async () => {
      const { body } = await admin(`/v1/admin/metrics/revenue?month=${LAST_MONTH}&months=12`);
      for (const month of SAMPLE_MONTHS) {
        const row = body.months.find((candidate: Json) => candidate.month === month);
        const expected = bruteRevenue(world, month, 'usd');
        for (const [tier, line] of Object.entries(expected)) {
          expect(row.byTier[tier]).toEqual({
            invoices: line.invoices,
            grossCents: line.gross,
            setupFeeCents: line.setup,
            refundedCents: line.refunded,
            netCents: line.gross - line.refunded,
          });
        }
        expect(Object.keys(row.byTier).sort()).toEqual(Object.keys(expected).sort());
      }
      const setupFees = body.months.reduce((sum: number, row: Json) => sum + row.total.setupFeeCents, 0);
      const refunds = body.months.reduce((sum: number, row: Json) => sum + row.total.refundedCents, 0);
      expect(setupFees).toBeGreaterThan(0);
      expect(refunds).toBeGreaterThan(0);
    });

    it('usage per operation and tier and the upsell list equal a brute-force recomputation', async () => {
      for (const month of SAMPLE_MONTHS) {
        const expected = bruteUsage(world, defaultCatalog, month);
        const usage = await admin(`/v1/admin/metrics/usage?month=${month}`);
        for (const operation of usage.body.operations) {
          for (const cell of operation.byTier) {
            const want = expected.cells[`${operation.operation}/${cell.tier}`] ?? {
              accounts: 0,
              used: 0,
              atLeast80: 0,
              atLimit: 0,
            };
            expect({
              accounts: cell.accounts,
              used: cell.used,
              atLeast80: cell.atLeast80,
              atLimit: cell.atLimit,
            }).toEqual(want);
          }
        }
        const upsell = await admin(`/v1/admin/upsell?month=${month}&limit=20`);
        expect(upsell.body.total).toBe(expected.upsell.length);
        expect(upsell.body.candidates).toHaveLength(Math.min(20, expected.upsell.length));
        const ratios = upsell.body.candidates.map((row: Json) => row.ratio);
        expect(ratios).toEqual([...ratios].sort((a, b) => b - a));
        for (const row of upsell.body.candidates) {
          expect(world.accounts.find((account) => account.id === row.accountId)?.email).toBe(row.email);
          expect(row.tier).toBe(mrrOf(world, row.accountId, periodEnd(month)).tier);
        }
      }
    });

    it('each account’s actual LTV equals the sum of its invoices, for a sample of accounts', async () => {
      const payers = [...new Set(world.invoices.map((row) => row.account_id))].sort();
      const sample = payers.filter((_, index) => index % Math.ceil(payers.length / 15) === 0);
      for (const accountId of sample) {
        const { status, body } = await admin(`/v1/admin/accounts/${accountId}/ltv?month=${LAST_MONTH}`);
        expect(status).toBe(200);
        expect(body).toMatchObject(bruteAccountPaid(world, accountId, LAST_MONTH, 'usd'));
        expect(body.mrrCents).toBe(mrrOf(world, accountId, periodEnd(LAST_MONTH)).mrr);
      }
      const top = await admin(`/v1/admin/ltv?month=${LAST_MONTH}&limit=5`);
      const best = Math.max(...payers.map((id) => bruteAccountPaid(world, id, LAST_MONTH, 'usd').totalPaidCents));
      expect(top.body.accounts[0].totalPaidCents).toBe(best);
      expect(top.body.estimatedLtvCents).toBe(bruteSummary(world, LAST_MONTH, 'usd').ltvCents);
      expect((await admin(`/v1/admin/accounts/no-such-account/ltv`)).status).toBe(404);
    });

    it('exports every report as CSV with the same numbers as the JSON', async () => {
      const csv = await admin(`/v1/admin/export/upsell.csv?month=${LAST_MONTH}`);
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toContain('text/csv');
      expect(csv.headers.get('content-disposition')).toContain(`tollgate-upsell-${LAST_MONTH}.csv`);
      const lines = (csv.body as string).trimEnd().split('\r\n');
      expect(lines[0]).toBe('month,account_id,email,tier,operation,used,limit,ratio,suggested_tier');
      expect(lines).toHaveLength(1 + bruteUsage(world, defaultCatalog, LAST_MONTH).upsell.length);
      // Hundreds of rows: their addresses come from the one read of every address.
      expect(lines.length).toBeGreaterThan(300);
      const emailOf = new Map(world.accounts.map((account) => [account.id, account.email]));
      for (const line of lines.slice(1)) {
        const [, accountId, email] = line.split(',');
        expect(email).toBe(emailOf.get(accountId!));
      }

      const mrr = await admin(`/v1/admin/export/mrr.csv?month=${LAST_MONTH}&months=3`);
      const rows = (mrr.body as string).trimEnd().split('\r\n').slice(1);
      expect(rows.map((line) => line.split(',').slice(0, 2))).toEqual(
        monthsBefore(LAST_MONTH, 3).map((month) => [month, String(bruteSummary(world, month, 'usd').mrrCents)]),
      );
      for (const report of ['revenue', 'usage', 'ltv']) {
        const response = await admin(`/v1/admin/export/${report}.csv?month=${LAST_MONTH}`);
        expect(response.status).toBe(200);
        expect((response.body as string).split('\r\n').length).toBeGreaterThan(2);
      }
      expect((await admin('/v1/admin/export/secrets.csv')).status).toBe(400);
    });

    it('sees a new subscription at once (nothing stale is served from memory)', async () => {
      const before = await admin(`/v1/admin/metrics/summary?month=${LAST_MONTH}`);
      const free = world.accounts.find((account) => mrrOf(world, account.id, periodEnd(LAST_MONTH)).mrr === 0);
      await server.db
        .insertInto('subscription_events')
        .values({
          id: 'evt-test-new-subscription',
          account_id: free!.id,
          at: periodEnd(LAST_MONTH) - 1000,
          kind: 'start',
          from_tier: 'free',
          to_tier: 'professional',
          from_cycle: null,
          to_cycle: 'yearly',
          mrr_before_cents: 0,
          mrr_after_cents: 4083,
        })
        .execute();
      const after = await admin(`/v1/admin/metrics/summary?month=${LAST_MONTH}`);
      expect(after.body.mrr.mrrCents).toBe(before.body.mrr.mrrCents + 4083);
      expect(after.body.mrr.subscribers).toBe(before.body.mrr.subscribers + 1);
    });

    it('sees new usage at once', async () => {
      const total = async () => {
        const { body } = await admin(`/v1/admin/metrics/usage?month=${LAST_MONTH}`);
        return body.operations.reduce((sum: number, operation: Json) => sum + operation.used, 0);
      };
      const exported = async () => {
        const { body } = await admin(`/v1/admin/export/usage.csv?month=${LAST_MONTH}`);
        const rows = (body as string).trimEnd().split('\r\n').slice(1);
        return rows.reduce((sum, line) => sum + Number(line.split(',')[5]), 0);
      };
      const before = await total();
      expect(await exported()).toBe(before);
      const counter = world.usage.find((row) => row.period === LAST_MONTH && row.used > 0)!;
      await server.db
        .updateTable('usage_counters')
        .set({ used: counter.used + 3 })
        .where('account_id', '=', counter.account_id)
        .where('operation', '=', counter.operation)
        .where('period', '=', LAST_MONTH)
        .execute();
      expect(await total()).toBe(before + 3);
      expect(await exported()).toBe(before + 3);
    });

    it('lists an account created after the last export in the next one, with its address', async () => {
      const before = await admin(`/v1/admin/export/upsell.csv?month=${LAST_MONTH}`);
      await server.db
        .insertInto('accounts')
        .values({ id: 'late-account', email: 'late@example.test', password_hash: 'x', created_at: Date.now() })
        .execute();
      await server.db
        .insertInto('usage_counters')
        .values({ account_id: 'late-account', operation: 'ai_operations', period: LAST_MONTH, used: 5, reserved: 0 })
        .execute();
      const after = await admin(`/v1/admin/export/upsell.csv?month=${LAST_MONTH}`);
      expect(before.body).not.toContain('late@example.test');
      expect(after.body).toContain(
        `${LAST_MONTH},late-account,late@example.test,free,ai_operations,5,5,1,professional`,
      );
    });

    it('rejects a malformed month', async () => {
      const { status, body } = await admin('/v1/admin/metrics/summary?month=2026-13');
      expect(status).toBe(400);
      expect(body.code).toBe('VALIDATION_FAILED');
    });
  });
}
