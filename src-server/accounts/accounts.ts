import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Session } from '../../src-shared/api.ts';
import type { Dialect } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { runAsync, transactionRunner } from '../db/statements.ts';
import { ApiError } from '../http/errors.ts';
import { enqueueEvent } from '../outbox/enqueue.ts';
import { freeSubscription } from '../plans/subscriptions.ts';
import { UNCLAIMED_PASSWORD_HASH } from './claims.ts';
import { decoyHash, hashPassword, verifyPassword } from './passwords.ts';
import { startSession } from './sessions.ts';

/**
 * An account for a customer who paid the vendor through Stripe before Tollgate: dated when Stripe
 * created the customer, on the free tier until its subscriptions are applied, and without a
 * password (claims.ts: its customer claims it through its mailbox). Null when the e-mail already has
 * an account. Nothing is queued for the outbox: this is history, not a sign-up.
 */
export async function createImportedAccount(
  db: Kysely<Database>,
  email: string,
  createdAt: number,
): Promise<string | null> {
  const id = `acct_${randomUUID()}`;
  return db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('accounts')
      .values({ id, email, password_hash: UNCLAIMED_PASSWORD_HASH, created_at: createdAt })
      // Someone signed up with the e-mail meanwhile: the caller links that account instead.
      .onConflict((oc) => oc.column('email').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) return null;
    await trx.insertInto('subscriptions').values(freeSubscription(id, createdAt)).execute();
    return id;
  });
}

/** What sign-up did: signed a new account in, or met an imported account nobody has claimed yet. */
type SignUpOutcome = { session: Session } | { unclaimed: { id: string } };

/**
 * Sign-up puts a new account on the free tier (freemium) and signs it in. An e-mail that belongs to
 * an unclaimed imported account signs nobody in and changes nothing: the caller e-mails the
 * account's address a claim link instead (claims.ts), since sign-up does not prove whose mailbox it is.
 */
export async function signUp(
  db: Kysely<Database>,
  dialect: Dialect,
  email: string,
  password: string,
  now: number,
): Promise<SignUpOutcome> {
  const passwordHash = await hashPassword(password);
  const account = { id: `acct_${randomUUID()}`, email, password_hash: passwordHash, created_at: now };
  const created = await db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('accounts')
      .values(account)
      .onConflict((oc) => oc.column('email').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) return null;
    await trx.insertInto('subscriptions').values(freeSubscription(account.id, now)).execute();
    await runAsync(
      enqueueEvent(transactionRunner(db, dialect, trx), {
        accountId: account.id,
        type: 'customer.created',
        data: {},
        now,
      }),
    );
    return account;
  });
  if (created) return { session: await startSession(db, created, now) };
  const existing = await db
    .selectFrom('accounts')
    .select('id')
    .where('email', '=', email)
    .where('password_hash', '=', UNCLAIMED_PASSWORD_HASH)
    .executeTakeFirst();
  if (!existing) throw new ApiError('EMAIL_TAKEN', 'Sign in instead, or use another email.');
  return { unclaimed: existing };
}

export async function signIn(db: Kysely<Database>, email: string, password: string, now: number): Promise<Session> {
  const account = await db.selectFrom('accounts').selectAll().where('email', '=', email).executeTakeFirst();
  // Hash even when the account is missing, so timing does not tell which emails have accounts.
  // An unclaimed account is checked against the decoy too: it answers like any wrong password.
  const valid = await verifyPassword(password, account?.password_hash || (await decoyHash()));
  if (!account || !valid) throw new ApiError('INVALID_CREDENTIALS');
  return startSession(db, account, now);
}
