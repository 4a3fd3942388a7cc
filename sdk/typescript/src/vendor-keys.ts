import type { JSONWebKeySet } from 'jose';

/**
 * The vendor's pinned license keys: the `licenseKeys` of the vendor build configuration
 * (vendor.config.json), embedded at build time. This is the repository's DEVELOPMENT key (its
 * private half is dev-keys/license-signing.dev.jwk.json); a vendor build replaces it with its own —
 * a unit test keeps it equal to vendor.config.json — or passes `keys` to `new TollgateClient({ keys })`.
 */
export const VENDOR_KEYS: JSONWebKeySet = {
  keys: [
    {
      kty: 'OKP',
      crv: 'Ed25519',
      x: 'LSnARAvCgD2HbFCCJ-56CERxvGsOwO2Pgcwj93Ol1Vs',
      kid: 'tollgate-dev-1',
      alg: 'EdDSA',
      use: 'sig',
    },
  ],
};
