import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Session } from '../../src-shared/api.ts';
import type { Dialect } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { runAsync, transactionRunner } from '../db/statements.ts';
import { ApiError } from '../http/errors.ts';
import { enqueueEvent } from '../outbox/enqueue.ts';
import { freeSubscription } from '../plans/subscriptions.ts';
import { decoyHash, hashPassword, verifyPassword } from './passwords.ts';
import { startSession } from './sessions.ts';

/**
 * The password hash of an account nobody has claimed yet: one `npm run stripe:import` made for a
 * Stripe customer. No password verifies against it; the customer claims the account by signing up
 * with its e-mail (docs/stripe.md, "Moving an existing Stripe account to Tollgate").
 */
const UNCLAIMED_PASSWORD_HASH = '';

/**
 * An account for a customer who paid the vendor through Stripe before Tollgate: dated when Stripe
 * created the customer, on the free tier until its subscriptions are applied, and without a
 * password. Null when the e-mail already has an account. Nothing is queued for the outbox: this is
 * history, not a sign-up.
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

/**
 * Sign-up puts a new account on the free tier (freemium) and signs it in. An e-mail that belongs to
 * an unclaimed imported account claims it instead: the password is set and the customer finds the
 * subscription they already pay for.
 */
export async function signUp(
  db: Kysely<Database>,
  dialect: Dialect,
  email: string,
  password: string,
  now: number,
): Promise<Session> {
  const passwordHash = await hashPassword(password);
  const account = { id: `acct_${randomUUID()}`, email, password_hash: passwordHash, created_at: now };
  const created = await db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('accounts')
      .values(account)
      .onConflict((oc) => oc.column('email').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) {
      const claimed = await trx
        .updateTable('accounts')
        .set({ password_hash: passwordHash })
        .where('email', '=', email)
        .where('password_hash', '=', UNCLAIMED_PASSWORD_HASH)
        .returningAll()
        .executeTakeFirst();
      return claimed ?? false;
    }
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
  if (!created) throw new ApiError('EMAIL_TAKEN', 'Sign in instead, or use another email.');
  return startSession(db, created, now);
}

export async function signIn(db: Kysely<Database>, email: string, password: string, now: number): Promise<Session> {
  const account = await db.selectFrom('accounts').selectAll().where('email', '=', email).executeTakeFirst();
  // Hash even when the account is missing, so timing does not tell which emails have accounts.
  // An unclaimed account is checked against the decoy too: it answers like any wrong password.
  const valid = await verifyPassword(password, account?.password_hash || (await decoyHash()));
  if (!account || !valid) throw new ApiError('INVALID_CREDENTIALS');
  return startSession(db, account, now);
}
