import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import { z } from 'zod';
import { Limits, TierId } from './catalog.ts';
import type { PlanState } from './decisions.ts';
import { PERIOD_PATTERN } from './period.ts';
import { err, type Failure, ok, type Result } from './result.ts';

/**
 * The license token: a compact JWS (alg EdDSA, Ed25519) the server signs and the companion — or
 * any host app with a standard JOSE library — verifies with the server's public key. The algorithm
 * is pinned on both sides, so `alg: none` or an HMAC token made with the public key never passes.
 */

const LICENSE_ALG = 'EdDSA';
const LICENSE_ISSUER = 'tollgate';
const LICENSE_AUDIENCE = 'tollgate-companion';
const LICENSE_TYPE = 'tollgate-license+jwt';

export const SUBSCRIPTION_STATUSES = [
  'active',
  'trialing',
  'past_due',
  'canceled',
  'unpaid',
  'incomplete',
  'incomplete_expired',
  'paused',
] as const;
export const SubscriptionStatus = z.enum(SUBSCRIPTION_STATUSES);
export type SubscriptionStatus = z.infer<typeof SubscriptionStatus>;

/** The companion's per-request random value that the server signs back into the license (`nonce`). */
export const LicenseNonce = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16,128}$/, { error: 'expected 16–128 of A–Z a–z 0–9 _ -' });

/** What the server puts in a license (the registered JWT claims are added when signing). */
export const LicensePayload = z.strictObject({
  sub: z.string().min(1).max(200),
  dev: z.string().min(1).max(200),
  email: z.string().max(320),
  tier: TierId,
  status: SubscriptionStatus,
  /** The server's verdict on access (status mapped, past-due grace applied) when it signed. */
  access: z.boolean(),
  /** UTC ms when paid access ends (cancel at period end, past-due grace end); null if it renews. */
  accessEndsAt: z.number().int().nullable(),
  features: z.array(z.string().max(64)).max(200),
  limits: Limits,
  /**
   * What applies once `accessEndsAt` passes (the free tier's features and limits), signed so that a
   * companion offline at that moment never reads them from its cached catalog. Present when
   * `accessEndsAt` is; without it nothing is granted after that time.
   */
  afterAccessEnds: z.strictObject({ features: z.array(z.string().max(64)).max(200), limits: Limits }).optional(),
  period: z.string().regex(PERIOD_PATTERN),
  usage: z.record(z.string(), z.number().int().min(0)),
  /**
   * The nonce the license request carried (absent when it carried none): a license whose nonce is
   * the one the companion just sent was signed for that request, so its `iat` is the server's time now.
   */
  nonce: LicenseNonce.optional(),
});
export type LicensePayload = z.infer<typeof LicensePayload>;

/**
 * A license as the companion reads it: the payload and the registered claims. Claims it does not
 * know are ignored (and dropped), as JWT readers do, so a server that signs a new claim does not
 * make every installed companion refuse its licenses; a new claim may therefore only inform, never
 * restrict (a restriction needs companions that know it first). The server signs only what
 * `LicensePayload` names.
 */
export const LicenseClaims = z.object({
  ...LicensePayload.shape,
  iss: z.literal(LICENSE_ISSUER),
  aud: z.literal(LICENSE_AUDIENCE),
  iat: z.number().int(),
  nbf: z.number().int(),
  exp: z.number().int(),
});
export type LicenseClaims = z.infer<typeof LicenseClaims>;

type LicenseProblemCode =
  | 'LICENSE_INVALID'
  | 'OFFLINE_GRACE_EXPIRED'
  | 'CLOCK_TAMPERED'
  | 'DEVICE_RELEASED'
  | 'DEVICE_LIMIT_REACHED';
/** Why a license cannot be honoured: a Failure (result.ts) with one of the license's reason codes. */
export type LicenseProblem = Failure<LicenseProblemCode>;

export interface LicenseKeyPair {
  privateJwk: JWK;
  publicJwk: JWK;
}

export async function generateLicenseKeyPair(): Promise<LicenseKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(LICENSE_ALG, { crv: 'Ed25519', extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = await exportJWK(privateKey);
  const stamp = { kid, alg: LICENSE_ALG, use: 'sig' };
  return { privateJwk: { ...privateJwk, ...stamp }, publicJwk: { ...publicJwk, ...stamp } };
}

/** The JWKS document the server publishes at /.well-known/jwks.json. */
export function publicJwks(...keys: JWK[]): JSONWebKeySet {
  return { keys: keys.map(({ kty, crv, x, kid, alg, use }) => ({ kty, crv, x, kid, alg, use }) as JWK) };
}

export interface SignOptions {
  now: number;
  /** How long the companion may keep using this token offline. */
  offlineGraceSeconds: number;
}

export async function signLicense(payload: LicensePayload, privateJwk: JWK, options: SignOptions): Promise<string> {
  const checked = LicensePayload.parse(payload);
  const key = await importJWK(privateJwk, LICENSE_ALG);
  const issuedAt = Math.floor(options.now / 1000);
  return new SignJWT(checked)
    .setProtectedHeader({ alg: LICENSE_ALG, typ: LICENSE_TYPE, ...(privateJwk.kid ? { kid: privateJwk.kid } : {}) })
    .setIssuer(LICENSE_ISSUER)
    .setAudience(LICENSE_AUDIENCE)
    .setIssuedAt(issuedAt)
    .setNotBefore(issuedAt)
    .setExpirationTime(issuedAt + options.offlineGraceSeconds)
    .sign(key);
}

export interface VerifyOptions {
  now: number;
  /** Allowed skew between this clock and the server's, in seconds. */
  clockToleranceSeconds?: number;
}

const problem = (code: LicenseProblemCode, message: string) => err<LicenseProblem>({ code, message });

/**
 * Verifies a license against the pinned public key (a JWK or a JWKS). Never throws: every failure
 * is a reason code with a sentence a person can act on.
 */
export async function verifyLicense(
  token: string,
  key: JWK | JSONWebKeySet,
  options: VerifyOptions,
): Promise<Result<LicenseClaims, LicenseProblem>> {
  if (typeof token !== 'string' || token.split('.').length !== 3) {
    return problem('LICENSE_INVALID', 'The stored license is not a signed token; sign in again to fetch a new one.');
  }
  try {
    decodeProtectedHeader(token);
  } catch {
    return problem('LICENSE_INVALID', 'The stored license is damaged; sign in again to fetch a new one.');
  }
  const tolerance = options.clockToleranceSeconds ?? 120;
  try {
    const verifyOptions = {
      algorithms: [LICENSE_ALG],
      issuer: LICENSE_ISSUER,
      audience: LICENSE_AUDIENCE,
      typ: LICENSE_TYPE,
      currentDate: new Date(options.now),
      clockTolerance: tolerance,
      requiredClaims: ['iat', 'nbf', 'exp', 'sub'],
    };
    const { payload } =
      'keys' in key
        ? await jwtVerify(token, createLocalJWKSet(key), verifyOptions)
        : await jwtVerify(token, await importJWK(key, LICENSE_ALG), verifyOptions);
    const claims = LicenseClaims.safeParse(payload);
    if (!claims.success) {
      return problem(
        'LICENSE_INVALID',
        'The license is signed but its contents are not understood; update the companion.',
      );
    }
    return ok(claims.data);
  } catch (error) {
    return problem(...explain(error));
  }
}

function explain(error: unknown): [LicenseProblemCode, string] {
  const code = (error as { code?: string }).code;
  const claim = (error as { claim?: string }).claim;
  if (code === 'ERR_JWT_EXPIRED') {
    return [
      'OFFLINE_GRACE_EXPIRED',
      'The offline grace period of this license has ended; connect to the internet to renew it.',
    ];
  }
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && (claim === 'nbf' || claim === 'iat')) {
    return [
      'CLOCK_TAMPERED',
      "The license was issued later than this computer's clock says it is now; check the system date and time.",
    ];
  }
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' || code === 'ERR_JWKS_NO_MATCHING_KEY') {
    return ['LICENSE_INVALID', 'The license signature does not match this server; sign in again to fetch a new one.'];
  }
  if (code === 'ERR_JOSE_ALG_NOT_ALLOWED') {
    return ['LICENSE_INVALID', 'The license uses a signing algorithm Tollgate does not accept; sign in again.'];
  }
  return ['LICENSE_INVALID', 'The stored license could not be verified; sign in again to fetch a new one.'];
}

/** Features and limits that grant nothing: what an ended access without a signed fallback leaves. */
const NOTHING = {
  features: [] as string[],
  limits: { monthly: {}, max_project_size_mb: 0, api_calls_per_hour: 0, max_devices: 0 },
};

/**
 * What a verified license lets the holder do at `now`: only what it signs. Without access the
 * server signs the free tier's features and limits as the license's own; once `accessEndsAt`
 * passes, its signed `afterAccessEnds` apply (nothing when it has none) — never the catalog.
 */
export function planFromLicense(claims: LicenseClaims, now: number): PlanState {
  const base = { tier: claims.tier, limits: claims.limits, features: claims.features };
  if (!claims.access) return { ...base, standing: 'SUBSCRIPTION_INACTIVE' };
  if (claims.accessEndsAt !== null && now >= claims.accessEndsAt) {
    const after = claims.afterAccessEnds ?? NOTHING;
    return { tier: claims.tier, limits: after.limits, features: after.features, standing: 'LICENSE_EXPIRED' };
  }
  return { ...base, standing: 'ok' };
}
