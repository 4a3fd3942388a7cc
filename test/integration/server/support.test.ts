import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import { request, signUp, spawnTestServer, startTestServer, type TestServer } from '../../support/server.ts';

for (const dialect of testDialects()) {
  describe(`test servers (${dialect})`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ dialect });
    });
    afterAll(() => server.stop());

    it('starts in process with a fresh free account per sign-up', async () => {
      const alice = await signUp(server.url);
      const me = await alice.get('/v1/me');
      expect(me.status).toBe(200);
      expect(me.body.subscription.tier).toBe('free');
    });

    it('spawns a child server on the same database that sees the same accounts', async () => {
      const alice = await signUp(server.url);
      const child = await spawnTestServer({ database: server.database });
      try {
        const signIn = await request(child.url, 'POST', '/v1/auth/sign-in', {
          email: alice.email,
          password: alice.password,
        });
        expect(signIn.status).toBe(200);
        expect(signIn.body.account.id).toBe(alice.id);
      } finally {
        await child.stop();
      }
    });
  });
}
