import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type SqliteDatabase from 'better-sqlite3';
import { CompiledQuery, type Kysely, sql } from 'kysely';
import type pg from 'pg';
import type { Account, Session } from '../../src-shared/api.ts';
import { onSqliteFile, postgresPoolOf, sqliteFileOf } from '../db/connection.ts';
import type { AccountRow, Database, SubscriptionRow } from '../db/schema.ts';
import { type Statement, slot, statement } from '../db/statements.ts';
import { ApiError } from '../http/errors.ts';
import type { Trial } from '../plans/trials.ts';

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

interface LookupArgs {
  hash: string;
  now: number;
}

interface ManyLookupArgs {
  hashes: readonly string[];
  now: number;
}

/** The sign-in lookup, for one token hash (`one`) or for several at once. */
function accessTokenQuery<A>(db: Kysely<Database>, tokens: 'one' | 'many') {
  const now = slot((a: A & { now: number }) => a.now);
  const query = db
    .selectFrom('sessions')
    .innerJoin('accounts', 'accounts.id', 'sessions.account_id')
    .innerJoin('subscriptions', 'subscriptions.account_id', 'sessions.account_id')
    .leftJoin('account_trials', 'account_trials.account_id', 'sessions.account_id')
    .selectAll('subscriptions')
    .select([
      'accounts.email',
      'accounts.created_at',
      'sessions.id as session_id',
      'account_trials.tier as trial_tier',
      'account_trials.ends_at as trial_ends_at',
      'account_trials.granted_at as trial_granted_at',
    ])
    .select((eb) =>
      eb
        .selectFrom('account_overrides')
        .select((o) => o.fn.countAll<number>().as('n'))
        .whereRef('account_overrides.account_id', '=', 'sessions.account_id')
        .where('account_overrides.expires_at', '>', now)
        .as('live_overrides'),
    )
    .where('sessions.revoked_at', 'is', null)
    .where('sessions.access_expires_at', '>', now);
  return tokens === 'one'
    ? query.where(
        'sessions.access_token_hash',
        '=',
        slot((a: LookupArgs) => a.hash),
      )
    : query.where(sql<boolean>`sessions.access_token_hash = any(${slot((a: ManyLookupArgs) => a.hashes)})`);
}
type AccessTokenRow = NonNullable<
  Awaited<ReturnType<ReturnType<typeof accessTokenQuery<LookupArgs>>['executeTakeFirst']>>
>;
/** A row of the lookup for several tokens: which token it answers, and until when that token holds. */
type ManyAccessTokenRow = AccessTokenRow & { token_hash: string; token_expires_at: number | string };

const lookups = new WeakMap<Kysely<Database>, Statement<LookupArgs, AccessTokenRow>>();
const manyLookups = new WeakMap<Kysely<Database>, Statement<ManyLookupArgs, ManyAccessTokenRow>>();

/** Every request runs this lookup: compiled once per database, run as a prepared statement. */
function lookupStatement(db: Kysely<Database>): Statement<LookupArgs, AccessTokenRow> {
  let found = lookups.get(db);
  if (!found) {
    found = statement<LookupArgs, AccessTokenRow>(accessTokenQuery<LookupArgs>(db, 'one'));
    lookups.set(db, found);
  }
  return found;
}

function manyLookupStatement(db: Kysely<Database>): Statement<ManyLookupArgs, ManyAccessTokenRow> {
  let found = manyLookups.get(db);
  if (!found) {
    found = statement<ManyLookupArgs, ManyAccessTokenRow>(
      accessTokenQuery<ManyLookupArgs>(db, 'many').select([
        'sessions.access_token_hash as token_hash',
        'sessions.access_expires_at as token_expires_at',
      ]),
    );
    manyLookups.set(db, found);
  }
  return found;
}

const sqliteLookups = new WeakMap<object, SqliteDatabase.Statement<unknown[], AccessTokenRow>>();

interface WaitingLookup extends LookupArgs {
  resolve: (row: AccessTokenRow | undefined) => void;
  reject: (error: unknown) => void;
}
interface LookupQueue {
  waiting: WaitingLookup[];
  inFlight: number;
  scheduled: boolean;
}
const lookupQueues = new WeakMap<pg.Pool, LookupQueue>();
/**
 * Lookup statements in flight per pool. While they run, the lookups that arrive wait and go
 * together in the next one, so the busier the server, the fewer statements per request.
 */
const LOOKUPS_AT_ONCE = 2;

/**
 * On PostgreSQL the lookups waiting when a statement can start share it: under load most of a
 * lookup's cost is its own round trip (the write to the database's socket and the wake-up on the
 * other side), not the index probes. Each still runs after its request arrived, so a token revoked
 * before then is refused, in every server process.
 */
function lookUpOnPostgres(db: Kysely<Database>, pool: pg.Pool, args: LookupArgs): Promise<AccessTokenRow | undefined> {
  let queue = lookupQueues.get(pool);
  if (!queue) {
    queue = { waiting: [], inFlight: 0, scheduled: false };
    lookupQueues.set(pool, queue);
  }
  const found = queue;
  return new Promise((resolve, reject) => {
    found.waiting.push({ ...args, resolve, reject });
    scheduleLookups(db, pool, found);
  });
}

function scheduleLookups(db: Kysely<Database>, pool: pg.Pool, queue: LookupQueue): void {
  if (queue.scheduled || queue.waiting.length === 0 || queue.inFlight >= LOOKUPS_AT_ONCE) return;
  queue.scheduled = true;
  // The rest of this turn of the event loop joins too.
  setImmediate(() => {
    queue.scheduled = false;
    const group = queue.waiting.splice(0);
    if (group.length === 0) return;
    queue.inFlight += 1;
    runLookups(db, pool, group)
      .catch((error: unknown) => {
        for (const waiting of group) waiting.reject(error);
      })
      .finally(() => {
        queue.inFlight -= 1;
        scheduleLookups(db, pool, queue);
      });
    scheduleLookups(db, pool, queue);
  });
}

async function runLookups(db: Kysely<Database>, pool: pg.Pool, group: WaitingLookup[]): Promise<void> {
  if (group.length === 1) {
    const only = group[0] as WaitingLookup;
    const s = lookupStatement(db);
    // A named prepared statement: parsed and planned once per connection, not per request.
    await pool
      .query<AccessTokenRow>({ name: 'tollgate_access_token', text: s.sql, values: s.bind(only) })
      .then((result) => only.resolve(result.rows[0]), only.reject);
    return;
  }
  const s = manyLookupStatement(db);
  // The earliest of the group's times selects every token that may still hold; each is then held to
  // its own request's time.
  const now = Math.min(...group.map((waiting) => waiting.now));
  const hashes = [...new Set(group.map((waiting) => waiting.hash))];
  let rows: ManyAccessTokenRow[];
  try {
    rows = (
      await pool.query<ManyAccessTokenRow>({
        name: 'tollgate_access_tokens',
        text: s.sql,
        values: s.bind({ hashes, now }),
      })
    ).rows;
  } catch (error) {
    for (const waiting of group) waiting.reject(error);
    return;
  }
  const byHash = new Map<string, ManyAccessTokenRow>();
  for (const row of rows) byHash.set(row.token_hash, row);
  for (const waiting of group) {
    const found = byHash.get(waiting.hash);
    if (!found || Number(found.token_expires_at) <= waiting.now) {
      waiting.resolve(undefined);
      continue;
    }
    const { token_hash: _hash, token_expires_at: _expires, ...row } = found;
    waiting.resolve(row);
  }
}

function lookUp(db: Kysely<Database>, args: LookupArgs): Promise<AccessTokenRow | undefined> {
  const s = lookupStatement(db);
  const file = sqliteFileOf(db);
  if (file) {
    let prepared = sqliteLookups.get(file);
    if (!prepared) {
      prepared = file.prepare<unknown[], AccessTokenRow>(s.sql);
      sqliteLookups.set(file, prepared);
    }
    const ready = prepared;
    // Outside any Kysely transaction: no uncommitted writes can be read.
    return onSqliteFile(db, file, () => ready.get(...s.bind(args)));
  }
  const pool = postgresPoolOf(db);
  if (pool) return lookUpOnPostgres(db, pool, args);
  return db.executeQuery<AccessTokenRow>(CompiledQuery.raw(s.sql, s.bind(args))).then((result) => result.rows[0]);
}

/** Who a request's access token signs in, with what every signed-in route needs to know of them. */
export interface AccessTokenHolder {
  account: AuthenticatedAccount;
  subscription: SubscriptionRow;
  /** The administrator-granted trial, running or not (plans/trials.ts). */
  trial: Trial | null;
  /** Whether unexpired overrides exist (read only then: plans/overrides.ts). */
  hasOverrides: boolean;
}

/**
 * The account an access token belongs to, with its subscription and trial (one query: every
 * signed-in route needs them), or null when the token is unknown, expired or revoked. Nothing is
 * cached: a sign-out revokes the token at once, in every server process.
 */
export async function accountForAccessToken(
  db: Kysely<Database>,
  accessToken: string,
  now: number,
): Promise<AccessTokenHolder | null> {
  const row = await lookUp(db, { hash: tokenHash(accessToken), now });
  if (!row) return null;
  const {
    email,
    created_at,
    session_id,
    trial_tier,
    trial_ends_at,
    trial_granted_at,
    live_overrides,
    ...subscription
  } = row;
  return {
    account: { id: subscription.account_id, email, createdAt: created_at, sessionId: session_id },
    subscription,
    trial:
      trial_tier === null
        ? null
        : { tier: trial_tier, endsAt: Number(trial_ends_at), grantedAt: Number(trial_granted_at) },
    hasOverrides: Number(live_overrides) > 0,
  };
}
