import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConsumeResult,
  LicenseResponse,
  MeResponse,
  type Notification,
  NotificationsResponse,
  Problem,
  Reservation,
  UsageEventsResponse,
} from '../../../src-shared/api.ts';
import { testDialects } from '../../support/databases.ts';
import {
  request,
  setPlan,
  signUp,
  startTestServer,
  type TestAccount,
  type TestServer,
  testLimits,
} from '../../support/server.ts';

for (const dialect of testDialects()) {
  describe(`tenant isolation (${dialect})`, () => {
    let server: TestServer;
    let alice: TestAccount;
    let bob: TestAccount;
    let bobReservation: string;
    let bobNotification: string;

    beforeAll(async () => {
      server = await startTestServer({ dialect });
      [alice, bob] = await Promise.all([signUp(server.url), signUp(server.url)]);
      await setPlan(server.db, bob.id, { tier: 'custom', limits: testLimits(10) });
      await setPlan(server.db, alice.id, { tier: 'custom', limits: testLimits(10) });
      // Bob: 8 of 10 used (an 80 % notification), one reservation held.
      expect(
        (await bob.post('/v1/usage/consume', { operation: 'ai_operations', units: 8, idempotencyKey: 'bob-key-0001' }))
          .status,
      ).toBe(200);
      const reservation = await bob.post('/v1/usage/reservations', {
        operation: 'ai_operations',
        units: 1,
        idempotencyKey: 'bob-hold-0001',
      });
      expect(reservation.status).toBe(201);
      bobReservation = Reservation.parse(reservation.body).id;
      const notifications = await bob.get('/v1/notifications');
      const [first, ...others] = NotificationsResponse.parse(notifications.body).notifications;
      expect(others).toEqual([]);
      bobNotification = (first as Notification).id;
    });
    afterAll(() => server.stop());

    it("cannot read, commit or release another account's reservation", async () => {
      for (const path of [`/v1/usage/reservations/${bobReservation}`]) {
        const response = await alice.get(path);
        expect(response.status).toBe(404);
        expect(Problem.parse(response.body).code).toBe('RESERVATION_NOT_FOUND');
      }
      for (const action of ['commit', 'release']) {
        const response = await alice.post(`/v1/usage/reservations/${bobReservation}/${action}`);
        expect(response.status).toBe(404);
      }
      const mine = await bob.get(`/v1/usage/reservations/${bobReservation}`);
      expect(Reservation.parse(mine.body).status).toBe('held');
    });

    it("cannot read or mark another account's notifications", async () => {
      const read = await alice.post(`/v1/notifications/${bobNotification}/read`, {});
      expect(read.status).toBe(404);
      expect(NotificationsResponse.parse((await alice.get('/v1/notifications')).body).notifications).toEqual([]);
      const bobs = await bob.get('/v1/notifications');
      expect(NotificationsResponse.parse(bobs.body).notifications[0]?.readAt).toBeNull();
    });

    it("reuses none of another account's idempotency keys or usage", async () => {
      const consume = await alice.post('/v1/usage/consume', {
        operation: 'ai_operations',
        units: 1,
        idempotencyKey: 'bob-key-0001',
      });
      expect(ConsumeResult.parse(consume.body)).toMatchObject({ replayed: false, used: 1 });
      const batch = await alice.post('/v1/usage/events', {
        events: [{ idempotencyKey: 'bob-key-0001', operation: 'ai_operations', units: 1 }],
      });
      expect(UsageEventsResponse.parse(batch.body).results[0]).toMatchObject({ status: 'duplicate', used: 1 });
      const reserve = await alice.post('/v1/usage/reservations', {
        operation: 'ai_operations',
        units: 1,
        idempotencyKey: 'bob-hold-0001',
      });
      expect(reserve.status).toBe(201);
      expect(Reservation.parse(reserve.body).id).not.toBe(bobReservation);
      const me = await alice.get('/v1/me');
      const aliceMe = MeResponse.parse(me.body);
      expect(aliceMe.account.id).toBe(alice.id);
      expect(aliceMe.usage.operations.ai_operations).toMatchObject({ used: 1, reserved: 1 });
      const bobMe = await bob.get('/v1/me');
      expect(MeResponse.parse(bobMe.body).usage.operations.ai_operations).toMatchObject({ used: 8, reserved: 1 });
    });

    it('issues a license for the caller only, whatever device it names', async () => {
      const license = await alice.get('/v1/license?deviceId=bobs-laptop');
      expect(license.status).toBe(200);
      const jwks = (await request(server.url, 'GET', '/.well-known/jwks.json')).body;
      const { token } = LicenseResponse.parse(license.body);
      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { algorithms: ['EdDSA'] });
      expect(payload.sub).toBe(alice.id);
      expect(decodeJwt(token).email).toBe(alice.email);
    });

    it("refuses another account's refresh token on sign-out and keeps that session", async () => {
      const out = await alice.post('/v1/auth/sign-out', { refreshToken: bob.session.refreshToken });
      expect(out.status).toBe(204);
      expect((await bob.get('/v1/me')).status).toBe(200);
      const refreshed = await request(server.url, 'POST', '/v1/auth/refresh', {
        refreshToken: bob.session.refreshToken,
      });
      expect(refreshed.status).toBe(200);
      expect((await alice.get('/v1/me')).status).toBe(401);
    });
  });
}
