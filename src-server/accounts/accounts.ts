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

/** Sign-up puts a new account on the free tier (freemium) and signs it in. */
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
    if (!inserted) return false;
    await trx.insertInto('subscriptions').values(freeSubscription(account.id, now)).execute();
    await runAsync(
      enqueueEvent(transactionRunner(db, dialect, trx), {
        accountId: account.id,
        type: 'customer.created',
        data: {},
        now,
      }),
    );
    return true;
  });
  if (!created) throw new ApiError('EMAIL_TAKEN', 'Sign in instead, or use another email.');
  return startSession(db, account, now);
}

export async function signIn(db: Kysely<Database>, email: string, password: string, now: number): Promise<Session> {
  const account = await db.selectFrom('accounts').selectAll().where('email', '=', email).executeTakeFirst();
  // Hash even when the account is missing, so timing does not tell which emails have accounts.
  const valid = await verifyPassword(password, account?.password_hash ?? (await decoyHash()));
  if (!account || !valid) throw new ApiError('INVALID_CREDENTIALS');
  return startSession(db, account, now);
}
