import type { Kysely } from 'kysely';
import { generateLicenseKeyPair, type LicenseKeyPair } from '../../src-shared/license.ts';
import type { Database } from '../db/schema.ts';

const LICENSE_KEY_ID = 'license';

/**
 * The Ed25519 key licenses are signed with, generated on first start and kept in the database (the
 * SQLite file in the data folder, or PostgreSQL), so every server process on one database signs
 * with the same key and the companion's pinned public key keeps working across restarts. Whichever
 * process starts first inserts it; the others' inserts do nothing and they read the winner's key.
 * The private key is never logged or served.
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
