import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LicenseResponse, MeResponse, Problem, Session } from '../../../src-shared/api.ts';
import { verifyLicense } from '../../../src-shared/license.ts';
import { testDialects } from '../../support/databases.ts';
import { request, setPlan, signUp, spawnTestServer, startTestServer, type TestServer } from '../../support/server.ts';

const DAY = 24 * 3600 * 1000;

for (const dialect of testDialects()) {
  describe(`accounts and licenses (${dialect})`, () => {
    let server: TestServer;
    let clock = Date.UTC(2026, 2, 1, 8);
    beforeAll(async () => {
      server = await startTestServer({ dialect, now: () => clock });
    });
    afterAll(() => server.stop());

    it('signs up case-insensitively onto a free, active subscription and refuses a second sign-up', async () => {
      const alice = await signUp(server.url, 'Alice.Example@Example.Test');
      expect(alice.session.account.email).toBe('alice.example@example.test');
      const me = MeResponse.parse((await alice.get('/v1/me')).body);
      expect(me.subscription).toMatchObject({ tier: 'free', status: 'active', access: true });
      expect(me.usage.operations.ai_operations).toEqual({ used: 0, reserved: 0, limit: 5 });
      const again = await request(server.url, 'POST', '/v1/auth/sign-up', {
        email: 'alice.example@example.test',
        password: 'another long password',
      });
      expect(again.status).toBe(409);
      expect(Problem.parse(again.body).code).toBe('EMAIL_TAKEN');
      const stored = await server.db
        .selectFrom('accounts')
        .select('password_hash')
        .where('id', '=', alice.id)
        .executeTakeFirstOrThrow();
      expect(stored.password_hash).toMatch(/^scrypt\$/);
      expect(stored.password_hash).not.toContain(alice.password);
    });

    it('signs in, rotates refresh tokens once, and revokes on sign-out', async () => {
      const bob = await signUp(server.url);
      const wrong = await request(server.url, 'POST', '/v1/auth/sign-in', {
        email: bob.email,
        password: 'not the password',
      });
      expect(wrong.status).toBe(401);
      expect(Problem.parse(wrong.body).code).toBe('INVALID_CREDENTIALS');
      const signIn = await request(server.url, 'POST', '/v1/auth/sign-in', {
        email: bob.email,
        password: bob.password,
      });
      expect(signIn.status).toBe(200);
      const { refreshToken, accessToken } = Session.parse(signIn.body);

      const racers = await Promise.all(
        [1, 2, 3].map(() => request(server.url, 'POST', '/v1/auth/refresh', { refreshToken })),
      );
      expect(racers.filter((r) => r.status === 200)).toHaveLength(1);
      const rotated = Session.parse(racers.find((r) => r.status === 200)?.body);
      expect((await request(server.url, 'GET', '/v1/me', undefined, { token: accessToken })).status).toBe(401);
      expect((await request(server.url, 'GET', '/v1/me', undefined, { token: rotated.accessToken })).status).toBe(200);

      const out = await request(
        server.url,
        'POST',
        '/v1/auth/sign-out',
        { refreshToken: rotated.refreshToken },
        { token: rotated.accessToken },
      );
      expect(out.status).toBe(204);
      expect((await request(server.url, 'GET', '/v1/me', undefined, { token: rotated.accessToken })).status).toBe(401);
      const reuse = await request(server.url, 'POST', '/v1/auth/refresh', { refreshToken: rotated.refreshToken });
      expect(reuse.status).toBe(401);
      // The first session (from sign-up) is untouched.
      expect((await bob.get('/v1/me')).status).toBe(200);
    });

    it('expires access tokens after 15 minutes', async () => {
      const carol = await signUp(server.url);
      clock += 16 * 60 * 1000;
      expect((await carol.get('/v1/me')).status).toBe(401);
      await carol.refresh();
      expect((await carol.get('/v1/me')).status).toBe(200);
    });

    it('issues an EdDSA license that verifies with the published JWKS and carries plan, usage and device', async () => {
      const dave = await signUp(server.url);
      await setPlan(server.db, dave.id, { tier: 'professional' });
      await dave.post('/v1/usage/consume', { operation: 'ai_operations', units: 7, idempotencyKey: 'license-use-1' });
      const answer = await dave.get('/v1/license?deviceId=laptop-1');
      expect(answer.status).toBe(200);
      const license = LicenseResponse.parse(answer.body);
      expect(decodeProtectedHeader(license.token).alg).toBe('EdDSA');
      const jwks = (await request(server.url, 'GET', '/.well-known/jwks.json')).body;
      expect(JSON.stringify(jwks)).not.toMatch(/"d"/);
      const verified = await verifyLicense(license.token, jwks, { now: clock });
      expect(verified.ok).toBe(true);
      if (!verified.ok) return;
      expect(verified.value).toMatchObject({
        sub: dave.id,
        dev: 'laptop-1',
        tier: 'professional',
        status: 'active',
        access: true,
        accessEndsAt: null,
        usage: { ai_operations: 7, data_processing: 0 },
      });
      expect(verified.value.features).toContain('compliance_check');
      // Offline grace: 7 days by default.
      expect(verified.value.exp - verified.value.iat).toBe(7 * 24 * 3600);
      expect(Date.parse(license.expiresAt)).toBe(verified.value.exp * 1000);
    });

    it("signs the request's nonce into the license, and refuses a malformed one", async () => {
      const frank = await signUp(server.url);
      const nonce = 'Zk3-fresh_nonce-of-this-request';
      const answer = await frank.get(`/v1/license?deviceId=laptop-n&nonce=${nonce}`);
      expect(answer.status).toBe(200);
      const jwks = (await request(server.url, 'GET', '/.well-known/jwks.json')).body;
      const verified = await verifyLicense(LicenseResponse.parse(answer.body).token, jwks, { now: clock });
      expect(verified.ok && verified.value).toMatchObject({ sub: frank.id, nonce, iat: Math.floor(clock / 1000) });
      // Without one (an older companion) the license carries none.
      const without = await frank.get('/v1/license?deviceId=laptop-n');
      const plain = await verifyLicense(LicenseResponse.parse(without.body).token, jwks, { now: clock });
      expect(plain.ok && 'nonce' in plain.value).toBe(false);
      for (const bad of ['short', 'has%20space-and-more-chars', 'x'.repeat(129)]) {
        const refused = await frank.get(`/v1/license?deviceId=laptop-n&nonce=${bad}`);
        expect(refused.status).toBe(400);
      }
      // The OpenAPI document tells client authors about it.
      const spec = (await request(server.url, 'GET', '/openapi.json')).body;
      const parameters = spec.paths['/v1/license'].get.parameters as Array<{ name: string; description?: string }>;
      expect(parameters.find((parameter) => parameter.name === 'nonce')?.description).toMatch(/signed as its `nonce`/);
    });

    it('maps a past-due subscription to access during the grace and to free after it', async () => {
      const erin = await signUp(server.url);
      await setPlan(server.db, erin.id, {
        tier: 'professional',
        patch: { status: 'past_due', past_due_since: clock - 2 * DAY },
      });
      let me = MeResponse.parse((await erin.get('/v1/me')).body);
      expect(me.subscription).toMatchObject({ tier: 'professional', status: 'past_due', access: true });
      expect(me.subscription.pastDueGraceEndsAt).toBe(new Date(clock + 5 * DAY).toISOString());
      expect(me.usage.operations.ai_operations?.limit).toBe(100);

      await setPlan(server.db, erin.id, {
        tier: 'professional',
        patch: { status: 'past_due', past_due_since: clock - 8 * DAY },
      });
      me = MeResponse.parse((await erin.get('/v1/me')).body);
      expect(me.subscription).toMatchObject({ tier: 'professional', access: false });
      expect(me.usage.operations.ai_operations?.limit).toBe(5);
      const license = LicenseResponse.parse((await erin.get('/v1/license?deviceId=laptop-2')).body);
      const jwks = (await request(server.url, 'GET', '/.well-known/jwks.json')).body;
      const verified = await verifyLicense(license.token, jwks, { now: clock });
      expect(verified.ok && verified.value.access).toBe(false);
    });
  });
}

describe('a second server process on the same database', () => {
  it('signs with the same key, and never logs passwords, tokens or the private key (trace level)', async () => {
    const first = await startTestServer({ dialect: testDialects().at(-1) });
    const second = await spawnTestServer({ database: first.database, env: { TOLLGATE_LOG_LEVEL: 'trace' } });
    try {
      const [a, b] = await Promise.all([
        request(first.url, 'GET', '/.well-known/jwks.json'),
        request(second.url, 'GET', '/.well-known/jwks.json'),
      ]);
      expect(a.body.keys).toHaveLength(1);
      expect(b.body).toEqual(a.body);

      const password = 'a password to never log';
      const account = await signUp(second.url, undefined, password);
      const signIn = await request(second.url, 'POST', '/v1/auth/sign-in', { email: account.email, password });
      await request(second.url, 'POST', '/v1/auth/sign-in', { email: account.email, password: `${password}!` });
      const license = await account.get('/v1/license?deviceId=log-device');
      await account.post('/v1/auth/sign-out', { refreshToken: account.session.refreshToken });
      const key = signingPrivateKey();
      const output = second.output();
      expect(output).toContain('/v1/auth/sign-in');
      for (const secret of [
        password,
        account.token,
        account.session.refreshToken,
        Session.parse(signIn.body).accessToken,
        Session.parse(signIn.body).refreshToken,
        LicenseResponse.parse(license.body).token,
        key,
      ]) {
        expect(output).not.toContain(secret);
      }
    } finally {
      await second.stop();
      await first.stop();
    }
  });
});

/** The private part (`d`) of the key test servers sign with (TOLLGATE_LICENSE_SIGNING_KEY, the dev key). */
function signingPrivateKey(): string {
  const file = join(import.meta.dirname, '..', '..', '..', 'dev-keys', 'license-signing.dev.jwk.json');
  return JSON.parse(readFileSync(file, 'utf8')).d as string;
}
