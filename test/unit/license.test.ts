import fc from 'fast-check';
import { base64url, importJWK, SignJWT, UnsecuredJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog, findTier } from '../../src-shared/catalog.ts';
import {
  generateLicenseKeyPair,
  type LicenseKeyPair,
  type LicensePayload,
  planFromLicense,
  publicJwks,
  signLicense,
  verifyLicense,
} from '../../src-shared/license.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const DAY = 86_400;
const payload: LicensePayload = {
  sub: 'acct_1',
  dev: 'device-a',
  email: 'ada@example.com',
  tier: 'professional',
  status: 'active',
  access: true,
  accessEndsAt: null,
  features: ['advanced_processing'],
  limits: findTier(defaultCatalog, 'professional').limits,
  period: '2026-11',
  usage: { ai_operations: 12 },
};

let keys: LicenseKeyPair;
let otherKeys: LicenseKeyPair;
let token: string;

beforeAll(async () => {
  keys = await generateLicenseKeyPair();
  otherKeys = await generateLicenseKeyPair();
  token = await signLicense(payload, keys.privateJwk, { now: NOW, offlineGraceSeconds: 7 * DAY });
});

function swapPayload(jws: string, change: (claims: Record<string, unknown>) => void): string {
  const [header, body, signature] = jws.split('.') as [string, string, string];
  const claims = JSON.parse(new TextDecoder().decode(base64url.decode(body)));
  change(claims);
  return `${header}.${base64url.encode(JSON.stringify(claims))}.${signature}`;
}

describe('license tokens', () => {
  it('round-trips: what the server signs the companion reads back', async () => {
    const result = await verifyLicense(token, keys.publicJwk, { now: NOW + 1000 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toMatchObject({ ...payload, iss: 'tollgate', aud: 'tollgate-companion' });
    expect(result.value.exp - result.value.iat).toBe(7 * DAY);
  });

  it('honours a license carrying a claim this companion does not know, and ignores the claim', async () => {
    const key = await importJWK(keys.privateJwk, 'EdDSA');
    const newer = await new SignJWT({ ...payload, claimOfALaterServer: { anything: true } })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'tollgate-license+jwt', kid: keys.privateJwk.kid as string })
      .setIssuer('tollgate')
      .setAudience('tollgate-companion')
      .setIssuedAt(NOW / 1000)
      .setNotBefore(NOW / 1000)
      .setExpirationTime(NOW / 1000 + DAY)
      .sign(key);
    const result = await verifyLicense(newer, keys.publicJwk, { now: NOW });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.tier).toBe('professional');
    expect(result.value).not.toHaveProperty('claimOfALaterServer');
  });

  it('verifies against the published JWKS too', async () => {
    const result = await verifyLicense(token, publicJwks(otherKeys.publicJwk, keys.publicJwk), { now: NOW });
    expect(result.ok).toBe(true);
  });

  it('publishes no private key material in the JWKS', () => {
    const jwks = publicJwks(keys.publicJwk);
    expect(JSON.stringify(jwks)).not.toContain(String(keys.privateJwk.d));
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('refuses an edited payload (tier raised)', async () => {
    const forged = swapPayload(token, (claims) => {
      claims.tier = 'enterprise';
    });
    expect(await verifyLicense(forged, keys.publicJwk, { now: NOW })).toMatchObject({
      ok: false,
      error: { code: 'LICENSE_INVALID', message: expect.stringMatching(/signature/) },
    });
  });

  it('refuses a token signed with another key', async () => {
    const foreign = await signLicense(payload, otherKeys.privateJwk, { now: NOW, offlineGraceSeconds: DAY });
    expect(await verifyLicense(foreign, keys.publicJwk, { now: NOW })).toMatchObject({
      ok: false,
      error: { code: 'LICENSE_INVALID' },
    });
    expect(await verifyLicense(foreign, publicJwks(keys.publicJwk), { now: NOW })).toMatchObject({
      ok: false,
      error: { code: 'LICENSE_INVALID' },
    });
  });

  it('refuses alg: none', async () => {
    const unsecured = new UnsecuredJWT({ ...payload })
      .setIssuer('tollgate')
      .setAudience('tollgate-companion')
      .setIssuedAt(NOW / 1000)
      .setNotBefore(NOW / 1000)
      .setExpirationTime(NOW / 1000 + DAY)
      .encode();
    expect(await verifyLicense(unsecured, keys.publicJwk, { now: NOW })).toMatchObject({
      ok: false,
      error: { code: 'LICENSE_INVALID' },
    });
  });

  it('refuses an HMAC token keyed with the public key (algorithm confusion)', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(keys.publicJwk));
    const confused = await new SignJWT({ ...payload })
      .setProtectedHeader({ alg: 'HS256', typ: 'tollgate-license+jwt' })
      .setIssuer('tollgate')
      .setAudience('tollgate-companion')
      .setIssuedAt(NOW / 1000)
      .setNotBefore(NOW / 1000)
      .setExpirationTime(NOW / 1000 + DAY)
      .sign(secret);
    expect(await verifyLicense(confused, keys.publicJwk, { now: NOW })).toMatchObject({
      ok: false,
      error: { code: 'LICENSE_INVALID', message: expect.stringMatching(/algorithm/) },
    });
  });

  it('past its offline grace gives OFFLINE_GRACE_EXPIRED', async () => {
    expect(await verifyLicense(token, keys.publicJwk, { now: NOW + 8 * DAY * 1000 })).toMatchObject({
      ok: false,
      error: { code: 'OFFLINE_GRACE_EXPIRED', message: expect.stringMatching(/connect/) },
    });
  });

  it('not yet valid (clock behind the server) gives CLOCK_TAMPERED', async () => {
    expect(await verifyLicense(token, keys.publicJwk, { now: NOW - 3600 * 1000 })).toMatchObject({
      ok: false,
      error: { code: 'CLOCK_TAMPERED', message: expect.stringMatching(/date and time/) },
    });
  });

  it('tolerates small clock drift', async () => {
    expect((await verifyLicense(token, keys.publicJwk, { now: NOW - 60 * 1000 })).ok).toBe(true);
  });

  it('refuses truncated and garbage tokens without throwing', async () => {
    for (const bad of [token.slice(0, -10), token.slice(0, token.lastIndexOf('.')), '', 'a.b.c', 'not a token']) {
      const result = await verifyLicense(bad, keys.publicJwk, { now: NOW });
      expect(result).toMatchObject({ ok: false, error: { code: 'LICENSE_INVALID' } });
    }
  });

  it('never accepts a token with any single character changed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(token.length - 1), fc.constantFrom(...'ABCxyz019-_'), async (index, replacement) => {
        fc.pre(token[index] !== replacement && token[index] !== '.');
        const mutated = token.slice(0, index) + replacement + token.slice(index + 1);
        const result = await verifyLicense(mutated, keys.publicJwk, { now: NOW });
        // Changing the last base64url character can leave the decoded bytes equal; then it is the same token.
        if (result.ok) expect(base64url.decode(mutated.split('.')[2]!)).toEqual(base64url.decode(token.split('.')[2]!));
      }),
      { numRuns: 200 },
    );
  });

  it('signing refuses a payload that does not match the schema', async () => {
    await expect(
      signLicense({ ...payload, tier: 'gold' } as unknown as LicensePayload, keys.privateJwk, {
        now: NOW,
        offlineGraceSeconds: DAY,
      }),
    ).rejects.toThrow();
  });
});

describe('planFromLicense', () => {
  const claims = { ...payload, iss: 'tollgate', aud: 'tollgate-companion', iat: 0, nbf: 0, exp: 0 } as const;

  it('honours an active plan', () => {
    expect(planFromLicense(claims, NOW).standing).toBe('ok');
  });

  it('marks an inactive subscription', () => {
    expect(planFromLicense({ ...claims, access: false, status: 'canceled' }, NOW).standing).toBe(
      'SUBSCRIPTION_INACTIVE',
    );
  });

  it('marks access that ended (cancelled at period end, grace over) as LICENSE_EXPIRED', () => {
    expect(planFromLicense({ ...claims, accessEndsAt: NOW - 1 }, NOW).standing).toBe('LICENSE_EXPIRED');
    expect(planFromLicense({ ...claims, accessEndsAt: NOW + 1 }, NOW).standing).toBe('ok');
  });

  it('without access grants only the features and limits the license signs', () => {
    const inactive = planFromLicense({ ...claims, access: false, status: 'canceled' }, NOW);
    expect(inactive).toMatchObject({ features: claims.features, limits: claims.limits });
  });

  it('once access ends grants its signed afterAccessEnds, or nothing without them', () => {
    const after = { features: ['basic_processing'], limits: { ...claims.limits, max_devices: 1 } };
    expect(planFromLicense({ ...claims, accessEndsAt: NOW - 1, afterAccessEnds: after }, NOW)).toMatchObject({
      standing: 'LICENSE_EXPIRED',
      ...after,
    });
    const bare = planFromLicense({ ...claims, accessEndsAt: NOW - 1 }, NOW);
    expect(bare.features).toEqual([]);
    expect(bare.limits).toEqual({ monthly: {}, max_project_size_mb: 0, api_calls_per_hour: 0, max_devices: 0 });
  });
});
