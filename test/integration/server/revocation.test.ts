import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import {
  type ApiResponse,
  request,
  type SpawnedServer,
  signUp,
  spawnTestServer,
  startTestServer,
  type TestAccount,
  type TestServer,
} from '../../support/server.ts';

// The access-token lookup is not cached (docs/security.md, "Sessions"): a token signed out or
// revoked through one server process is refused on its very next request, by that process and by
// every other on the same database — including on the metered hot path, right after it was used.
const ADMIN_TOKEN = 'revocation-test-admin-token-0123456789abcdef';

function consume(url: string, token: string, idempotencyKey: string): Promise<ApiResponse> {
  return request(url, 'POST', '/v1/usage/consume', { operation: 'ai_operations', units: 1, idempotencyKey }, { token });
}

for (const dialect of testDialects()) {
  describe(`a revoked access token (${dialect})`, () => {
    let owner: TestServer;
    let other: SpawnedServer;
    beforeAll(async () => {
      owner = await startTestServer({ dialect, env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN } });
      other = await spawnTestServer({ database: owner.database, env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN } });
    });
    afterAll(async () => {
      await other.stop();
      await owner.stop();
    });

    /** A consume through each process just before, so each has looked the token up already. */
    async function usedEverywhere(account: TestAccount, tag: string): Promise<void> {
      expect((await consume(owner.url, account.token, `${tag}-owner-1`)).status).toBe(200);
      expect((await consume(other.url, account.token, `${tag}-other-1`)).status).toBe(200);
    }

    it('is refused by both processes on the next request after sign-out', async () => {
      const account = await signUp(owner.url);
      await usedEverywhere(account, 'sign-out');
      const out = await request(owner.url, 'POST', '/v1/auth/sign-out', {}, { token: account.token });
      expect(out.status).toBe(204);
      const [here, there, me] = await Promise.all([
        consume(owner.url, account.token, 'sign-out-owner-2'),
        consume(other.url, account.token, 'sign-out-other-2'),
        request(other.url, 'GET', '/v1/me', undefined, { token: account.token }),
      ]);
      expect([here.status, there.status, me.status]).toEqual([401, 401, 401]);
      expect(there.body.code).toBe('UNAUTHENTICATED');
    });

    it('is refused by both processes on the next request after an administrator revokes it in the other', async () => {
      const account = await signUp(owner.url);
      await usedEverywhere(account, 'admin');
      const revoked = await request(
        other.url,
        'POST',
        `/v1/admin/customers/${account.id}/revoke-sessions`,
        { reason: 'stolen laptop' },
        { token: ADMIN_TOKEN },
      );
      expect(revoked.status).toBe(200);
      const [here, there] = await Promise.all([
        consume(owner.url, account.token, 'admin-owner-2'),
        consume(other.url, account.token, 'admin-other-2'),
      ]);
      expect([here.status, there.status]).toEqual([401, 401]);
      // Nothing was counted for the refused consumes.
      const counted = await owner.db
        .selectFrom('usage_events')
        .select('idempotency_key')
        .where('account_id', '=', account.id)
        .orderBy('idempotency_key')
        .execute();
      expect(counted.map((row) => row.idempotency_key)).toEqual(['admin-other-1', 'admin-owner-1']);
    });

    it('answers many tokens at once, each with its own account, while a signed-out one among them is refused', async () => {
      // Lookups arriving together share one statement on PostgreSQL (accounts/sessions.ts): each
      // answer must still be its own token's.
      const accounts = await Promise.all(Array.from({ length: 12 }, () => signUp(owner.url)));
      const signedOut = accounts.slice(0, 3);
      for (const account of signedOut) {
        expect((await request(owner.url, 'POST', '/v1/auth/sign-out', {}, { token: account.token })).status).toBe(204);
      }
      const asked = Array.from({ length: 4 }, () => accounts).flat();
      const answers = await Promise.all(
        asked.map((account, i) =>
          request(i % 2 === 0 ? owner.url : other.url, 'GET', '/v1/me', undefined, { token: account.token }),
        ),
      );
      answers.forEach((answer, i) => {
        const account = asked[i] as TestAccount;
        if (signedOut.includes(account)) {
          expect(answer.status).toBe(401);
        } else {
          expect(answer.status).toBe(200);
          expect(answer.body.account.email).toBe(account.email);
        }
      });
    });
  });
}
