import { createHash, createHmac, createPrivateKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';

// Signature and token cases for an SDK that verifies licenses itself (the C# SDK's Ed25519 and JWS
// code, through `conformance.exe --verify`). Tokens are built here with node:crypto (OpenSSL), so a
// genuine one proves interoperability and each hostile one is an attack on a single rule.

export interface Ed25519Case {
  name: string;
  publicKey: string;
  message: string;
  signature: string;
  valid: boolean;
}

export interface LicenseCase {
  name: string;
  keys: { keys: Array<Record<string, string>> };
  token: string;
  /** Unix seconds the check runs at. */
  now: number;
  /** The error code the SDK must raise; absent: the token verifies. */
  error?: string;
}

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;
/** The neutral point's encoding (y = 1): of small order, and a signature (O, 0) "verifies" every message under it. */
const IDENTITY = `01${'00'.repeat(31)}`;

function littleEndian(value: bigint): string {
  return Buffer.from(value.toString(16).padStart(64, '0'), 'hex').reverse().toString('hex');
}

function fromSeed(seed: string): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed, 'hex')]),
    format: 'der',
    type: 'pkcs8',
  });
}

function publicKeyHex(key: KeyObject): string {
  return Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url').toString('hex');
}

/** A valid signature with S replaced by S + L: the same point equation, a non-canonical scalar. */
function malleable(signature: Buffer): Buffer {
  const s = BigInt(`0x${Buffer.from(signature.subarray(32)).reverse().toString('hex')}`);
  return Buffer.concat([signature.subarray(0, 32), Buffer.from(littleEndian(s + L), 'hex')]);
}

function integer(bytes: Buffer): bigint {
  return BigInt(`0x${Buffer.from(bytes).reverse().toString('hex') || '0'}`);
}

/**
 * A signature of `message` by TEST 1's secret key whose R is the neutral point written as `r`:
 * with R = O, S = h·a satisfies [S]B = R + [h]A, so only the decoding of `r` decides.
 */
function neutralNonceSignature(r: string, message: string): string {
  const seed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
  const expanded = createHash('sha512').update(seed).digest().subarray(0, 32);
  expanded[0] = (expanded[0] ?? 0) & 248;
  expanded[31] = ((expanded[31] ?? 0) & 127) | 64;
  const publicKey = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
  const digest = createHash('sha512')
    .update(Buffer.from(r + publicKey + message, 'hex'))
    .digest();
  return r + littleEndian(((integer(digest) % L) * integer(expanded)) % L);
}

export function ed25519Cases(): Ed25519Case[] {
  // RFC 8032 §7.1, TEST 1–3.
  const rfc: Ed25519Case[] = [
    {
      name: 'RFC 8032 TEST 1 (empty message)',
      publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      message: '',
      signature:
        'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
      valid: true,
    },
    {
      name: 'RFC 8032 TEST 2 (one byte)',
      publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
      message: '72',
      signature:
        '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
      valid: true,
    },
    {
      name: 'RFC 8032 TEST 3 (two bytes)',
      publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
      message: 'af82',
      signature:
        '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
      valid: true,
    },
  ];
  const [, , third] = rfc as [Ed25519Case, Ed25519Case, Ed25519Case];
  // TEST 1024's key with a 1023-byte message of our own, signed by OpenSSL: SHA-512 over many blocks.
  const key = fromSeed('f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5');
  const long = Buffer.from(Array.from({ length: 1023 }, (_, i) => (i * 131 + 7) & 0xff));
  const longSignature = sign(null, long, key);
  const altered = Buffer.from(long);
  altered[1000] = (altered[1000] ?? 0) ^ 1;
  return [
    ...rfc,
    {
      name: 'a 1023-byte message signed by OpenSSL',
      publicKey: publicKeyHex(key),
      message: long.toString('hex'),
      signature: longSignature.toString('hex'),
      valid: true,
    },
    { ...third, name: 'TEST 3 with the message changed', message: 'af83', valid: false },
    {
      ...third,
      name: 'TEST 3 with the signature changed',
      signature: `${third.signature.slice(0, 126)}0b`,
      valid: false,
    },
    {
      ...third,
      name: 'TEST 3 under TEST 2’s key',
      publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
      valid: false,
    },
    {
      name: 'the 1023-byte message with one bit flipped',
      publicKey: publicKeyHex(key),
      message: altered.toString('hex'),
      signature: longSignature.toString('hex'),
      valid: false,
    },
    {
      name: 'a non-canonical S (S + L) is refused',
      publicKey: third.publicKey,
      message: third.message,
      signature: malleable(Buffer.from(third.signature, 'hex')).toString('hex'),
      valid: false,
    },
    {
      name: 'a small-order public key (the neutral point) is refused',
      publicKey: IDENTITY,
      message: '72',
      signature: `${IDENTITY}${'00'.repeat(32)}`,
      valid: false,
    },
    {
      name: 'R = the neutral point, canonically written (a valid, if odd, signature)',
      publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      message: '72',
      signature: neutralNonceSignature(IDENTITY, '72'),
      valid: true,
    },
    {
      name: 'R = the neutral point written as y = p + 1 (non-canonical) is refused',
      publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      message: '72',
      signature: neutralNonceSignature(littleEndian(P + 1n), '72'),
      valid: false,
    },
    {
      name: 'R = the neutral point written with x = -0 (non-canonical) is refused',
      publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      message: '72',
      signature: neutralNonceSignature(`01${'00'.repeat(30)}80`, '72'),
      valid: false,
    },
    {
      name: 'a non-canonical public key encoding (y = p + 1) is refused',
      publicKey: littleEndian(P + 1n),
      message: '72',
      signature: `${IDENTITY}${'00'.repeat(32)}`,
      valid: false,
    },
  ];
}

const TYPE = 'tollgate-license+jwt';

function segment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function signed(header: Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject): string {
  const input = `${segment(header)}.${segment(claims)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

function jwk(key: KeyObject, kid: string): Record<string, string> {
  const { kty, crv, x } = key.export({ format: 'jwk' }) as Record<string, string>;
  return { kty, crv, x, kid, alg: 'EdDSA', use: 'sig' } as Record<string, string>;
}

export function licenseCases(now: number): LicenseCase[] {
  const current = generateKeyPairSync('ed25519').privateKey;
  const previous = generateKeyPairSync('ed25519').privateKey;
  const attacker = generateKeyPairSync('ed25519').privateKey;
  // Several pinned kids, as after a key rotation.
  const keys = { keys: [jwk(previous, 'vendor-2025'), jwk(current, 'vendor-2026')] };
  const header = { alg: 'EdDSA', typ: TYPE, kid: 'vendor-2026' };
  const claims = {
    iss: 'tollgate',
    aud: 'tollgate-companion',
    sub: 'account-1',
    dev: 'device-1',
    tier: 'free',
    iat: now,
    nbf: now,
    exp: now + 3600,
  };
  const genuine = signed(header, claims, current);
  const [encodedHeader, , signature] = genuine.split('.') as [string, string, string];
  const hmac = (alg: 'HS256', secret: Buffer) => {
    const input = `${segment({ ...header, alg })}.${segment(claims)}`;
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  };
  const refused = (name: string, token: string, error = 'LICENSE_INVALID'): LicenseCase => ({
    name,
    keys,
    token,
    now,
    error,
  });
  return [
    { name: 'a genuine token verifies', keys, token: genuine, now },
    {
      name: 'a token signed with the other pinned kid verifies',
      keys,
      token: signed({ ...header, kid: 'vendor-2025' }, claims, previous),
      now,
    },
    {
      name: 'two minutes after exp, within the clock tolerance, it still verifies',
      keys,
      token: genuine,
      now: now + 3600 + 119,
    },
    refused('forged: signed by another key, claiming the vendor’s kid', signed(header, claims, attacker)),
    refused(
      'forged: signed by another key under its own kid',
      signed({ ...header, kid: 'attacker' }, claims, attacker),
    ),
    refused('forged: no kid', signed({ alg: 'EdDSA', typ: TYPE }, claims, attacker)),
    refused(
      'the payload edited (tier enterprise), signature kept',
      `${encodedHeader}.${segment({ ...claims, tier: 'enterprise' })}.${signature}`,
    ),
    refused(
      'the header’s kid switched to the other pinned key',
      `${segment({ ...header, kid: 'vendor-2025' })}.${genuine.split('.')[1]}.${signature}`,
    ),
    refused('alg none, no signature', `${segment({ ...header, alg: 'none' })}.${segment(claims)}.`),
    refused(
      'alg none, the genuine signature kept',
      `${segment({ ...header, alg: 'none' })}.${segment(claims)}.${signature}`,
    ),
    refused(
      'alg HS256 in a header the vendor key did sign: the algorithm is pinned',
      signed({ ...header, alg: 'HS256' }, claims, current),
    ),
    refused(
      'alg HS256 keyed with the vendor’s public key',
      hmac('HS256', Buffer.from(jwk(current, 'k').x as string, 'base64url')),
    ),
    refused(
      'a non-canonical signature (S + L)',
      `${genuine.split('.').slice(0, 2).join('.')}.${malleable(Buffer.from(signature, 'base64url')).toString('base64url')}`,
    ),
    refused('a truncated signature', genuine.slice(0, -4)),
    refused('padded base64', `${genuine}=`),
    refused('not a JWS', 'not-a-token'),
    refused('a critical header this SDK does not know', signed({ ...header, crit: ['exp'] }, claims, current)),
    refused('another type, genuinely signed', signed({ ...header, typ: 'JWT' }, claims, current)),
    refused('another issuer, genuinely signed', signed(header, { ...claims, iss: 'someone-else' }, current)),
    refused('another audience, genuinely signed', signed(header, { ...claims, aud: 'another-app' }, current)),
    refused('no exp, genuinely signed', signed(header, { ...claims, exp: undefined }, current)),
    refused('no sub, genuinely signed', signed(header, { ...claims, sub: undefined }, current)),
    {
      name: 'expired beyond the tolerance',
      keys,
      token: genuine,
      now: now + 3600 + 121,
      error: 'OFFLINE_GRACE_EXPIRED',
    },
    { name: 'not yet valid: the clock was set back', keys, token: genuine, now: now - 600, error: 'CLOCK_TAMPERED' },
    {
      name: 'a small-order key pinned under the kid, with the signature (O, 0)',
      keys: {
        keys: [
          { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(IDENTITY, 'hex').toString('base64url'), kid: 'vendor-2026' },
        ],
      },
      token: `${encodedHeader}.${segment(claims)}.${Buffer.from(`${IDENTITY}${'00'.repeat(32)}`, 'hex').toString('base64url')}`,
      now,
      error: 'LICENSE_INVALID',
    },
  ];
}
