import { createLocalJWKSet, type JSONWebKeySet, type JWTPayload, jwtVerify } from 'jose';
import { errorFor, type TollgateError } from './errors.ts';

/** The claims of a verified license token (docs/host-ipc.md; the server signs them). */
export interface LicenseClaims extends JWTPayload {
  sub: string;
  /** The device the license was issued to. */
  dev: string;
  tier: string;
  status: string;
  access: boolean;
  accessEndsAt: number | null;
  features: string[];
  limits: Record<string, unknown>;
  /** What applies once `accessEndsAt` passes (the free tier); present when `accessEndsAt` is. */
  afterAccessEnds?: { features: string[]; limits: Record<string, unknown> };
  period: string;
  usage: Record<string, number>;
  iat: number;
  exp: number;
}

/** Verifies a license token against the pinned keys: EdDSA only, Tollgate's issuer, audience and type. */
export async function verifyLicenseToken(
  token: string,
  keys: JSONWebKeySet,
  now: Date = new Date(),
): Promise<LicenseClaims> {
  if (keys.keys.length === 0) {
    throw errorFor('LICENSE_INVALID', 'No vendor keys are pinned in this build: the license cannot be verified.');
  }
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet(keys), {
      algorithms: ['EdDSA'],
      issuer: 'tollgate',
      audience: 'tollgate-companion',
      typ: 'tollgate-license+jwt',
      currentDate: now,
      clockTolerance: 120,
      requiredClaims: ['iat', 'nbf', 'exp', 'sub'],
    });
    return payload as LicenseClaims;
  } catch (error) {
    throw explain(error);
  }
}

function explain(error: unknown): TollgateError {
  const { code, claim } = error as { code?: string; claim?: string };
  if (code === 'ERR_JWT_EXPIRED') {
    return errorFor('OFFLINE_GRACE_EXPIRED', 'The offline grace of this license has ended.');
  }
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && (claim === 'nbf' || claim === 'iat')) {
    return errorFor('CLOCK_TAMPERED', "The license was issued later than this computer's clock says it is now.");
  }
  return errorFor('LICENSE_INVALID', `The license does not verify against the vendor's keys (${code ?? 'invalid'}).`);
}
