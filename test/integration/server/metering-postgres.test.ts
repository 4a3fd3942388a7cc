import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import {
  type ApiResponse,
  request,
  type SpawnedServer,
  setPlan,
  signUp,
  spawnTestServer,
  startTestServer,
  type TestAccount,
  type TestServer,
  testLimits,
} from '../../support/server.ts';

// The PostgreSQL group commit under the races production sees: several server processes on one
// database, many accounts, both operations, replays. Run on SQLite too: the same claims hold there.
const OPERATIONS = ['ai_operations', 'data_processing'] as const;

function consume(
  url: string,
  account: TestAccount,
  idempotencyKey: string,
  operation: string = 'ai_operations',
): Promise<ApiResponse> {
  return request(url, 'POST', '/v1/usage/consume', { operation, units: 1, idempotencyKey }, { token: account.token });
}

for (const dialect of testDialects()) {
  describe(`metering under concurrent load (${dialect})`, () => {
    let owner: TestServer;
    let processes: SpawnedServer[];
    beforeAll(async () => {
      owner = await startTestServer({ dialect });
      processes = await Promise.all([
        spawnTestServer({ database: owner.database }),
        spawnTestServer({ database: owner.database }),
      ]);
    });
    afterAll(async () => {
      await Promise.all(processes.map((p) => p.stop()));
      await owner.stop();
    });

    it('lets exactly 10 of 200 consumes through, split over two server processes, 20 times', async () => {
      for (let round = 0; round < 20; round += 1) {
        const account = await signUp(owner.url);
        await setPlan(owner.db, account.id, { tier: 'custom', limits: testLimits(50) });
        expect((await consume(owner.url, account, `prefill-${round}-0000`)).status).toBe(200);
        await owner.db.updateTable('usage_counters').set({ used: 40 }).where('account_id', '=', account.id).execute();
        const responses = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            consume((processes[i % 2] as SpawnedServer).url, account, `race-${round}-${i.toString().padStart(4, '0')}`),
          ),
        );
        const statuses = responses.map((r) => r.status);
        expect(statuses.filter((s) => s === 200)).toHaveLength(10);
        expect(statuses.filter((s) => s === 402)).toHaveLength(190);
        const me = await account.get('/v1/me');
        expect(me.body.usage.operations.ai_operations.used).toBe(50);
      }
    });

    it('counts 2,000 random consumes over 50 accounts and both operations, replays mixed in, each key once', async () => {
      const accounts = await Promise.all(Array.from({ length: 50 }, () => signUp(owner.url)));
      const limits = accounts.map((_, i) => 20 + (i % 7) * 10);
      await Promise.all(
        accounts.map((account, i) =>
          setPlan(owner.db, account.id, {
            tier: 'custom',
            limits: testLimits(limits[i] as number, limits[i] as number),
          }),
        ),
      );
      // A seeded shuffle, so a failure can be replayed.
      let seed = 14;
      const random = () => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const sends: { account: number; key: string; operation: string }[] = [];
      for (let i = 0; i < 2000; i += 1) {
        const replay = sends.length > 0 && random() < 0.2;
        const picked = replay ? (sends[Math.floor(random() * sends.length)] as (typeof sends)[number]) : undefined;
        const account = picked?.account ?? Math.floor(random() * accounts.length);
        const operation = picked?.operation ?? (OPERATIONS[Math.floor(random() * 2)] as string);
        sends.push({ account, operation, key: picked?.key ?? `rand-${i.toString().padStart(5, '0')}` });
      }
      const responses = await Promise.all(
        sends.map((send, i) => {
          const url = i % 3 === 0 ? owner.url : (processes[i % 3 === 1 ? 0 : 1] as SpawnedServer).url;
          return consume(url, accounts[send.account] as TestAccount, send.key, send.operation);
        }),
      );
      // No deadlock, serialization failure or any other error ever reached a client.
      expect(responses.map((r) => r.status).filter((s) => s !== 200 && s !== 402)).toEqual([]);

      const accepted = new Map<string, number>();
      for (const [i, response] of responses.entries()) {
        const send = sends[i] as (typeof sends)[number];
        const id = `${send.account}/${send.operation}`;
        if (response.status === 200 && !response.body.replayed) accepted.set(id, (accepted.get(id) ?? 0) + 1);
      }
      const counters = await owner.db
        .selectFrom('usage_counters')
        .select(['account_id', 'operation', 'used'])
        .where(
          'account_id',
          'in',
          accounts.map((a) => a.id),
        )
        .execute();
      for (const [index, account] of accounts.entries()) {
        for (const operation of OPERATIONS) {
          const used = counters.find((c) => c.account_id === account.id && c.operation === operation)?.used ?? 0;
          expect(used).toBe(accepted.get(`${index}/${operation}`) ?? 0);
          expect(used).toBeLessThanOrEqual(limits[index] as number);
        }
      }
      // Each key is stored once, with the units the counters hold.
      const events = await owner.db
        .selectFrom('usage_events')
        .select(['account_id', 'idempotency_key', 'status'])
        .where(
          'account_id',
          'in',
          accounts.map((a) => a.id),
        )
        .execute();
      const distinct = new Set(sends.map((s) => `${accounts[s.account]?.id}/${s.key}`));
      expect(events).toHaveLength(distinct.size);
      const storedAccepted = events.filter((e) => e.status === 'accepted').length;
      expect(storedAccepted).toBe([...accepted.values()].reduce((a, b) => a + b, 0));
    });
  });
}
