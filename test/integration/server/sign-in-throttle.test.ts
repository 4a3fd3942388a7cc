import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDialects } from '../../support/databases.ts';
import { request, signUp, startTestServer, type TestAccount, type TestServer } from '../../support/server.ts';

/**
 * Issue 17 item 8: sign-in guessing is slowed per e-mail with growing delays, and per client. The
 * per-e-mail count lives in the database, so it holds across server instances and restarts.
 */

let clock = Date.UTC(2026, 5, 1);
const signIn = (url: string, email: string, password: string, headers: Record<string, string> = {}) =>
  request(url, 'POST', '/v1/auth/sign-in', { email, password }, { headers });

describe('sign-in throttling', () => {
  let server: TestServer;
  let victim: TestAccount;
  beforeAll(async () => {
    server = await startTestServer({ now: () => clock, env: { TOLLGATE_TRUST_PROXY: '127.0.0.1' } });
    victim = await signUp(server.url);
  });
  afterAll(() => server.stop());

  it('makes one e-mail wait longer after each failure, from any client, the right password included', async () => {
    // Five free mistakes, each from a different client (as a botnet would).
    for (let i = 0; i < 5; i += 1) {
      const wrong = await signIn(server.url, victim.email, `guess ${i}`, { 'x-forwarded-for': `198.51.100.${i}` });
      expect(wrong.status).toBe(401);
    }
    expect((await signIn(server.url, victim.email, 'guess 5')).status).toBe(401);
    // Now the address waits 1 s, whatever is sent and from wherever.
    const blocked = await signIn(server.url, victim.email, victim.password, { 'x-forwarded-for': '203.0.113.1' });
    expect(blocked.status).toBe(429);
    expect(blocked.body.code).toBe('RATE_LIMITED');
    expect(blocked.headers.get('retry-after')).toBe('1');
    clock += 1000;
    expect((await signIn(server.url, victim.email.toUpperCase(), 'guess 6')).status).toBe(401);
    expect((await signIn(server.url, victim.email, victim.password)).headers.get('retry-after')).toBe('2');
    clock += 2000;
    // The owner, once the delay is over, signs in, and that clears the address.
    expect((await signIn(server.url, victim.email, victim.password)).status).toBe(200);
    expect((await signIn(server.url, victim.email, 'one more typo')).status).toBe(401);
  });

  it('forgets an address whose last failure is a day old', async () => {
    const forgetful = await signUp(server.url);
    for (let i = 0; i < 6; i += 1) expect((await signIn(server.url, forgetful.email, `typo ${i}`)).status).toBe(401);
    expect((await signIn(server.url, forgetful.email, forgetful.password)).status).toBe(429);
    clock += 24 * 3600 * 1000 + 1;
    // A new mistake is the first of a new count, not the seventh: the right password works at once.
    expect((await signIn(server.url, forgetful.email, 'typo again')).status).toBe(401);
    expect((await signIn(server.url, forgetful.email, forgetful.password)).status).toBe(200);
  });

  it('limits sign-in attempts per client, IPv6 per /64, without touching other clients behind the proxy', async () => {
    const other = await signUp(server.url);
    for (let i = 0; i < 100; i += 1) {
      // Spread over many accounts' e-mails so the per-e-mail delay never starts.
      const response = await signIn(server.url, `nobody-${i}@example.test`, 'guess', {
        'x-forwarded-for': `2001:db8:77:1::${(i + 1).toString(16)}`,
      });
      expect(response.status).toBe(401);
    }
    const refused = await signIn(server.url, other.email, other.password, { 'x-forwarded-for': '2001:db8:77:1::ffff' });
    expect(refused.status).toBe(429);
    const elsewhere = await signIn(server.url, other.email, other.password, { 'x-forwarded-for': '192.0.2.44' });
    expect(elsewhere.status).toBe(200);
  });
});

for (const dialect of testDialects()) {
  describe(`sign-in throttling behind a load balancer (${dialect})`, () => {
    it('counts an address’s failures at every server on the database, at once and after a restart', async () => {
      let now = Date.UTC(2026, 6, 1);
      const database = await createTestDatabase(dialect);
      const servers: TestServer[] = [];
      const start = async () => {
        const server = await startTestServer({ database, now: () => now });
        servers.push(server);
        return server;
      };
      try {
        const [one, two] = [await start(), await start()];
        const victim = await signUp(one.url);
        // Six failures, alternating between the two servers: neither saw more than three.
        for (let i = 0; i < 6; i += 1) {
          expect((await signIn(i % 2 ? two.url : one.url, victim.email, `guess ${i}`)).status).toBe(401);
        }
        for (const server of [one, two]) {
          const blocked = await signIn(server.url, victim.email, victim.password);
          expect(blocked.status).toBe(429);
          expect(blocked.headers.get('retry-after')).toBe('1');
        }

        // Guesses racing at both servers: every one that was checked (401) is counted, so the wait
        // doubles once for each (failures that overwrote each other would leave it shorter).
        now += 1000;
        const raced = await Promise.all(
          Array.from({ length: 6 }, (_, i) => signIn(i % 2 ? two.url : one.url, victim.email, `race ${i}`)),
        );
        const checked = raced.filter((response) => response.status === 401).length;
        expect(checked).toBeGreaterThan(0);
        expect(raced.filter((response) => response.status !== 401).every((r) => r.status === 429)).toBe(true);
        const wait = 2 ** checked;

        // A server started afresh on the database still makes the address wait.
        await Promise.all(servers.splice(0).map((server) => server.stop()));
        const three = await start();
        const after = await signIn(three.url, victim.email, victim.password);
        expect(after.status).toBe(429);
        expect(after.headers.get('retry-after')).toBe(String(wait));
        now += wait * 1000;
        expect((await signIn(three.url, victim.email, victim.password)).status).toBe(200);
      } finally {
        await Promise.all(servers.map((server) => server.stop()));
        await database.cleanup();
      }
    });
  });
}
