import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import { type Json, request, signUp, startTestServer, type TestServer } from '../../support/server.ts';

// The admin console's API on a real server: who may act, what each action changes for the
// companion (the signed license and the usage decisions), and the one audit entry each leaves.
const ADMIN_TOKEN = 'console-admin-token-0123456789-abcdef';
const DAY = 24 * 60 * 60 * 1000;
const CONTRACT_LIMITS = {
  monthly: { ai_operations: 5000, data_processing: 200 },
  max_project_size_mb: 2000,
  api_calls_per_hour: -1,
  max_devices: 10,
};

for (const dialect of testDialects()) {
  describe(`admin console (${dialect})`, () => {
    let server: TestServer;
    let clock = Date.UTC(2026, 10, 3, 12);
    const asToken = (method: string, path: string, body?: unknown) =>
      request(server.url, method, path, body, { token: ADMIN_TOKEN });
    const auditCount = async () => (await asToken('GET', '/v1/admin/audit')).body.entries.length as number;

    beforeAll(async () => {
      server = await startTestServer({ dialect, env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN }, now: () => clock });
    });
    afterAll(async () => {
      await server?.stop();
    });

    async function administrator(role: 'owner' | 'support'): Promise<{ token: string; name: string }> {
      const email = `${role}-${Math.random().toString(36).slice(2)}@vendor.test`;
      const name = `${role} person`;
      const created = await asToken('POST', '/v1/admin/users', {
        email,
        name,
        password: 'a long admin password',
        role,
      });
      expect(created.status).toBe(201);
      const session = await request(server.url, 'POST', '/v1/admin/sessions', {
        email,
        password: 'a long admin password',
      });
      expect(session.status).toBe(200);
      return { token: session.body.token, name };
    }

    it('a support administrator reads customers but is refused every action, and leaves no audit entry', async () => {
      const support = await administrator('support');
      const customer = await signUp(server.url);
      const as = (method: string, path: string, body?: unknown) =>
        request(server.url, method, path, body, { token: support.token });
      expect((await as('GET', `/v1/admin/customers?q=${customer.email}`)).body.customers[0].id).toBe(customer.id);
      expect((await as('GET', `/v1/admin/customers/${customer.id}`)).status).toBe(200);
      const before = await auditCount();
      const base = `/v1/admin/customers/${customer.id}`;
      const future = new Date(clock + DAY).toISOString();
      const actions: [string, string, unknown][] = [
        [
          'POST',
          `${base}/overrides`,
          { operation: 'ai_operations', extraUnits: 5, expiresAt: future, reason: 'goodwill' },
        ],
        ['PUT', `${base}/trial`, { tier: 'professional', endsAt: future, reason: 'sales trial' }],
        ['DELETE', `${base}/trial`, { reason: 'sales trial over' }],
        ['POST', `${base}/revoke-sessions`, { reason: 'lost laptop' }],
        ['POST', `${base}/cancel`, { reason: 'asked by phone' }],
        ['POST', `${base}/usage-adjustments`, { operation: 'ai_operations', units: -1, reason: 'double count' }],
        [
          'PUT',
          `${base}/contract`,
          { cycle: 'monthly', priceCents: 1, limits: CONTRACT_LIMITS, features: [], reason: 'deal' },
        ],
        ['POST', `${base}/refunds`, { invoiceId: 'in_anything', reason: 'asked for money back' }],
        ['POST', '/v1/admin/webhooks/deliveries/whd_anything/replay', { reason: 'receiver was down' }],
        ['POST', '/v1/admin/webhooks/endpoints', { url: 'https://vendor.test/hooks' }],
        ['DELETE', '/v1/admin/webhooks/endpoints/we_anything', undefined],
        [
          'POST',
          '/v1/admin/users',
          { email: 'x@vendor.test', name: 'x', password: 'a long admin password', role: 'owner' },
        ],
      ];
      for (const [method, path, body] of actions) {
        const refused = await as(method, path, body);
        expect(refused.status).toBe(403);
        expect(refused.body.code).toBe('ADMIN_READ_ONLY');
      }
      expect(await auditCount()).toBe(before);
      // The dashboard reads the role to show the controls refused.
      expect((await as('GET', '/v1/admin/session')).body.administrator).toMatchObject({
        name: support.name,
        role: 'support',
      });
    });

    it('a wrong password or a user’s token never opens the admin API', async () => {
      const owner = await administrator('owner');
      expect(owner.token).toBeTruthy();
      const wrong = await request(server.url, 'POST', '/v1/admin/sessions', {
        email: 'nobody@vendor.test',
        password: 'guess',
      });
      expect(wrong.status).toBe(401);
      const user = await signUp(server.url);
      expect((await user.get('/v1/admin/customers')).status).toBe(403);
    });

    it('an override raises the companion’s limit in the next license and decisions until it expires, then stops', async () => {
      const owner = await administrator('owner');
      const customer = await signUp(server.url);
      const license = async () => {
        const me = await customer.get('/v1/me');
        return me.body.subscription.limits.monthly.ai_operations as number;
      };
      const freeLimit = await license();
      const before = await auditCount();
      const added = await request(
        server.url,
        'POST',
        `/v1/admin/customers/${customer.id}/overrides`,
        {
          operation: 'ai_operations',
          extraUnits: 7,
          expiresAt: new Date(clock + 7 * DAY).toISOString(),
          reason: 'launch week',
        },
        { token: owner.token },
      );
      expect(added.status).toBe(201);
      expect(await auditCount()).toBe(before + 1);
      expect(await license()).toBe(freeLimit + 7);
      const token = await customer.get('/v1/license?deviceId=dev-1');
      const claims = JSON.parse(
        Buffer.from((token.body.token as string).split('.')[1] as string, 'base64url').toString(),
      );
      expect(claims.limits.monthly.ai_operations).toBe(freeLimit + 7);
      // Spend past the free limit: allowed while the override runs.
      const consumed = await customer.post('/v1/usage/consume', {
        operation: 'ai_operations',
        units: freeLimit + 1,
        idempotencyKey: 'override-spend-0001',
      });
      expect(consumed.status).toBe(200);
      const entry = (await asToken('GET', `/v1/admin/audit?accountId=${customer.id}`)).body.entries as Json[];
      expect(entry).toHaveLength(1);
      expect(entry[0]).toMatchObject({
        action: 'override.add',
        reason: 'launch week',
        actor: { name: 'owner person' },
      });

      clock += 8 * DAY;
      await customer.refresh();
      expect(await license()).toBe(freeLimit);
      const refused = await customer.post('/v1/usage/consume', {
        operation: 'ai_operations',
        units: 1,
        idempotencyKey: 'override-spend-0002',
      });
      expect(refused.status).toBe(402);
    });

    it('a trial gives its tier until its end, then free; granting and ending each leave one audit entry', async () => {
      const customer = await signUp(server.url);
      const tierOf = async () => (await customer.get('/v1/me')).body.subscription.tier as string;
      const before = await auditCount();
      const granted = await asToken('PUT', `/v1/admin/customers/${customer.id}/trial`, {
        tier: 'professional',
        endsAt: new Date(clock + 3 * DAY).toISOString(),
        reason: 'evaluating for the team',
      });
      expect(granted.status).toBe(200);
      expect(await auditCount()).toBe(before + 1);
      expect(await tierOf()).toBe('professional');
      clock += 4 * DAY;
      await customer.refresh();
      expect(await tierOf()).toBe('free');
      await asToken('PUT', `/v1/admin/customers/${customer.id}/trial`, {
        tier: 'enterprise',
        endsAt: new Date(clock + 3 * DAY).toISOString(),
        reason: 'second look',
      });
      expect(await tierOf()).toBe('enterprise');
      expect((await asToken('DELETE', `/v1/admin/customers/${customer.id}/trial`, { reason: 'done' })).status).toBe(
        204,
      );
      expect(await tierOf()).toBe('free');
      expect(await auditCount()).toBe(before + 3);
      const page = await asToken('GET', `/v1/admin/customers/${customer.id}`);
      expect(page.body.timeline.filter((item: Json) => item.kind === 'admin')).toHaveLength(3);
    });

    it('a usage correction changes this period’s count as an event of its own, with one audit entry', async () => {
      const customer = await signUp(server.url);
      const consumed = await customer.post('/v1/usage/consume', {
        operation: 'ai_operations',
        units: 3,
        idempotencyKey: 'adjust-spend-0001',
      });
      expect(consumed.status).toBe(200);
      const before = await auditCount();
      const adjusted = await asToken('POST', `/v1/admin/customers/${customer.id}/usage-adjustments`, {
        operation: 'ai_operations',
        units: -2,
        reason: 'a crashed import counted twice',
      });
      expect(adjusted.status).toBe(201);
      expect(adjusted.body).toMatchObject({ units: -2, used: 1 });
      expect(await auditCount()).toBe(before + 1);
      const usage = (await customer.get('/v1/me')).body;
      expect(JSON.stringify(usage)).toContain('"used":1');
      const events = await server.db
        .selectFrom('usage_events')
        .select(['units'])
        .where('account_id', '=', customer.id)
        .orderBy('created_at')
        .execute();
      expect(events.map((event) => Number(event.units))).toEqual([3, -2]);
    });

    it('revoking sessions signs the customer out, with one audit entry naming the administrator', async () => {
      const customer = await signUp(server.url);
      const before = await auditCount();
      const revoked = await asToken('POST', `/v1/admin/customers/${customer.id}/revoke-sessions`, {
        reason: 'stolen laptop',
      });
      expect(revoked.body.revoked).toBe(1);
      expect((await customer.get('/v1/me')).status).toBe(401);
      const entries = (await asToken('GET', '/v1/admin/audit')).body.entries as Json[];
      expect(entries).toHaveLength(before + 1);
      expect(entries.at(-1)).toMatchObject({
        action: 'sessions.revoke',
        actor: { name: 'admin token' },
        after: { revoked: 1 },
      });
    });

    it('a Custom contract counts in MRR, ARPU, revenue and the CSV exports, and gives its limits', async () => {
      const customer = await signUp(server.url);
      const month = `${new Date(clock).toISOString().slice(0, 7)}`;
      const summary = async () => (await asToken('GET', `/v1/admin/metrics/summary?month=${month}`)).body;
      const before = await summary();
      const audits = await auditCount();
      const set = await asToken('PUT', `/v1/admin/customers/${customer.id}/contract`, {
        cycle: 'yearly',
        priceCents: 1_200_000,
        setupFeeCents: 50_000,
        limits: CONTRACT_LIMITS,
        features: ['all_features'],
        reason: 'signed order form 42',
      });
      expect(set.status).toBe(200);
      expect(await auditCount()).toBe(audits + 1);
      const after = await summary();
      expect(after.mrr.mrrCents - before.mrr.mrrCents).toBe(100_000);
      expect(after.mrr.subscribers - before.mrr.subscribers).toBe(1);
      expect(after.arpuCents).toBe(Math.round(after.mrr.mrrCents / after.mrr.subscribers));
      const revenue = (await asToken('GET', `/v1/admin/metrics/revenue?month=${month}&months=1`)).body;
      expect(revenue.months.at(-1).byTier.custom).toMatchObject({ grossCents: 1_250_000, setupFeeCents: 50_000 });
      const mrrCsv = String((await asToken('GET', `/v1/admin/export/mrr.csv?month=${month}&months=1`)).body);
      expect(mrrCsv).toContain(String(after.mrr.mrrCents));
      const revenueCsv = String((await asToken('GET', `/v1/admin/export/revenue.csv?month=${month}&months=1`)).body);
      expect(revenueCsv).toContain('custom');
      const me = (await customer.get('/v1/me')).body.subscription;
      expect(me).toMatchObject({ tier: 'custom', limits: CONTRACT_LIMITS });
    });

    it('the audit log exports as CSV and refuses to be rewritten, even by a statement typed into the database', async () => {
      const csv = await asToken('GET', '/v1/admin/audit.csv');
      expect(csv.headers.get('content-type')).toContain('text/csv');
      expect(String(csv.body).split('\r\n')[0]).toBe('at,actor_id,actor_name,account_id,action,reason,before,after');
      expect(String(csv.body)).toContain('stolen laptop');
      const count = await auditCount();
      await expect(server.db.updateTable('audit_log').set({ reason: 'nothing happened' }).execute()).rejects.toThrow(
        /append-only/,
      );
      await expect(server.db.deleteFrom('audit_log').execute()).rejects.toThrow(/append-only/);
      expect(await auditCount()).toBe(count);
    });
  });
}
