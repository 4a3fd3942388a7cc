import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Catalog } from '../../src-shared/catalog.ts';
import type { AccessTokenHolder, AuthenticatedAccount } from '../accounts/sessions.ts';
import type { Config } from '../config.ts';
import type { Dialect } from '../db/connection.ts';
import type { Database, SubscriptionRow } from '../db/schema.ts';
import type { ServerLicenseKeys } from '../licensing/signing-key.ts';
import type { PaymentProvider } from '../payments/provider.ts';
import { adjustPlan } from '../plans/adjustments.ts';
import { readOverrides } from '../plans/overrides.ts';
import { type EntitledPlan, entitledPlan, loadSubscription } from '../plans/subscriptions.ts';
import { readTrial, type Trial } from '../plans/trials.ts';
import { ApiError } from './errors.ts';

/** What every route plugin reaches through `app.tollgate`: configuration, storage, clock, keys. */
export interface ServerContext {
  config: Config;
  db: Kysely<Database>;
  dialect: Dialect;
  catalog: Catalog;
  /** UTC ms; tests pass a fixed clock. */
  now: () => number;
  licenseKey: ServerLicenseKeys;
  /** The payment provider, set by the payments routes; admin actions cancel through it. */
  paymentProvider: PaymentProvider | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    tollgate: ServerContext;
  }
  interface FastifyRequest {
    /** Set by the `authenticate` hook; null on routes that do not require sign-in. */
    account: AuthenticatedAccount | null;
  }
}

/** The signed-in account of a request that passed `authenticate`. */
export function accountOf(request: FastifyRequest): AuthenticatedAccount {
  if (!request.account) throw new ApiError('UNAUTHENTICATED');
  return request.account;
}

export interface AccountPlan {
  row: SubscriptionRow;
  plan: EntitledPlan;
  /** The account's trial row (running or not); `plan` already applies it when it runs. */
  trial: Trial | null;
}

const plans = new WeakMap<FastifyRequest, Promise<AccountPlan>>();
const knownHolders = new WeakMap<FastifyRequest, AccessTokenHolder>();

/**
 * The plan an account gets now: its subscription, then an admin's trial and overrides
 * (plans/adjustments.ts). `known` is what the access-token lookup already read (the trial, whether
 * overrides exist), so a signed-in request reads nothing more unless overrides apply.
 */
export async function accountPlan(
  context: ServerContext,
  row: SubscriptionRow,
  known?: Pick<AccessTokenHolder, 'trial' | 'hasOverrides'>,
): Promise<AccountPlan> {
  const { catalog, config, db } = context;
  const now = context.now();
  const [trial, overrides] = known
    ? [known.trial, known.hasOverrides ? await readOverrides(db, row.account_id, now) : []]
    : await Promise.all([readTrial(db, row.account_id), readOverrides(db, row.account_id, now)]);
  const plan = entitledPlan(catalog, row, now, config.pastDueGraceMs);
  return { row, plan: adjustPlan(catalog, plan, trial, overrides, now), trial };
}

/** Remembers what authenticating read (subscription, trial), so planOf needs no second query. */
export function knowHolder(request: FastifyRequest, holder: AccessTokenHolder): void {
  knownHolders.set(request, holder);
}

/**
 * The caller's subscription and the plan it entitles them to now, read once per request (the rate
 * limiter and the handler both need it).
 */
export function planOf(request: FastifyRequest): Promise<AccountPlan> {
  let found = plans.get(request);
  if (!found) {
    const context = request.server.tollgate;
    const known = knownHolders.get(request);
    found = known
      ? accountPlan(context, known.subscription, known)
      : loadSubscription(context.db, accountOf(request).id).then((loaded) => accountPlan(context, loaded));
    plans.set(request, found);
  }
  return found;
}
