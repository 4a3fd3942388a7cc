import type { JWK } from 'jose';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { generateLicenseKeyPair, type LicenseKeyPair } from '../../src-shared/license.ts';
import type { Database } from '../db/schema.ts';

const LICENSE_KEY_ID = 'license';

/** The key licenses are signed with, plus public keys published beside it (the next or previous key). */
export interface ServerLicenseKeys extends LicenseKeyPair {
  alsoPublished?: JWK[];
}

const Ed25519Jwk = z.looseObject({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().min(1),
  d: z.string().min(1).optional(),
  kid: z.string().min(1, { error: 'every key needs a kid (companions pick the key by it)' }),
});

const publicPart = ({ kty, crv, x, kid }: JWK): JWK => ({ kty, crv, x, kid, alg: 'EdDSA', use: 'sig' });

/**
 * Reads TOLLGATE_LICENSE_SIGNING_KEY's file: one private Ed25519 JWK, or a JWKS whose first private
 * key signs and whose other keys (private or public) are published at /.well-known/jwks.json too.
 * Rotation: ship the next public key in the companions first, then switch the server to sign with it.
 */
export function parseSigningKeyFile(json: unknown): ServerLicenseKeys {
  const keys = z
    .union([
      z.object({ keys: z.array(Ed25519Jwk).min(1) }).transform((set) => set.keys),
      Ed25519Jwk.transform((k) => [k]),
    ])
    .safeParse(json);
  if (!keys.success) {
    throw new Error(`not an Ed25519 private JWK or JWKS (${keys.error.issues.map((i) => i.message).join('; ')})`);
  }
  const signing = keys.data.find((key) => key.d !== undefined);
  if (!signing) throw new Error('holds no private key (a "d" member) to sign with');
  const privateJwk = { ...(signing as JWK), alg: 'EdDSA', use: 'sig' };
  return {
    privateJwk,
    publicJwk: publicPart(privateJwk),
    alsoPublished: keys.data.filter((key) => key !== signing).map((key) => publicPart(key as JWK)),
  };
}

/**
 * Without a configured key: the Ed25519 key generated on first start and kept in the database (the
 * SQLite file in the data folder, or PostgreSQL), so every server process on one database signs
 * with the same key. Whichever process starts first inserts it; the others' inserts do nothing and
 * they read the winner's key. The private key is never logged or served.
 */
export async function loadLicenseKey(db: Kysely<Database>, now: number): Promise<LicenseKeyPair> {
  const existing = await readKey(db);
  if (existing) return existing;
  const generated = await generateLicenseKeyPair();
  await db
    .insertInto('signing_keys')
    .values({
      id: LICENSE_KEY_ID,
      kid: String(generated.publicJwk.kid),
      private_jwk: JSON.stringify(generated.privateJwk),
      public_jwk: JSON.stringify(generated.publicJwk),
      created_at: now,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const stored = await readKey(db);
  if (!stored) throw new Error('the license signing key could not be stored');
  return stored;
}

async function readKey(db: Kysely<Database>): Promise<LicenseKeyPair | null> {
  const row = await db
    .selectFrom('signing_keys')
    .select(['private_jwk', 'public_jwk'])
    .where('id', '=', LICENSE_KEY_ID)
    .executeTakeFirst();
  return row ? { privateJwk: JSON.parse(row.private_jwk), publicJwk: JSON.parse(row.public_jwk) } : null;
}
