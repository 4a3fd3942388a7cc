import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Account, Session } from '../../src-shared/api.ts';
import { onSqliteFile, postgresPoolOf, sqliteFileOf } from '../db/connection.ts';
import type { AccountRow, Database, SubscriptionRow } from '../db/schema.ts';
import { ApiError } from '../http/errors.ts';

/**
 * Sign-in sessions: a short-lived access token for API calls and a long-lived refresh token that is
 * rotated on every use. Only SHA-256 hashes of the tokens are stored, and a session can be revoked
 * (sign-out) at once: every request looks its access token up.
 */

const ACCESS_TOKEN_TTL_MS = 15 * 60 * 1000;
const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3600 * 1000;

export interface AuthenticatedAccount {
  id: string;
  email: string;
  createdAt: number;
  sessionId: string;
}

function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function newToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

function accountView(account: Pick<AccountRow, 'id' | 'email' | 'created_at'>): Account {
  return { id: account.id, email: account.email, createdAt: new Date(account.created_at).toISOString() };
}

function issueTokens(now: number) {
  const accessToken = newToken('tga');
  const refreshToken = newToken('tgr');
  return {
    accessToken,
    refreshToken,
    row: {
      access_token_hash: tokenHash(accessToken),
      access_expires_at: now + ACCESS_TOKEN_TTL_MS,
      refresh_token_hash: tokenHash(refreshToken),
      refresh_expires_at: now + REFRESH_TOKEN_TTL_MS,
    },
  };
}

function sessionView(account: Account, tokens: ReturnType<typeof issueTokens>): Session {
  return {
    account,
    accessToken: tokens.accessToken,
    accessTokenExpiresAt: new Date(tokens.row.access_expires_at).toISOString(),
    refreshToken: tokens.refreshToken,
  };
}

export async function startSession(db: Kysely<Database>, account: AccountRow, now: number): Promise<Session> {
  const tokens = issueTokens(now);
  await db
    .insertInto('sessions')
    .values({ id: randomUUID(), account_id: account.id, created_at: now, revoked_at: null, ...tokens.row })
    .execute();
  return sessionView(accountView(account), tokens);
}

/**
 * Swaps a refresh token for a new pair. The swap is one conditional update on the old token's hash,
 * so two clients racing with the same refresh token get one new session between them, not two.
 */
export async function rotateSession(db: Kysely<Database>, refreshToken: string, now: number): Promise<Session> {
  const tokens = issueTokens(now);
  const rotated = await db
    .updateTable('sessions')
    .set(tokens.row)
    .where('refresh_token_hash', '=', tokenHash(refreshToken))
    .where('revoked_at', 'is', null)
    .where('refresh_expires_at', '>', now)
    .returning('account_id')
    .executeTakeFirst();
  if (!rotated) throw new ApiError('INVALID_REFRESH_TOKEN');
  const account = await db
    .selectFrom('accounts')
    .select(['id', 'email', 'created_at'])
    .where('id', '=', rotated.account_id)
    .executeTakeFirstOrThrow();
  return sessionView(accountView(account), tokens);
}

/** Revokes the caller's session, and the one a given refresh token belongs to if it is the caller's. */
export async function endSession(
  db: Kysely<Database>,
  caller: AuthenticatedAccount,
  refreshToken: string | undefined,
  now: number,
): Promise<void> {
  let query = db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('account_id', '=', caller.id)
    .where('revoked_at', 'is', null);
  query = refreshToken
    ? query.where((eb) =>
        eb.or([eb('id', '=', caller.sessionId), eb('refresh_token_hash', '=', tokenHash(refreshToken))]),
      )
    : query.where('id', '=', caller.sessionId);
  await query.execute();
}

function accessTokenQuery(db: Kysely<Database>, hash: string, now: number) {
  return db
    .selectFrom('sessions')
    .innerJoin('accounts', 'accounts.id', 'sessions.account_id')
    .innerJoin('subscriptions', 'subscriptions.account_id', 'sessions.account_id')
    .selectAll('subscriptions')
    .select(['accounts.email', 'accounts.created_at', 'sessions.id as session_id'])
    .where('sessions.access_token_hash', '=', hash)
    .where('sessions.revoked_at', 'is', null)
    .where('sessions.access_expires_at', '>', now);
}
type AccessTokenRow = NonNullable<Awaited<ReturnType<ReturnType<typeof accessTokenQuery>['executeTakeFirst']>>>;

// Every request runs this lookup: on SQLite it is compiled once and kept as a prepared statement.
const HASH_SLOT = '\u0000hash';
const sqliteLookups = new WeakMap<object, (hash: string, now: number) => AccessTokenRow | undefined>();

function sqliteLookup(db: Kysely<Database>, file: NonNullable<ReturnType<typeof sqliteFileOf>>) {
  let lookup = sqliteLookups.get(file);
  if (!lookup) {
    const compiled = accessTokenQuery(db, HASH_SLOT, 0).compile();
    const statement = file.prepare<unknown[], AccessTokenRow>(compiled.sql);
    const hashFirst = compiled.parameters[0] === HASH_SLOT;
    lookup = (hash, now) => statement.get(...(hashFirst ? [hash, now] : [now, hash]));
    sqliteLookups.set(file, lookup);
  }
  return lookup;
}

const postgresLookups = new WeakMap<object, (hash: string, now: number) => Promise<AccessTokenRow | undefined>>();

/** On PostgreSQL a named prepared statement: parsed and planned once per connection, not per request. */
function postgresLookup(db: Kysely<Database>, pool: NonNullable<ReturnType<typeof postgresPoolOf>>) {
  let lookup = postgresLookups.get(pool);
  if (!lookup) {
    const compiled = accessTokenQuery(db, HASH_SLOT, 0).compile();
    const hashFirst = compiled.parameters[0] === HASH_SLOT;
    lookup = async (hash, now) =>
      (
        await pool.query<AccessTokenRow>({
          name: 'tollgate_access_token',
          text: compiled.sql,
          values: hashFirst ? [hash, now] : [now, hash],
        })
      ).rows[0];
    postgresLookups.set(pool, lookup);
  }
  return lookup;
}

/**
 * The account an access token belongs to, with its subscription (one query: every signed-in route
 * needs both), or null when the token is unknown, expired or revoked. Nothing is cached: a
 * sign-out revokes the token at once, in every server process.
 */
export async function accountForAccessToken(
  db: Kysely<Database>,
  accessToken: string,
  now: number,
): Promise<{ account: AuthenticatedAccount; subscription: SubscriptionRow } | null> {
  const hash = tokenHash(accessToken);
  const file = sqliteFileOf(db);
  const pool = file ? undefined : postgresPoolOf(db);
  const row = file
    ? // Outside any Kysely transaction: no uncommitted writes can be read.
      await onSqliteFile(db, file, () => sqliteLookup(db, file)(hash, now))
    : pool
      ? await postgresLookup(db, pool)(hash, now)
      : await accessTokenQuery(db, hash, now).executeTakeFirst();
  if (!row) return null;
  const { email, created_at, session_id, ...subscription } = row;
  return {
    account: { id: subscription.account_id, email, createdAt: created_at, sessionId: session_id },
    subscription,
  };
}
