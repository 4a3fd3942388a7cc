import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LicenseResponse, MeResponse, PlansResponse, TrialResponse } from '../../../src-shared/api.ts';
import { planFromLicense, verifyLicense } from '../../../src-shared/license.ts';
import { testDialects } from '../../support/databases.ts';
import {
  type Json,
  request,
  setPlan,
  signUp,
  startTestServer,
  type TestAccount,
  type TestServer,
} from '../../support/server.ts';
import { eventually } from '../outbox/smtp.ts';

/**
 * The catalog's cardless trial (POST /v1/trial): a free account gets the paid tier for the days the
 * catalog says, with a license whose paid access ends with the trial (so the companion falls back
 * to free offline too), ends back on free by itself when the clock passes the end, and is had once
 * per account and once per device. `trial.ending` reaches a real receiver once, days before the end.
 */

const DAY = 86_400_000;
const ADMIN = 'admin-token-for-trial-tests-0123456789abc';

for (const dialect of testDialects()) {
  describe(`cardless trials (${dialect})`, () => {
    let server: TestServer;
    let clock = Date.UTC(2026, 2, 1, 9);
    let receiver: Server;
    let receiverUrl: string;
    const received: Json[] = [];

    beforeAll(async () => {
      receiver = createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        req.on('end', () => {
          received.push(JSON.parse(body));
          res.end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
      server = await startTestServer({ dialect, env: { TOLLGATE_ADMIN_TOKEN: ADMIN }, now: () => clock });
    });
    afterAll(async () => {
      await server.stop();
      await new Promise((resolve) => receiver.close(resolve));
    });

    /** A fresh account whose companion on `deviceId` has fetched its license (activating the device). */
    async function onDevice(deviceId: string): Promise<TestAccount> {
      const account = await signUp(server.url);
      expect((await account.get(`/v1/license?deviceId=${deviceId}`)).status).toBe(200);
      return account;
    }

    async function license(account: TestAccount, deviceId: string) {
      const answer = await account.get(`/v1/license?deviceId=${deviceId}`);
      expect(answer.status).toBe(200);
      const jwks = (await request(server.url, 'GET', '/.well-known/jwks.json')).body;
      const verified = await verifyLicense(LicenseResponse.parse(answer.body).token, jwks, { now: clock });
      if (!verified.ok) throw new Error(verified.error.message);
      return verified.value;
    }

    it('publishes the trial in the public price list and offers it to a new free account', async () => {
      const plans = PlansResponse.parse((await request(server.url, 'GET', '/v1/plans')).body);
      expect(plans.trial).toEqual({ tier: 'professional', days: 14 });
      const alice = await signUp(server.url);
      const me = MeResponse.parse((await alice.get('/v1/me')).body);
      expect(me.trial).toEqual({ status: 'available', tier: 'professional', days: 14, endsAt: null });
      const openapi = (await request(server.url, 'GET', '/openapi.json')).body;
      expect(openapi.paths['/v1/trial'].post.responses['201']).toBeDefined();
    });

    it('gives the paid tier without a card, with paid access ending at the trial end, then ends on free by itself', async () => {
      const startedAt = clock;
      const bob = await onDevice('bob-laptop-1');
      const started = await bob.post('/v1/trial', { deviceId: 'bob-laptop-1' });
      expect(started.status).toBe(201);
      const trial = TrialResponse.parse(started.body);
      const endsAt = startedAt + 14 * DAY;
      expect(trial).toEqual({
        tier: 'professional',
        days: 14,
        startedAt: new Date(startedAt).toISOString(),
        endsAt: new Date(endsAt).toISOString(),
      });

      const during = await license(bob, 'bob-laptop-1');
      expect(during).toMatchObject({ tier: 'professional', access: true, accessEndsAt: endsAt });
      expect(during.limits.monthly.ai_operations).toBe(100);
      // Offline, the cached license grants the tier until the trial end and not a moment after.
      expect(planFromLicense(during, endsAt - 1).standing).toBe('ok');
      expect(planFromLicense(during, endsAt).standing).toBe('LICENSE_EXPIRED');
      const me = MeResponse.parse((await bob.get('/v1/me')).body);
      expect(me.trial).toEqual({
        status: 'running',
        tier: 'professional',
        days: 14,
        endsAt: new Date(endsAt).toISOString(),
      });
      // More than the free tier's 5 AI operations: the trial's limits apply on the server too.
      const consumed = await bob.post('/v1/usage/consume', {
        operation: 'ai_operations',
        units: 7,
        idempotencyKey: 'trial-seven-units',
      });
      expect(consumed.status).toBe(200);

      // The day before the end it still runs; at the end it is over, without anyone acting.
      clock = endsAt - DAY;
      await bob.refresh();
      expect((await license(bob, 'bob-laptop-1')).tier).toBe('professional');
      clock = endsAt;
      await bob.refresh();
      const after = await license(bob, 'bob-laptop-1');
      expect(after).toMatchObject({ tier: 'free', access: true, accessEndsAt: null });
      expect(after.limits.monthly.ai_operations).toBe(5);
      const meAfter = MeResponse.parse((await bob.get('/v1/me')).body);
      expect(meAfter.subscription.tier).toBe('free');
      expect(meAfter.trial.status).toBe('used');
      const refused = await bob.post('/v1/usage/consume', {
        operation: 'ai_operations',
        units: 1,
        idempotencyKey: 'after-trial-one',
      });
      expect(refused.status).toBe(402);
      expect(refused.body.code).toBe('LIMIT_REACHED');

      // Once per account: not again, though it ended.
      const again = await bob.post('/v1/trial', { deviceId: 'bob-laptop-1' });
      expect(again.status).toBe(409);
      expect(again.headers.get('content-type')).toContain('application/problem+json');
      expect(again.body.code).toBe('TRIAL_ALREADY_USED');
      expect(again.body.detail).toContain('once per account');
    });

    it('is once per device: a second account on the same machine is refused, even when both race', async () => {
      const first = await onDevice('shared-desktop');
      expect((await first.post('/v1/trial', { deviceId: 'shared-desktop' })).status).toBe(201);
      const second = await onDevice('shared-desktop');
      const refused = await second.post('/v1/trial', { deviceId: 'shared-desktop' });
      expect(refused.status).toBe(409);
      expect(refused.body.code).toBe('TRIAL_ALREADY_USED');
      expect(refused.body.detail).toContain('This device already had');
      expect((await license(second, 'shared-desktop')).tier).toBe('free');
      // The refusal spent nothing: the second account may still try on a machine of its own (the
      // free plan has one device place, so it gives the shared one back first).
      const released = await request(server.url, 'DELETE', '/v1/devices/shared-desktop', undefined, {
        token: second.token,
      });
      expect(released.status).toBeLessThan(300);
      expect((await second.get('/v1/license?deviceId=second-own-laptop')).status).toBe(200);
      expect((await second.post('/v1/trial', { deviceId: 'second-own-laptop' })).status).toBe(201);

      // Five accounts on one fresh machine asking at once: exactly one trial.
      const racers = await Promise.all([1, 2, 3, 4, 5].map(() => onDevice('race-machine')));
      const answers = await Promise.all(racers.map((racer) => racer.post('/v1/trial', { deviceId: 'race-machine' })));
      expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409, 409, 409, 409]);
      // And one account asking twice at once (a double click): one trial.
      const twice = await onDevice('double-click');
      const both = await Promise.all([
        twice.post('/v1/trial', { deviceId: 'double-click' }),
        twice.post('/v1/trial', { deviceId: 'double-click' }),
      ]);
      expect(both.map((answer) => answer.status).sort()).toEqual([201, 409]);
    });

    it('refuses a device the account has not activated, and a paying account', async () => {
      const carol = await signUp(server.url);
      const unknown = await carol.post('/v1/trial', { deviceId: 'never-synced' });
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('DEVICE_NOT_FOUND');

      const payer = await onDevice('payer-laptop');
      await setPlan(server.db, payer.id, { tier: 'enterprise' });
      const paid = await payer.post('/v1/trial', { deviceId: 'payer-laptop' });
      expect(paid.status).toBe(409);
      expect(paid.body.code).toBe('TRIAL_NOT_AVAILABLE');
      expect(MeResponse.parse((await payer.get('/v1/me')).body).trial.status).toBe('unavailable');
      // Refused before anything was claimed: the machine keeps its trial.
      const later = await onDevice('payer-laptop');
      expect((await later.post('/v1/trial', { deviceId: 'payer-laptop' })).status).toBe(201);
    });

    it('sends trial.ending once, three days before the end, with the sequence and the state', async () => {
      const created = await request(
        server.url,
        'POST',
        '/v1/admin/webhooks/endpoints',
        { url: receiverUrl },
        { token: ADMIN },
      );
      expect(created.status).toBe(201);
      const dana = await onDevice('dana-laptop');
      const startedAt = clock;
      expect((await dana.post('/v1/trial', { deviceId: 'dana-laptop' })).status).toBe(201);
      const endsAt = startedAt + 14 * DAY;
      const endings = () => received.filter((event) => event.type === 'trial.ending' && event.account_id === dana.id);
      const danas = () => received.filter((event) => event.account_id === dana.id);
      await eventually('dana.s earlier events', () => danas().length > 0);

      // Four days before the end: not yet.
      clock = endsAt - 4 * DAY;
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(endings()).toHaveLength(0);

      clock = endsAt - 3 * DAY + 3600_000;
      await eventually('trial.ending', () => endings().length === 1);
      const [ending] = endings();
      expect(ending).toMatchObject({
        type: 'trial.ending',
        data: { tier: 'professional', ends_at: new Date(endsAt).toISOString(), days_left: 3 },
        state: {
          customer: { id: dana.id, email: dana.email },
          subscription: { tier: 'free' },
          trial: { tier: 'professional', ends_at: new Date(endsAt).toISOString() },
        },
      });
      const earlier = Math.max(
        ...danas()
          .filter((event) => event !== ending)
          .map((event) => event.sequence),
      );
      expect(ending.sequence).toBeGreaterThan(earlier);

      // Later sweeps (the clock moved on past their minute) do not send it again.
      clock += 2 * 60_000;
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      clock = endsAt - DAY;
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(endings()).toHaveLength(1);
    });
  });
}
