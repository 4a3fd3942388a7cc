import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src-server/db/schema.ts';
import { createTestDatabase, testDialects } from '../../support/databases.ts';
import {
  request,
  signUp,
  spawnTestServer,
  startTestServer,
  type TestAccount,
  type TestServer,
  uniqueEmail,
} from '../../support/server.ts';
import { distinctIds, eventually, startTestSmtp, type TestSmtp } from './smtp.ts';

/**
 * Customer emails through a real SMTP server: each usage threshold sends exactly one message
 * (distinct Message-IDs), also when the server is SIGKILLed after the SMTP server received the
 * message and before the server recorded it as sent — then the restarted server sends it again
 * with the same Message-ID (at least once, deduplicated by the receiver; nothing lost) — and a
 * message the SMTP server refuses at first is retried and delivered once.
 */

const consume = (url: string, token: string, key: string, units: number) =>
  request(url, 'POST', '/v1/usage/consume', { operation: 'ai_operations', units, idempotencyKey: key }, { token });

for (const dialect of testDialects()) {
  describe(`usage emails (${dialect})`, () => {
    let smtp: TestSmtp;
    let server: TestServer;
    beforeAll(async () => {
      smtp = await startTestSmtp();
      server = await startTestServer({
        dialect,
        env: { TOLLGATE_SMTP_URL: smtp.url, TOLLGATE_MAIL_FROM: 'Acme Billing <billing@acme.test>' },
      });
    });
    afterAll(async () => {
      await server.stop();
      await smtp.close();
    });

    it('80 % and 100 % of the free limit each email the customer once', async () => {
      const alice = await signUp(server.url);
      expect((await consume(server.url, alice.token, 'first-four-units', 4)).status).toBe(200);
      expect((await consume(server.url, alice.token, 'the-fifth-unit', 1)).status).toBe(200);
      // The same keys again (a retried sync) cross nothing new.
      expect((await consume(server.url, alice.token, 'the-fifth-unit', 1)).status).toBe(200);
      const mine = () => smtp.received.filter((mail) => mail.to === alice.email);
      await eventually('two emails', () => mine().length >= 2);
      await eventually('every row recorded', async () => {
        const pending = await server.db
          .selectFrom('outbox_messages')
          .select('id')
          .where('account_id', '=', alice.id)
          .where('channel', '=', 'email')
          .where('status', '!=', 'delivered')
          .execute();
        return pending.length === 0;
      });
      expect(distinctIds(mine())).toHaveLength(2);
      // Sent side by side: arrival order is not promised.
      expect(
        mine()
          .map((mail) => mail.subject)
          .sort(),
      ).toEqual([
        'You have used 80 % of your AI operations',
        `You have used all your AI operations for ${new Date().toISOString().slice(0, 7)}`,
      ]);
      expect(mine().find((mail) => mail.subject.includes('80 %'))?.text).toContain('4 of your 5 AI operations');
    });
  });

  describe(`an email the SMTP server refuses at first (${dialect})`, () => {
    it('is kept, retried after the backoff, and delivered once with the same Message-ID', async () => {
      const smtp = await startTestSmtp();
      // The server's clock, so the test can move past the retry backoff (30 s and more) at once.
      let clock = Date.now();
      const server = await startTestServer({ dialect, env: { TOLLGATE_SMTP_URL: smtp.url }, now: () => clock });
      try {
        smtp.refuse = 1;
        const carol = await signUp(server.url);
        expect((await consume(server.url, carol.token, 'four-units-refused', 4)).status).toBe(200);
        const row = () =>
          server.db
            .selectFrom('outbox_messages')
            .select(['status', 'attempts', 'last_error'])
            .where('account_id', '=', carol.id)
            .where('channel', '=', 'email')
            .where('event_type', '=', 'usage.threshold_reached')
            .executeTakeFirstOrThrow();
        await eventually('the refusal recorded', async () => (await row()).attempts === 1);
        expect(await row()).toMatchObject({ status: 'pending', last_error: expect.stringContaining('451') });
        expect(smtp.refused.filter((mail) => mail.to === carol.email)).toHaveLength(1);
        expect(smtp.received.filter((mail) => mail.to === carol.email)).toEqual([]);

        clock += 10 * 60_000; // past the first retry's wait
        await eventually('the retry delivered', async () => (await row()).status === 'delivered');
        const delivered = smtp.received.filter((mail) => mail.to === carol.email);
        expect(delivered).toHaveLength(1);
        expect(delivered[0]?.subject).toBe('You have used 80 % of your AI operations');
        expect(delivered[0]?.messageId).toBe(smtp.refused[0]?.messageId);
        expect((await row()).attempts).toBe(2);
      } finally {
        await server.stop();
        await smtp.close();
      }
    }, 60_000);
  });

  describe(`an email across a crash between sending and recording (${dialect})`, () => {
    /** What makes the server write the email: a usage threshold, or a plan change paid at checkout. */
    const triggers = [
      {
        name: 'a usage threshold',
        eventType: 'usage.threshold_reached',
        subject: 'You have used 80 % of your AI operations',
        act: async (url: string, account: TestAccount) => {
          expect((await consume(url, account.token, 'four-units-crash', 4)).status).toBe(200);
        },
      },
      {
        name: 'a plan change',
        eventType: 'subscription.changed',
        subject: 'Your subscription changed: professional',
        act: (url: string, account: TestAccount) => subscribe(url, account.token),
      },
      {
        name: 'a failed payment',
        eventType: 'payment.failed',
        subject: 'Your payment failed',
        text: '/billing/test-portal',
        act: async (url: string, account: TestAccount, database: TestDatabase) => {
          await subscribe(url, account.token);
          // The test card starts declining; the period ends; the next billing request renews it
          // (as the minute sweep would), the renewal is declined and the payment-failed email written.
          const declining = await request(
            url,
            'POST',
            '/v1/billing/test-renewals',
            { fail: true },
            {
              token: account.token,
            },
          );
          expect(declining.status).toBe(200);
          const db = openDatabase(database);
          try {
            await db
              .updateTable('subscriptions')
              .set({ current_period_end: Date.now() - 60_000 })
              .where('account_id', '=', account.id)
              .execute();
          } finally {
            await db.destroy();
          }
          const renewed = await request<{ subscription: { status: string } }>(
            url,
            'POST',
            '/v1/billing/test-renewals',
            { fail: true },
            { token: account.token },
          );
          expect(renewed.body.subscription.status).toBe('past_due');
        },
      },
    ];

    for (const trigger of triggers) {
      it(`${trigger.name}: received, the server is killed, and the restarted server sends the same Message-ID`, async () => {
        const smtp = await startTestSmtp();
        const database = await createTestDatabase(dialect);
        const env = { TOLLGATE_SMTP_URL: smtp.url, TOLLGATE_OUTBOX_LEASE_SECONDS: '1', TOLLGATE_PAYMENTS: 'local' };
        try {
          const first = await spawnTestServer({ database, env });
          const email = uniqueEmail();
          const mine = () => smtp.received.filter((mail) => mail.to === email && mail.subject === trigger.subject);
          // Kill the sender the moment the message has arrived, before the 250 reply.
          smtp.onMessage = async (mail) => {
            if (mail.to !== email || mail.subject !== trigger.subject) return;
            smtp.onMessage = null;
            await first.kill('SIGKILL');
          };
          const bob = await signUp(first.url, email);
          await trigger.act(first.url, bob, database);
          await eventually('the first copy', () => mine().length >= 1);
          await first.kill('SIGKILL');

          const second = await spawnTestServer({ database, env });
          try {
            await eventually('the copy from the restarted server', () => mine().length >= 2);
            const db = openDatabase(database);
            try {
              await eventually('the row recorded as delivered', async () => {
                const row = await db
                  .selectFrom('outbox_messages')
                  .select('status')
                  .where('channel', '=', 'email')
                  .where('event_type', '=', trigger.eventType)
                  .executeTakeFirst();
                return row?.status === 'delivered';
              });
            } finally {
              await db.destroy();
            }
            // Two copies reached the SMTP server; they are one message to anyone deduping on Message-ID.
            expect(mine().length).toBeGreaterThanOrEqual(2);
            expect(distinctIds(mine())).toHaveLength(1);
            if (trigger.text) for (const mail of mine()) expect(mail.text).toContain(trigger.text);
          } finally {
            await second.stop();
          }
        } finally {
          await database.cleanup();
          await smtp.close();
        }
      }, 120_000);
    }
  });
}

type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

/** Buys Professional through the local test checkout, as the customer would. */
async function subscribe(url: string, token: string): Promise<void> {
  const checkout = await request<{ sessionId: string }>(
    url,
    'POST',
    '/v1/billing/checkout',
    { tier: 'professional', cycle: 'monthly' },
    { token },
  );
  expect(checkout.status).toBe(200);
  const paid = await request(url, 'POST', `/v1/billing/test-checkout/${checkout.body.sessionId}/pay`, undefined, {
    token,
  });
  expect(paid.status).toBeLessThan(300);
}

function openDatabase(database: { databaseUrl: string | null; dataDir: string }): Kysely<Database> {
  if (database.databaseUrl) {
    return new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.databaseUrl }) }),
    });
  }
  return new Kysely<Database>({
    dialect: new SqliteDialect({ database: new SqliteDatabase(join(database.dataDir, 'tollgate.sqlite')) }),
  });
}
