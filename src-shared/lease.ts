import { createLocalJWKSet, importJWK, type JSONWebKeySet, type JWK, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { PERIOD_PATTERN } from './period.ts';
import { err, ok, type Result } from './result.ts';

/**
 * A quota lease: units of one metered operation a device may spend offline, held for it on the
 * server (counted like a reservation, so no other device can spend them). A compact JWS signed with
 * the license key (EdDSA, pinned like licenses) and bound to the account (`sub`), the device (`dev`),
 * the operation (`op`) and the period, so a lease copied to another machine or edited in the data
 * folder grants nothing. `units` is what the server held for the device when it signed.
 */

const LEASE_ALG = 'EdDSA';
const LEASE_ISSUER = 'tollgate';
const LEASE_AUDIENCE = 'tollgate-companion';
const LEASE_TYPE = 'tollgate-lease+jwt';

export const LeasePayload = z.strictObject({
  sub: z.string().min(1).max(200),
  dev: z.string().min(1).max(200),
  op: z.string().min(1).max(64),
  period: z.string().regex(PERIOD_PATTERN),
  units: z.number().int().min(0),
});
export type LeasePayload = z.infer<typeof LeasePayload>;

const LeaseClaims = LeasePayload.extend({
  iss: z.literal(LEASE_ISSUER),
  aud: z.literal(LEASE_AUDIENCE),
  iat: z.number().int(),
  exp: z.number().int(),
});
export type LeaseClaims = z.infer<typeof LeaseClaims>;

export async function signLease(
  payload: LeasePayload,
  privateJwk: JWK,
  options: { now: number; expiresAt: number },
): Promise<string> {
  const key = await importJWK(privateJwk, LEASE_ALG);
  return new SignJWT(LeasePayload.parse(payload))
    .setProtectedHeader({ alg: LEASE_ALG, typ: LEASE_TYPE, ...(privateJwk.kid ? { kid: privateJwk.kid } : {}) })
    .setIssuer(LEASE_ISSUER)
    .setAudience(LEASE_AUDIENCE)
    .setIssuedAt(Math.floor(options.now / 1000))
    .setExpirationTime(Math.floor(options.expiresAt / 1000))
    .sign(key);
}

/**
 * Verifies a lease's signature and shape with the pinned keys. Expiry is not judged here (the
 * caller decides against its trusted clock, and an expired lease still says what it was).
 */
export async function verifyLease(token: unknown, keys: JSONWebKeySet): Promise<Result<LeaseClaims, string>> {
  if (typeof token !== 'string') return err('the lease is not a signed token');
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet(keys), {
      algorithms: [LEASE_ALG],
      issuer: LEASE_ISSUER,
      audience: LEASE_AUDIENCE,
      typ: LEASE_TYPE,
      // Expiry is the caller's to judge against its trusted clock.
      currentDate: new Date(0),
      clockTolerance: Number.MAX_SAFE_INTEGER,
      requiredClaims: ['iat', 'exp', 'sub'],
    });
    const claims = LeaseClaims.safeParse(payload);
    return claims.success ? ok(claims.data) : err('the lease is signed but its contents are not understood');
  } catch {
    return err('the lease signature does not verify with the vendor keys');
  }
}
