import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../../../src-server/outbox/signature.ts';
import { testDialects } from '../../support/databases.ts';
import { type Json, request, signUp, startTestServer, type TestServer } from '../../support/server.ts';
import { eventually } from './smtp.ts';

/**
 * Outbound webhooks to a real local receiver: signed like Stripe's, retried after a failure (the
 * server's clock moved past the backoff), replayed from the delivery log, and carrying a
 * per-customer sequence so a receiver that sees 1 after 2 knows the older one is stale.
 */

const ADMIN = 'admin-token-for-webhook-tests-0123456789';

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

for (const dialect of testDialects()) {
  describe(`outbound webhooks (${dialect})`, () => {
    let server: TestServer;
    let receiver: Server;
    let receiverUrl: string;
    let clock = Date.UTC(2026, 2, 10, 12);
    const received: Received[] = [];
    let failNext = 0;
    const admin = (method: string, path: string, body?: unknown) =>
      request(server.url, method, path, body, { token: ADMIN });

    beforeAll(async () => {
      receiver = createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        req.on('end', () => {
          received.push({ headers: req.headers, body });
          res.statusCode = failNext > 0 ? 500 : 200;
          failNext = Math.max(0, failNext - 1);
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

    it('refuses endpoints that are not http(s), and callers without the admin token', async () => {
      for (const url of [
        'file:///etc/passwd',
        'gopher://example.com/',
        'javascript:alert(1)',
        'ftp://x.test/',
        'nonsense',
      ]) {
        const refused = await admin('POST', '/v1/admin/webhooks/endpoints', { url });
        expect(refused.status, url).toBe(422);
        expect(refused.body.code).toBe('WEBHOOK_URL_NOT_ALLOWED');
      }
      const user = await signUp(server.url);
      expect((await user.post('/v1/admin/webhooks/endpoints', { url: receiverUrl })).status).toBe(403);
      expect((await user.get('/v1/admin/webhooks/deliveries')).status).toBe(403);
      const openapi = (await request(server.url, 'GET', '/openapi.json')).body;
      expect(Object.keys(openapi.paths)).toEqual(
        expect.arrayContaining([
          '/v1/admin/webhooks/endpoints',
          '/v1/admin/webhooks/endpoints/{id}',
          '/v1/admin/webhooks/deliveries',
          '/v1/admin/webhooks/deliveries/{id}/replay',
        ]),
      );
    });

    it('signs deliveries, retries after a failure, replays from the log; sequence tells stale from fresh', async () => {
      const created = await admin('POST', '/v1/admin/webhooks/endpoints', { url: receiverUrl, description: 'CRM' });
      expect(created.status).toBe(201);
      const { id: endpointId, secret } = created.body as { id: string; secret: string };
      expect(secret).toMatch(/^whsec_/);
      const listed = await admin('GET', '/v1/admin/webhooks/endpoints');
      expect(listed.body.endpoints.map((e: Json) => e.id)).toContain(endpointId);
      expect(JSON.stringify(listed.body)).not.toContain(secret);

      // The first attempt fails: the delivery waits for its backoff, then succeeds.
      failNext = 1;
      const start = received.length;
      const alice = await signUp(server.url);
      await eventually('the first attempt', () => received.length >= start + 1);
      const log = async () =>
        (await admin('GET', `/v1/admin/webhooks/deliveries?accountId=${alice.id}&channel=webhook`)).body
          .deliveries as Json[];
      await eventually('the failure recorded', async () => (await log())[0]?.lastStatusCode === 500);
      expect((await log())[0]).toMatchObject({ status: 'pending', attempts: 1, eventType: 'customer.created' });
      clock += 3600_000;
      await eventually('the retry', async () => (await log())[0]?.status === 'delivered');
      const [failed, retried] = received.slice(start);
      expect(retried?.body).toBe(failed?.body);
      const header = retried?.headers['tollgate-signature'] as string;
      expect(verifySignature(secret, retried?.body as string, header, Math.floor(clock / 1000))).toBe(true);
      // A forged or altered body does not verify.
      expect(
        verifySignature(
          secret,
          String(retried?.body).replace('customer', 'kustomer'),
          header,
          Math.floor(clock / 1000),
        ),
      ).toBe(false);
      expect(verifySignature('whsec_wrong', retried?.body as string, header, Math.floor(clock / 1000))).toBe(false);
      const first = JSON.parse(retried?.body as string);
      expect(first).toMatchObject({
        type: 'customer.created',
        account_id: alice.id,
        sequence: 1,
        state: { customer: { id: alice.id, email: alice.email }, subscription: { tier: 'free', status: 'active' } },
      });

      await alice.refresh();
      // 80 % of the free limit: usage.threshold_reached, sequence 2, with the usage in its state.
      const usage = await alice.post('/v1/usage/consume', {
        operation: 'ai_operations',
        units: 4,
        idempotencyKey: 'four-units-hook',
      });
      expect(usage.status).toBe(200);
      await eventually('the threshold event', () =>
        received.some(
          (r) => JSON.parse(r.body).type === 'usage.threshold_reached' && JSON.parse(r.body).account_id === alice.id,
        ),
      );
      const threshold = JSON.parse(
        received.find(
          (r) => JSON.parse(r.body).type === 'usage.threshold_reached' && JSON.parse(r.body).account_id === alice.id,
        )?.body as string,
      );
      expect(threshold).toMatchObject({
        sequence: 2,
        data: { operation: 'ai_operations', threshold: 80, used: 4, limit: 5 },
        state: { usage: { operations: { ai_operations: { used: 4 } } } },
      });

      // Replaying customer.created delivers sequence 1 after 2: the receiver can tell it is stale.
      const original = (await log()).find((d) => d.eventType === 'customer.created');
      const replay = await admin('POST', `/v1/admin/webhooks/deliveries/${original.id}/replay`);
      expect(replay.status).toBe(201);
      expect(replay.body).toMatchObject({ replayOf: original.id, eventId: original.eventId, status: 'pending' });
      const before = received.length;
      await eventually('the replay', () => received.length > before);
      const replayed = JSON.parse(received.at(-1)?.body as string);
      expect(replayed.id).toBe(first.id);
      let lastSeen = 0;
      const fresh = [first, threshold, replayed].map((event) => {
        const isFresh = event.sequence > lastSeen;
        lastSeen = Math.max(lastSeen, event.sequence);
        return isFresh;
      });
      expect(fresh).toEqual([true, true, false]);

      // A deleted endpoint gets nothing more.
      expect((await admin('DELETE', `/v1/admin/webhooks/endpoints/${endpointId}`)).status).toBe(204);
      expect((await admin('DELETE', `/v1/admin/webhooks/endpoints/${endpointId}`)).body.code).toBe(
        'WEBHOOK_ENDPOINT_NOT_FOUND',
      );
    });
  });
}
