export { type ClientOptions, type LicenseResult, TollgateClient } from './client.ts';
export * from './errors.ts';
export { type LicenseClaims, verifyLicenseToken } from './license.ts';
export { defaultSocketPath } from './socket-path.ts';
export { VENDOR_KEYS } from './vendor-keys.ts';
export * from './wire.ts';
