import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import type { CheckoutReturn, PlansResponse } from '../src-shared/api.ts';
import { type Catalog, defaultCatalog, findTier, parseCatalog } from '../src-shared/catalog.ts';
import {
  type CompanionState,
  contract,
  type LicenseView,
  type MethodName,
  type ProblemView,
  type ResultOf,
} from '../src-shared/contract.ts';
import { type Decision, type PlanState, type ReasonCode, suggestUpgrade } from '../src-shared/decisions.ts';
import { periodEnd, periodOf } from '../src-shared/period.ts';
import { err, ok, type Result } from '../src-shared/result.ts';
import { Auth } from './auth.ts';
import { type ApiFailure, BillingClient, type Fetch } from './billing-client.ts';
import { brandingFor, loadBranding } from './branding.ts';
import { settleCheckout } from './checkout.ts';
import { Gate } from './gate.ts';
import { LicenseCache, type LicenseStatus, type PinnedKey } from './license-cache.ts';
import { acquireOwnerLock, type OwnerLock } from './owner-lock.ts';
import { type SecretCipher, SessionVault } from './secrets.ts';
import { isAllowedExternalUrl } from './security.ts';
import type { SettingsStore } from './settings-store.ts';
import { type Branding, type CompanionStore, createCompanionStore, DEFAULT_BRANDING, NO_LICENSE } from './state.ts';
import { DEFAULT_SYNC_TIMING, type RejectedUsage, Sync, type SyncTiming } from './sync.ts';
import { UsageLedger } from './usage-ledger.ts';
import { UsageSnapshotCache } from './usage-snapshot.ts';

/**
 * The companion's services wired together, and the handlers of every method in the contract table.
 * Transports (Electron IPC, the host socket, the --web bridge) only validate, dispatch and frame.
 */

export interface CompanionOptions {
  /** The data folder: settings, ledger, lock. */
  home: string;
  serverUrl: string;
  /** Opens the settings store in `home` (electron-store in Electron, conf under Node). */
  openStore(home: string): SettingsStore;
  cipher: SecretCipher;
  fetch?: Fetch;
  clock?: () => number;
  random?: () => number;
  /** The license public key pinned in configuration; otherwise pinned from the server on first use. */
  publicKey?: PinnedKey;
  timing?: Partial<SyncTiming>;
  /** The white-label branding configured (branding.ts); read from `home` and the environment when absent. */
  branding?: Partial<Branding>;
  /** Opens checkout/portal pages in the system browser (Electron's shell.openExternal). */
  openExternal?(url: string): Promise<void>;
  /** `app`: checkout and the portal hand the user back through tollgate:// (only where the scheme is registered). */
  checkoutReturn?: CheckoutReturn;
}

/** A refusal a handler reports: `code` is a stable reason code, `message` says what to do. */
export class MethodError extends Error {
  override readonly name = 'MethodError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type ParsedParams<M extends MethodName> = z.output<(typeof contract)[M]['params']>;
type Handlers = { [M in MethodName]: (params: ParsedParams<M>) => Promise<ResultOf<M>> | ResultOf<M> };

const STANDING_MESSAGES: Partial<Record<ReasonCode, string>> = {
  OK: 'Your plan is active.',
  NOT_SIGNED_IN: 'Sign in to use your plan.',
  SUBSCRIPTION_INACTIVE: 'Your subscription is not active: the free tier applies until it is.',
  LICENSE_EXPIRED: 'Your paid access has ended: the free tier applies.',
};

const STANDING_RECHECK_MS = 30_000;

export class Companion {
  readonly state: CompanionStore;
  readonly gate: Gate;
  readonly license: LicenseCache;
  readonly sync: Sync;
  readonly handlers: Handlers;
  private readonly auth: Auth;
  private readonly client: BillingClient;
  private readonly usage: UsageSnapshotCache;
  private readonly clock: () => number;
  private catalog: Catalog = defaultCatalog;
  private refreshQueued = false;
  private standingTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** What a white-label plan shows: the configured branding over the defaults. */
  private readonly whiteLabel: Branding;

  private constructor(
    private readonly options: CompanionOptions,
    private readonly ledger: UsageLedger,
    private readonly lock: OwnerLock,
    readonly store: SettingsStore,
    readonly deviceId: string,
  ) {
    this.clock = options.clock ?? Date.now;
    this.client = new BillingClient(options.serverUrl, options.fetch);
    this.whiteLabel = brandingFor(options.branding ?? {}, true);
    this.state = createCompanionStore(options.serverUrl, this.clock());
    this.state.setState({ tokenStorage: options.cipher.scheme === 'safeStorage' ? 'encrypted' : 'plaintext' });
    this.license = new LicenseCache({ store, clock: this.clock, configuredKey: options.publicKey });
    this.usage = new UsageSnapshotCache(store, periodOf(this.clock()));
    this.auth = new Auth(this.client, new SessionVault(store, options.cipher), this.clock, (session) => {
      this.state.setState({ account: session ? session.account : null });
      this.refresh();
    });
    this.state.setState({ account: this.auth.current?.account ?? null });
    const plans = store.get('plans') as PlansResponse | undefined;
    if (plans) this.adoptPlans(plans);
    this.gate = new Gate({
      catalog: () => this.catalog,
      license: this.license,
      signedIn: () => this.auth.current !== null,
      serverUsage: () => this.usage.current,
      pendingUnits: (operation) => ledger.pendingUnits(operation),
      clock: this.clock,
      onPlanChange: () => this.refresh(),
    });
    this.sync = new Sync({
      client: this.client,
      auth: this.auth,
      ledger,
      license: this.license,
      usage: this.usage,
      deviceId,
      clock: this.clock,
      random: options.random ?? Math.random,
      timing: { ...DEFAULT_SYNC_TIMING, ...options.timing },
      events: {
        status: ({ status, error, at }) => {
          const previous = this.state.getState().sync;
          this.state.setState({
            sync: {
              ...previous,
              status,
              lastError: error,
              lastSyncAt: status === 'idle' ? at : previous.lastSyncAt,
              // Still offline while a retry is under way: only a successful sync ends the outage.
              offlineSince:
                status === 'offline'
                  ? (previous.offlineSince ?? at)
                  : status === 'syncing'
                    ? previous.offlineSince
                    : null,
            },
          });
          this.refresh();
        },
        account: (me) => {
          const { checkout } = this.state.getState();
          this.state.setState({ subscription: me.subscription, checkout: settleCheckout(checkout, me.subscription) });
          this.refresh();
        },
        license: () => this.refresh(),
        notifications: (notifications) => this.state.setState({ notifications }),
        plans: (plans) => {
          store.set('plans', plans);
          this.adoptPlans(plans);
          this.refresh();
        },
        usageSettled: (rejected) => this.onUsageSettled(rejected),
      },
    });
    this.handlers = this.createHandlers();
  }

  /** Opens the data folder as its only owner, loads and verifies what it holds. */
  static async open(options: CompanionOptions): Promise<Companion> {
    mkdirSync(options.home, { recursive: true, mode: 0o700 });
    const lock = acquireOwnerLock(join(options.home, 'companion.lock'), options.home);
    try {
      const ledger = await UsageLedger.open(options.home);
      const store = options.openStore(options.home);
      let { branding } = options;
      if (!branding) {
        const loaded = loadBranding(options.home);
        for (const problem of loaded.problems) console.warn(`Branding: ${problem}`);
        branding = loaded.configured;
      }
      let deviceId = store.get('deviceId');
      if (typeof deviceId !== 'string') {
        deviceId = `dev-${randomBytes(12).toString('hex')}`;
        store.set('deviceId', deviceId);
      }
      const companion = new Companion({ ...options, branding }, ledger, lock, store, deviceId as string);
      await companion.license.load();
      companion.refreshNow();
      return companion;
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  start(): void {
    this.sync.start();
    // The offline grace can end with nobody asking: re-derive the state now and then regardless.
    this.standingTimer = setInterval(() => this.refresh(), STANDING_RECHECK_MS);
    this.standingTimer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.standingTimer) clearInterval(this.standingTimer);
    await this.sync.stop();
    this.usage.save();
    await this.ledger.close();
    this.lock.release();
  }

  /**
   * Validates params against the contract table and runs the handler; never throws. Answers that
   * need no I/O (gate.check, usage.check, license.get...) come back synchronously, so the host socket
   * can write them in the same turn as the request arrived.
   */
  dispatch(method: MethodName, params: unknown): Result<unknown, ProblemView> | Promise<Result<unknown, ProblemView>> {
    const parsed = contract[method].params.safeParse(params ?? {});
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'params'}: ${issue.message}`);
      return err({ code: 'INVALID_PARAMS', message: issues.join('; ') });
    }
    try {
      const handler = this.handlers[method] as (params: unknown) => Promise<unknown> | unknown;
      const value = handler(parsed.data);
      return value instanceof Promise ? value.then(ok, failureOf) : ok(value);
    } catch (error) {
      return failureOf(error);
    }
  }

  licenseView(): LicenseView {
    return this.state.getState().license;
  }

  private createHandlers(): Handlers {
    return {
      'state.get': () => this.state.getState(),
      'auth.signIn': async ({ email, password }) => this.signedIn(await this.auth.signIn(email, password)),
      'auth.signUp': async ({ email, password }) => this.signedIn(await this.auth.signUp(email, password)),
      'auth.signOut': async () => {
        // Hand the device's unsent usage to the server while this account is still signed in.
        await this.sync.syncNow();
        await this.auth.signOut();
        this.license.clear();
        this.state.setState({ subscription: null, notifications: [], lastDenial: null });
        this.refreshNow();
        return {};
      },
      'sync.now': async () => ({ status: await this.sync.syncNow() }),
      'billing.checkout': async ({ tier, cycle }) => {
        this.state.setState({ checkout: { status: 'opening', tier, cycle, error: null } });
        const answer = await this.withToken((token) =>
          this.client.checkout(token, tier, cycle, this.options.checkoutReturn),
        );
        if (!answer.ok) {
          this.state.setState({ checkout: { status: 'failed', tier, cycle, error: answer.error.message } });
          throw new MethodError(answer.error.code, answer.error.message);
        }
        const url = answer.value.url ?? null;
        if (answer.value.kind === 'checkout') await this.openOutside(answer.value.url);
        this.state.setState({
          checkout: { status: answer.value.kind === 'checkout' ? 'waiting' : 'idle', tier, cycle, error: null },
        });
        // The checkout completes in the browser; the next syncs bring the new plan.
        this.sync.nudge();
        return { kind: answer.value.kind, url };
      },
      'billing.portal': async () => {
        const answer = await this.withToken((token) => this.client.portal(token, this.options.checkoutReturn));
        if (!answer.ok) throw new MethodError(answer.error.code, answer.error.message);
        await this.openOutside(answer.value.url);
        return { url: answer.value.url };
      },
      'notifications.dismiss': async ({ id }) => {
        // Marked read here at once, as the server will have it: a read notice still outranks the
        // lower-threshold ones of its operation (src-shared/notices.ts).
        const readAt = new Date(this.clock()).toISOString();
        const { notifications } = this.state.getState();
        this.state.setState({
          notifications: notifications.map((notice) =>
            notice.id === id && notice.readAt === null ? { ...notice, readAt } : notice,
          ),
        });
        await this.withToken((token) => this.client.markNotificationRead(token, id));
        return {};
      },
      'license.get': () => ({
        token: this.license.current.kind === 'none' ? null : this.license.current.token,
        license: this.licenseView(),
      }),
      'gate.check': ({ feature }) => this.noteDenial(`gate.check ${feature}`, this.gate.checkFeature(feature)),
      'usage.check': ({ operation, units }) =>
        this.noteDenial(`usage.check ${operation}`, this.gate.checkUsage(operation, units)),
      'usage.consume': (params) => this.consume(params),
      'usage.get': () => this.state.getState().usage,
      'license.subscribe': () => ({ subscribed: true as const }),
    };
  }

  /**
   * Decide against server usage + pending local usage, then make it durable before answering. The
   * units count as pending from the moment the decision is taken, so concurrent consumes cannot
   * both take the last unit.
   */
  private async consume(params: ParsedParams<'usage.consume'>): Promise<ResultOf<'usage.consume'>> {
    const { operation, units } = params;
    if (params.idempotencyKey) {
      const prior = this.ledger.lookup(params.idempotencyKey);
      if (prior) {
        await prior.durable;
        const decision: Decision =
          prior.state === 'rejected' ? { allowed: false, code: 'LIMIT_REACHED' } : { allowed: true, code: 'OK' };
        return { decision, idempotencyKey: params.idempotencyKey, replayed: true };
      }
    }
    const decision = this.gate.checkUsage(operation, units);
    if (!decision.allowed) {
      this.noteDenial(`usage.consume ${operation}`, decision);
      return { decision, idempotencyKey: null, replayed: false };
    }
    const key = params.idempotencyKey ?? `${this.deviceId}.${randomUUID()}`;
    try {
      await this.ledger.record({ key, operation, units, at: this.clock() });
    } catch (error) {
      throw new MethodError(
        'USAGE_NOT_RECORDED',
        `Usage could not be saved on this device: ${(error as Error).message}`,
      );
    }
    this.sync.nudge();
    this.refresh();
    return { decision, idempotencyKey: key, replayed: false };
  }

  private noteDenial(subject: string, decision: Decision): Decision {
    if (!decision.allowed) this.state.setState({ lastDenial: { at: this.clock(), subject, decision } });
    return decision;
  }

  private onUsageSettled(rejected: RejectedUsage[]): void {
    const last = rejected.at(-1);
    if (last) {
      // The server refused usage this device allowed offline (another device used the quota first).
      const upgrade = suggestUpgrade(
        this.catalog,
        { kind: 'usage', operation: last.operation, units: last.units },
        { [last.operation]: last.used },
        this.gate.plan()?.tier,
      );
      const decision: Decision = {
        allowed: false,
        code: last.code,
        limit: last.limit,
        remaining: Math.max(0, last.limit - last.used),
        ...(upgrade ? { upgrade } : {}),
      };
      this.state.setState({ lastDenial: { at: this.clock(), subject: `usage.consume ${last.operation}`, decision } });
    }
    this.refresh();
  }

  private async signedIn(outcome: Awaited<ReturnType<Auth['signIn']>>) {
    if (!outcome.ok) {
      const failure = describeFailure(outcome);
      throw new MethodError(failure.code, failure.message);
    }
    await this.sync.syncNow();
    return { email: outcome.value.account.email };
  }

  private async withToken<T>(
    call: (token: string) => Promise<{ ok: true; value: T } | ({ ok: false } & ApiFailure)>,
  ): Promise<Result<T, ProblemView>> {
    const token = await this.auth.accessToken();
    if (!token.ok) return err(describeFailure(token));
    if (token.value === null) return err({ code: 'NOT_SIGNED_IN', message: 'Sign in first.' });
    const answer = await call(token.value);
    return answer.ok ? ok(answer.value) : err(describeFailure(answer));
  }

  private async openOutside(url: string): Promise<void> {
    if (!this.options.openExternal) return;
    if (!isAllowedExternalUrl(url, this.options.serverUrl)) {
      throw new MethodError('URL_NOT_ALLOWED', `Refusing to open ${url}: not a billing page Tollgate trusts.`);
    }
    await this.options.openExternal(url);
  }

  private adoptPlans(plans: PlansResponse): void {
    this.state.setState({ plans });
    try {
      this.catalog = catalogFromPlans(plans);
    } catch {
      // A server catalog we cannot read: keep deciding with the built-in one.
      this.catalog = defaultCatalog;
    }
  }

  /** Derived state is recomputed at most once per tick, however many consumes land in it. */
  private refresh(): void {
    if (this.refreshQueued || this.closed) return;
    this.refreshQueued = true;
    setImmediate(() => {
      this.refreshQueued = false;
      this.refreshNow();
    });
  }

  private refreshNow(): void {
    const now = this.clock();
    const plan = this.gate.plan(now);
    const status = this.license.current;
    const problem = this.license.problemAt(now);
    const standingCode: ReasonCode = plan === null ? 'NOT_SIGNED_IN' : plan.standing === 'ok' ? 'OK' : plan.standing;
    const standingMessage =
      problem && problem.code === standingCode ? problem.message : (STANDING_MESSAGES[standingCode] ?? standingCode);
    const limits = effectiveLimits(this.catalog, plan);
    const snapshot = this.usage.current;
    const period = periodOf(now);
    const operations: CompanionState['usage']['operations'] = {};
    for (const [operation, { label }] of Object.entries(this.catalog.operations)) {
      operations[operation] = {
        label,
        serverUsed: snapshot.period === period ? (snapshot.used[operation] ?? 0) : 0,
        pending: this.ledger.pendingUnits(operation),
        limit: limits.monthly[operation] ?? 0,
      };
    }
    const previous = this.state.getState();
    const apiWindowOpen = snapshot.apiCalls?.resetsAt != null && Date.parse(snapshot.apiCalls.resetsAt) > now;
    this.state.setState({
      // Decided like any feature gate, so `all_features` grants it and a lapsed plan loses it.
      branding: this.gate.checkFeature('white_label').allowed ? this.whiteLabel : DEFAULT_BRANDING,
      license: licenseViewOf(status, problem),
      effectiveTier: plan === null || plan.standing !== 'ok' ? 'free' : plan.tier,
      standing: { code: standingCode, message: standingMessage },
      usage: {
        period,
        resetsAt: new Date(periodEnd(period)).toISOString(),
        operations,
        apiCalls: {
          limit: limits.api_calls_per_hour,
          windowSeconds: snapshot.apiCalls?.windowSeconds ?? 3600,
          // null: the server does not report it; 0 once the window it reported has reset.
          used: snapshot.apiCalls?.used === undefined ? null : apiWindowOpen ? snapshot.apiCalls.used : 0,
          resetsAt: apiWindowOpen ? (snapshot.apiCalls?.resetsAt ?? null) : null,
        },
      },
      sync: { ...previous.sync, pendingEvents: this.ledger.pendingCount() },
    });
  }
}

function failureOf(error: unknown): Result<never, ProblemView> {
  if (error instanceof MethodError) return err({ code: error.code, message: error.message });
  return err({ code: 'INTERNAL', message: (error as Error).message ?? 'Internal error' });
}

function effectiveLimits(catalog: Catalog, plan: PlanState | null) {
  if (plan === null || plan.standing !== 'ok') return findTier(catalog, 'free').limits;
  return plan.limits ?? findTier(catalog, plan.tier).limits;
}

function licenseViewOf(status: LicenseStatus, problem: { code: string; message: string } | null): LicenseView {
  if (status.kind !== 'valid') {
    return { ...NO_LICENSE, status: status.kind, problem: status.kind === 'invalid' ? status.problem : null };
  }
  const { claims } = status;
  return {
    status: problem ? 'invalid' : 'valid',
    problem,
    tier: claims.tier,
    subscriptionStatus: claims.status,
    features: claims.features,
    limits: claims.limits,
    issuedAt: claims.iat * 1000,
    offlineValidUntil: claims.exp * 1000,
    accessEndsAt: claims.accessEndsAt,
  };
}

function describeFailure(failure: ApiFailure): ProblemView {
  if (failure.kind === 'offline') return { code: 'SERVER_UNREACHABLE', message: failure.message };
  return { code: failure.problem.code, message: failure.problem.detail ?? failure.problem.title };
}

/** The server's catalog (GET /v1/plans) in the shape decide() takes, so upgrade prompts match the vendor's. */
export function catalogFromPlans(plans: PlansResponse): Catalog {
  return parseCatalog(
    {
      currency: plans.currency,
      operations: plans.operations,
      tiers: plans.plans.map((plan) => ({
        id: plan.id,
        name: plan.name,
        limits: plan.limits,
        support_level: plan.supportLevel,
        features: plan.features,
        prices: plan.negotiated || plan.prices === null ? 'negotiated' : plan.prices,
      })),
    },
    'the server catalog',
  );
}
