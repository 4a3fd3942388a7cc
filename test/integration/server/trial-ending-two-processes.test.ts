import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, testDialects } from '../../support/databases.ts';
import { request, signUp, spawnTestServer } from '../../support/server.ts';
import { eventually } from '../outbox/smtp.ts';

/**
 * Two server processes on one database both sweep for trials about to end as they start: each
 * trial's `trial.ending` is written once (the guarded mark in the event's transaction), so the
 * receiver gets one per trial, whichever process saw it first.
 */

const ADMIN = 'admin-token-trial-ending-0123456789abc';
/** Enough trials that the two start-up sweeps overlap (without the guard, some are sent twice). */
const ACCOUNTS = 150;
const DAY = 86_400_000;

for (const dialect of testDialects()) {
  describe(`trial.ending with two server processes (${dialect})`, () => {
    it('sends one trial.ending per trial', async () => {
      const endings = new Map<string, number>();
      const receiver: Server = createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        req.on('end', () => {
          const event = JSON.parse(body) as { type: string; account_id: string };
          if (event.type === 'trial.ending') endings.set(event.account_id, (endings.get(event.account_id) ?? 0) + 1);
          res.end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
      const database = await createTestDatabase(dialect);
      const env = { TOLLGATE_ADMIN_TOKEN: ADMIN };
      const admin = (base: string, method: string, path: string, body?: unknown) =>
        request(base, method, path, body, { token: ADMIN });
      try {
        // Trials that end in two days, granted while no sweep is due: the first process has swept
        // at its start already and sweeps again only a minute later.
        const setup = await spawnTestServer({ database, env });
        const accounts = await Promise.all(Array.from({ length: ACCOUNTS }, () => signUp(setup.url)));
        const endsAt = new Date(Date.now() + 2 * DAY).toISOString();
        for (const account of accounts) {
          const granted = await admin(setup.url, 'PUT', `/v1/admin/customers/${account.id}/trial`, {
            tier: 'professional',
            endsAt,
            reason: 'two-process trial.ending test',
          });
          expect(granted.status).toBe(200);
        }
        expect((await admin(setup.url, 'POST', '/v1/admin/webhooks/endpoints', { url })).status).toBe(201);
        await setup.kill('SIGTERM');

        // Both start together, and both sweep at once.
        const [one, two] = await Promise.all([spawnTestServer({ database, env }), spawnTestServer({ database, env })]);
        try {
          await eventually('every trial.ending', () => endings.size === ACCOUNTS);
          const log = async () =>
            (await admin(one.url, 'GET', '/v1/admin/webhooks/deliveries?limit=200')).body.deliveries as {
              eventType: string;
              status: string;
            }[];
          await eventually('the deliveries recorded', async () =>
            (await log()).filter((d) => d.eventType === 'trial.ending').every((d) => d.status === 'delivered'),
          );
          expect((await log()).filter((d) => d.eventType === 'trial.ending')).toHaveLength(ACCOUNTS);
          expect([...endings.values()].every((count) => count === 1)).toBe(true);
        } finally {
          await one.kill('SIGTERM');
          await two.kill('SIGTERM');
        }
      } finally {
        await database.cleanup();
        await new Promise((resolve) => receiver.close(resolve));
      }
    }, 120_000);
  });
}
