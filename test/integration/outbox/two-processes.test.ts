import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, testDialects } from '../../support/databases.ts';
import { request, signUp, spawnTestServer } from '../../support/server.ts';
import { eventually } from './smtp.ts';

/**
 * Two server processes on one database, both running the outbox worker: every delivery is claimed
 * by one of them only (the lease), so the receiver gets each delivery exactly once while both run.
 */

const ADMIN = 'admin-token-two-processes-0123456789';
const ACCOUNTS = 30;

for (const dialect of testDialects()) {
  describe(`the outbox with two server processes (${dialect})`, () => {
    it('sends each delivery once, whichever process claims it', async () => {
      const seen = new Map<string, number>();
      const receiver: Server = createServer((req, res) => {
        const delivery = String(req.headers['tollgate-delivery-id']);
        seen.set(delivery, (seen.get(delivery) ?? 0) + 1);
        req.resume();
        req.on('end', () => res.end());
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
      const database = await createTestDatabase(dialect);
      const env = { TOLLGATE_ADMIN_TOKEN: ADMIN };
      const one = await spawnTestServer({ database, env });
      const two = await spawnTestServer({ database, env });
      try {
        const created = await request(one.url, 'POST', '/v1/admin/webhooks/endpoints', { url }, { token: ADMIN });
        expect(created.status).toBe(201);
        await Promise.all(Array.from({ length: ACCOUNTS }, (_, i) => signUp(i % 2 === 0 ? one.url : two.url)));
        const log = async () =>
          (await request(two.url, 'GET', '/v1/admin/webhooks/deliveries?limit=200', undefined, { token: ADMIN })).body
            .deliveries as { status: string }[];
        await eventually('every delivery recorded', async () => {
          const deliveries = await log();
          return deliveries.length === ACCOUNTS && deliveries.every((d) => d.status === 'delivered');
        });
        expect(seen.size).toBe(ACCOUNTS);
        expect([...seen.values()].every((count) => count === 1)).toBe(true);
      } finally {
        await one.kill('SIGTERM');
        await two.kill('SIGTERM');
        await database.cleanup();
        await new Promise((resolve) => receiver.close(resolve));
      }
    }, 120_000);
  });
}
