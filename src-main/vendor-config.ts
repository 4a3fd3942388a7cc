import { z } from 'zod';

/**
 * The vendor's build configuration (`vendor.config.json` at the repository root): everything a
 * vendor brands and points at when it ships the companion. It is read at build time only — by the
 * packaging script (scripts/package.ts) for electron-builder, and bundled into out/main by
 * electron-vite for the packaged app — never from an end user's environment or data folder.
 */

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https, or plain http only to this machine (the embedded local server of a development build). */
const ServerUrl = z.url().refine((text) => {
  const url = new URL(text);
  if (url.username || url.password || url.search || url.hash) return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
}, 'must be an https: address (or http: on 127.0.0.1 / localhost), without credentials, query or fragment');

const HttpsUrl = z.url({ protocol: /^https$/ });

/** The license signing keys to pin: Ed25519 public JWKs (no private part), each with a kid. */
const LicenseKey = z.strictObject({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a base64url Ed25519 public key'),
  kid: z.string().min(1).max(100),
  alg: z.literal('EdDSA').optional(),
  use: z.literal('sig').optional(),
});

const Channel = z.enum(['latest', 'beta', 'alpha']).default('latest');

/** Where electron-updater looks for new versions: a generic HTTPS folder or an S3 bucket. */
const UpdateFeed = z.discriminatedUnion('provider', [
  z.strictObject({ provider: z.literal('generic'), url: HttpsUrl, channel: Channel }),
  z.strictObject({
    provider: z.literal('s3'),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1'),
    path: z
      .string()
      .regex(/^[A-Za-z0-9._/-]*$/)
      .default(''),
    channel: Channel,
  }),
]);
export type UpdateFeed = z.infer<typeof UpdateFeed>;

export const VendorConfig = z.strictObject({
  /** Reverse-DNS application id: the macOS bundle id, the Windows AppUserModelID. */
  appId: z.string().regex(/^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+$/i, 'must be a reverse-DNS id such as com.example.app'),
  productName: z.string().trim().min(1).max(40),
  /** Who ships it, as `Name <email>`: the deb's Maintainer, the copyright line. */
  publisher: z.string().regex(/^[^<>\n]{1,80} <[^@\s<>]+@[^@\s<>]+>$/, 'must read "Name <email>"'),
  /** A square PNG of at least 512 px, relative to the repository root. */
  icon: z
    .string()
    .regex(/^[\w./-]+\.png$/, 'must be a relative path to a .png file')
    .refine((path) => !path.split('/').includes('..'), 'must stay inside the repository'),
  serverUrl: ServerUrl,
  /**
   * The pinned license keys as a JWKS. A field only for now: the integrity issue makes license
   * verification use it (until then the companion pins the server's key on first contact).
   */
  licenseKeys: z.strictObject({ keys: z.array(LicenseKey).max(16) }),
  /** null: this build never looks for updates. */
  updates: UpdateFeed.nullable(),
});
export type VendorConfig = z.infer<typeof VendorConfig>;

/** Validates the file's content, naming every problem with its field. */
export function parseVendorConfig(json: unknown, source = 'vendor.config.json'): VendorConfig {
  const parsed = VendorConfig.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new Error(`${source} is not a valid vendor configuration:\n${problems.join('\n')}`);
}
