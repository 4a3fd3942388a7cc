import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Catalog } from '../../src-shared/catalog.ts';
import type { Dialect } from '../db/connection.ts';
import type { AccountRow, Database } from '../db/schema.ts';
import { runAsync, transactionRunner } from '../db/statements.ts';
import { ApiError } from '../http/errors.ts';
import { enqueueEvent } from '../outbox/enqueue.ts';
import { hashPassword } from './passwords.ts';

/**
 * Claiming an account `npm run stripe:import` made: only through its mailbox. Sign-up with such an
 * e-mail sets nothing; it e-mails a one-time code (as a link) to the address, and only that code sets
 * the password. Sign-up does not verify addresses, so anything weaker would hand a paying customer's
 * subscription to whoever types their e-mail first (docs/security.md, "Imported accounts").
 */

/**
 * The password hash of an account nobody has claimed yet. No password verifies against it (sign-in
 * checks such an account against the decoy hash, so it answers like a wrong password).
 */
export const UNCLAIMED_PASSWORD_HASH = '';

/** How long an e-mailed claim code works. */
const CLAIM_CODE_TTL_MS = 24 * 3600_000;
/** Claim e-mails per address and hour: enough to retry a lost mail, too few to flood a mailbox. */
const CLAIM_EMAILS_PER_HOUR = 3;
const HOUR_MS = 3600_000;

const codeHash = (code: string) => createHash('sha256').update(code).digest('hex');

/** The page an e-mailed claim link opens (accounts/claim-page.ts). */
function claimUrl(publicUrl: string, code: string): string {
  return `${publicUrl}/claim?code=${encodeURIComponent(code)}`;
}

/** The plan an unclaimed account holds, in the words of the catalog ("Enterprise"). */
async function planName(db: Kysely<Database>, catalog: Catalog, accountId: string): Promise<string | null> {
  const row = await db
    .selectFrom('subscriptions')
    .select('tier')
    .where('account_id', '=', accountId)
    .executeTakeFirst();
  if (!row || row.tier === 'free') return null;
  return catalog.tiers.find((tier) => tier.id === row.tier)?.name ?? row.tier;
}

export interface ClaimDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  catalog: Catalog;
  /** Read when a link is made: a server started on port 0 learns its URL once it listens. */
  publicUrl: () => string;
  /** False without TOLLGATE_SMTP_URL: then no claim can be made at all. */
  canEmail: boolean;
}

/**
 * Sign-up met an unclaimed account: e-mails it a claim code, and says so in words for the sign-up
 * form (`ACCOUNT_CLAIM_SENT`). Throws ACCOUNT_CLAIM_NEEDS_EMAIL without SMTP, RATE_LIMITED after
 * CLAIM_EMAILS_PER_HOUR mails to the address within the hour, and EMAIL_TAKEN when the account was
 * claimed meanwhile. Nothing here signs anyone in or changes the account.
 */
export async function sendClaimCode(deps: ClaimDeps, account: Pick<AccountRow, 'id'>, now: number): Promise<string> {
  const { db, dialect, catalog, publicUrl, canEmail } = deps;
  const plan = await planName(db, catalog, account.id);
  const has = plan ? `a subscription to the ${plan} plan` : 'an account, moved from the vendor’s previous billing';
  if (!canEmail) {
    throw new ApiError(
      'ACCOUNT_CLAIM_NEEDS_EMAIL',
      `This e-mail already has ${has}. It is claimed through a link e-mailed to the address, and this ` +
        'server cannot send e-mail yet: its operator must set TOLLGATE_SMTP_URL (docs/operations.md, ' +
        '"Email"). Contact the vendor’s support.',
    );
  }
  const code = randomBytes(24).toString('base64url');
  const outcome = await db.transaction().execute(async (trx) => {
    // The first write of the transaction: on PostgreSQL it locks the account's row, on SQLite it
    // takes the write lock, so racing sign-ups count the mails already sent one after the other.
    const unclaimed = await trx
      .updateTable('accounts')
      .set({ password_hash: UNCLAIMED_PASSWORD_HASH })
      .where('id', '=', account.id)
      .where('password_hash', '=', UNCLAIMED_PASSWORD_HASH)
      .returning('id')
      .executeTakeFirst();
    if (!unclaimed) return { taken: true as const };
    const recent = await trx
      .selectFrom('account_claims')
      .select('created_at')
      .where('account_id', '=', account.id)
      .where('created_at', '>', now - HOUR_MS)
      .orderBy('created_at')
      .execute();
    const oldest = recent[0];
    if (oldest && recent.length >= CLAIM_EMAILS_PER_HOUR) {
      return { retryAfterMs: Number(oldest.created_at) + HOUR_MS - now };
    }
    const expiresAt = now + CLAIM_CODE_TTL_MS;
    await trx
      .insertInto('account_claims')
      .values({
        code_hash: codeHash(code),
        account_id: account.id,
        created_at: now,
        expires_at: expiresAt,
        used_at: null,
      })
      .execute();
    await runAsync(
      enqueueEvent(transactionRunner(db, dialect, trx), {
        accountId: account.id,
        type: 'account.claim',
        data: { plan, claimUrl: claimUrl(publicUrl(), code), expiresAt: new Date(expiresAt).toISOString() },
        now,
      }),
    );
    return { sent: true as const };
  });
  if ('taken' in outcome) throw new ApiError('EMAIL_TAKEN', 'Sign in instead, or use another email.');
  if ('retryAfterMs' in outcome && outcome.retryAfterMs !== undefined) {
    const minutes = Math.max(1, Math.ceil(outcome.retryAfterMs / 60_000));
    throw new ApiError(
      'RATE_LIMITED',
      `This e-mail already has ${has}, and we already sent ${CLAIM_EMAILS_PER_HOUR} links to it within the hour: ` +
        `open the newest one, or ask for another in ${minutes} min.`,
      { retryAfterSeconds: Math.ceil(outcome.retryAfterMs / 1000) },
    );
  }
  return `This e-mail already has ${has}. We sent a link to it: open it to set your password (it works once, for 24 hours).`;
}

/**
 * Sets the password of the account a claim code was sent for. One transaction uses
 * the code (a conditional update: of racing claims with one code exactly one matches) and sets the
 * password only where there is none, so neither a second code nor a replay changes a claimed account.
 */
export async function claimAccount(
  db: Kysely<Database>,
  code: string,
  password: string,
  now: number,
): Promise<AccountRow> {
  const passwordHash = await hashPassword(password);
  const account = await db.transaction().execute(async (trx) => {
    const claim = await trx
      .updateTable('account_claims')
      .set({ used_at: now })
      .where('code_hash', '=', codeHash(code))
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .returning('account_id')
      .executeTakeFirst();
    if (!claim) return undefined;
    return trx
      .updateTable('accounts')
      .set({ password_hash: passwordHash })
      .where('id', '=', claim.account_id)
      .where('password_hash', '=', UNCLAIMED_PASSWORD_HASH)
      .returningAll()
      .executeTakeFirst();
  });
  if (!account) {
    throw new ApiError(
      'CLAIM_CODE_INVALID',
      'This claim link is wrong, was already used, or is older than 24 hours. Sign up again with your e-mail to get a new one; if you already set your password, sign in.',
    );
  }
  return account;
}
