import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { JSONWebKeySet } from 'jose';
import { type CheckoutReturn, PlansResponse } from '../src-shared/api.ts';
import type { Branding } from '../src-shared/branding.ts';
import { type Catalog, defaultCatalog } from '../src-shared/catalog.ts';
import { type CompanionFailure, contract, type Dispatch, type MethodName } from '../src-shared/contract.ts';
import type { Decision } from '../src-shared/decisions.ts';
import { suggestUpgrade } from '../src-shared/decisions.ts';
import { periodOf } from '../src-shared/period.ts';
import { catalogFromPlans } from '../src-shared/plans-view.ts';
import { err, ok } from '../src-shared/result.ts';
import { Auth } from './auth.ts';
import { BillingClient, type Fetch } from './billing-client.ts';
import { brandingFor, loadBranding } from './branding.ts';
import { completeCheckoutIfPaid } from './checkout.ts';
import { deriveCompanionState, syncAfterStatus } from './companion-state.ts';
import { deviceIdFor, machineIdentity } from './device-id.ts';
import { Gate } from './gate.ts';
import { LeaseBook } from './lease-book.ts';
import { LicenseCache } from './license-cache.ts';
import { createHandlers, failureOf, type Handlers } from './method-handlers.ts';
import { acquireOwnerLock, type OwnerLock } from './owner-lock.ts';
import { type SecretCipher, SessionVault } from './secrets.ts';
import { DataFolderUnusable, type SettingsStore, setAsideDamagedSettings } from './settings-store.ts';
import { createMainStore, type MainStore } from './state.ts';
import { DEFAULT_SYNC_TIMING, type InvalidUsage, type RejectedUsage, Sync, type SyncTiming } from './sync.ts';
import { TrustedClock } from './trusted-clock.ts';
import { UsageJournal } from './usage-journal.ts';
import { UsageSnapshotCache } from './usage-snapshot.ts';

/**
 * The companion's services wired together: the method handlers live in method-handlers.ts, the
 * state they show in companion-state.ts (pure). Transports (Electron IPC, the host socket, the --web
 * bridge) only validate, dispatch and frame.
 */

export interface CompanionOptions {
  /** The data folder: settings, journal, lock. */
  home: string;
  serverUrl: string;
  /** Opens the settings store in `home` (electron-store in Electron, conf under Node). */
  openStore(home: string): SettingsStore;
  cipher: SecretCipher;
  fetch?: Fetch;
  clock?: () => number;
  random?: () => number;
  /** The vendor's license public keys (vendor.config.json `licenseKeys`, built in): the only keys trusted. */
  licenseKeys: JSONWebKeySet;
  /** The vendor's app id: with the machine identity, it makes this device's id (device-id.ts). */
  appId: string;
  /** The OS machine identity (tests stand in another machine); default: read from the OS. */
  machineIdentity?: string;
  timing?: Partial<SyncTiming>;
  /** The white-label branding configured (branding.ts); read from `home` and the environment when absent. */
  branding?: Partial<Branding>;
  /** Opens checkout/portal pages in the system browser (Electron's shell.openExternal). */
  openExternal?(url: string): Promise<void>;
  /** `app`: checkout and the portal hand the user back through tollgate:// (only where the scheme is registered). */
  checkoutReturn?: CheckoutReturn;
}

const STANDING_RECHECK_MS = 30_000;

export class Companion {
  readonly state: MainStore;
  readonly gate: Gate;
  readonly license: LicenseCache;
  readonly leases: LeaseBook;
  readonly sync: Sync;
  readonly handlers: Handlers;
  private readonly auth: Auth;
  private readonly usage: UsageSnapshotCache;
  private readonly clock: () => number;
  private catalog: Catalog = defaultCatalog;
  private refreshQueued = false;
  private standingTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** What a white-label plan shows: the configured branding over the defaults. */
  private readonly whiteLabel: Branding;

  private constructor(
    options: CompanionOptions,
    private readonly journal: UsageJournal,
    private readonly lock: OwnerLock,
    readonly store: SettingsStore,
    readonly deviceId: string,
  ) {
    this.clock = options.clock ?? Date.now;
    const client = new BillingClient(options.serverUrl, options.fetch);
    this.whiteLabel = brandingFor(options.branding ?? {}, true);
    this.state = createMainStore(options.serverUrl, this.clock());
    this.state.setState({ tokenStorage: options.cipher.scheme === 'safeStorage' ? 'encrypted' : 'plaintext' });
    this.usage = new UsageSnapshotCache(store, periodOf(this.clock()));
    this.auth = new Auth(client, new SessionVault(store, options.cipher), this.clock, (session) => {
      this.state.setState({ account: session ? session.account : null });
      this.refresh();
    });
    this.state.setState({ account: this.auth.current?.account ?? null });
    this.license = new LicenseCache({
      store,
      clock: this.clock,
      keys: options.licenseKeys,
      deviceId,
      account: () => this.auth.current?.account.id ?? null,
      time: new TrustedClock(store, options.cipher),
    });
    this.leases = new LeaseBook({
      store,
      keys: options.licenseKeys,
      deviceId,
      account: () => this.auth.current?.account.id ?? null,
      pendingUnits: (operation) => journal.pendingUnits(operation, this.accountId()),
    });
    // Only a price list that reads as one: the cached catalog is for display, but the window renders it.
    const plans = PlansResponse.safeParse(store.get('plans'));
    if (plans.success) this.adoptPlans(plans.data);
    this.gate = new Gate({
      catalog: () => this.catalog,
      license: this.license,
      signedIn: () => this.auth.current !== null,
      serverUsage: () => this.usage.current,
      pendingUnits: (operation) => journal.pendingUnits(operation, this.accountId()),
      clock: this.clock,
      leaseAllowance: (operation, now) => this.leases.allowance(operation, now),
      onPlanChange: () => this.refresh(),
    });
    this.sync = new Sync({
      client,
      auth: this.auth,
      journal,
      license: this.license,
      usage: this.usage,
      leases: this.leases,
      deviceId,
      clock: this.clock,
      random: options.random ?? Math.random,
      timing: { ...DEFAULT_SYNC_TIMING, ...options.timing },
      events: {
        status: (update) => {
          this.state.setState({ sync: syncAfterStatus(this.state.getState().sync, update) });
          this.refresh();
        },
        account: (me) => {
          const { checkout } = this.state.getState();
          this.state.setState({
            subscription: me.subscription,
            trial: me.trial,
            checkout: completeCheckoutIfPaid(checkout, me.subscription),
          });
          this.refresh();
        },
        license: (_status, deviceLimit) => {
          this.state.setState({ deviceLimit });
          this.refresh();
        },
        notifications: (notifications) => this.state.setState({ notifications }),
        plans: (plans) => {
          if (!isDeepStrictEqual(store.get('plans'), plans)) store.set('plans', plans);
          this.adoptPlans(plans);
          this.refresh();
        },
        usageAnswered: (rejected, invalid) => this.onUsageAnswered(rejected, invalid),
        journalBehind: (seq, highestSeq) =>
          this.noteDataProblem(
            `The usage journal in ${options.home} is older than what this device already sent to the server ` +
              `(it reaches record ${seq}, the server has seen record ${highestSeq}): it was restored from a backup ` +
              'or snapshot, and usage recorded after that copy was made cannot be recovered on this device.',
          ),
      },
    });
    this.handlers = createHandlers({
      state: this.state,
      auth: this.auth,
      client,
      gate: this.gate,
      license: this.license,
      leases: this.leases,
      sync: this.sync,
      journal,
      deviceId,
      serverUrl: options.serverUrl,
      clock: this.clock,
      refresh: () => this.refresh(),
      refreshNow: () => this.refreshNow(),
      ...(options.openExternal ? { openExternal: options.openExternal } : {}),
      ...(options.checkoutReturn ? { checkoutReturn: options.checkoutReturn } : {}),
    });
  }

  /** Opens the data folder as its only owner, loads and verifies what it holds. */
  static async open(options: CompanionOptions): Promise<Companion> {
    mkdirSync(options.home, { recursive: true, mode: 0o700 });
    const lock = acquireOwnerLock(join(options.home, 'companion.lock'), options.home);
    try {
      const journal = await openJournal(options.home, options.cipher);
      const settingsProblem = setAsideDamagedSettings(options.home, (options.clock ?? Date.now)());
      const store = options.openStore(options.home);
      let { branding } = options;
      if (!branding) {
        const loaded = loadBranding(options.home);
        for (const problem of loaded.problems) console.warn(`Branding: ${problem}`);
        branding = loaded.configured;
      }
      // Derived from the machine every time, never stored: a copied data folder names no device.
      const deviceId = deviceIdFor(options.machineIdentity ?? machineIdentity(), options.appId);
      const companion = new Companion({ ...options, branding }, journal, lock, store, deviceId);
      if (settingsProblem) companion.noteDataProblem(settingsProblem);
      for (const problem of journal.problems) companion.noteDataProblem(problem);
      await companion.license.load();
      await companion.leases.load();
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
    await this.journal.close();
    this.lock.release();
  }

  /** Validates params against the contract table and runs the handler; never throws (see Dispatch). */
  readonly dispatch: Dispatch = (method: MethodName, params: unknown) => {
    const parsed = contract[method].params.safeParse(params ?? {});
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'params'}: ${issue.message}`);
      return err<CompanionFailure>({ code: 'INVALID_PARAMS', message: issues.join('; ') });
    }
    try {
      const handler = this.handlers[method] as (params: unknown) => unknown;
      const value = handler(parsed.data);
      return value instanceof Promise ? value.then(ok, failureOf) : ok(value);
    } catch (error) {
      return failureOf(error);
    }
  };

  private onUsageAnswered(rejected: RejectedUsage[], invalid: InvalidUsage[]): void {
    if (invalid.length > 0) {
      const units = invalid.reduce((sum, entry) => sum + (Number.isFinite(entry.units) ? entry.units : 0), 0);
      const detail = invalid[0]?.detail ? ` (${invalid[0].detail.split('\n')[0]})` : '';
      this.noteDataProblem(
        `${invalid.length} usage ${invalid.length === 1 ? 'entry' : 'entries'} (${units} units) in the journal ` +
          `could not be counted by the server and ${invalid.length === 1 ? 'was' : 'were'} not billed: ${invalid[0]?.code}${detail}.`,
      );
    }
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

  /** Shows damaged data in the state (UI banner, `status`), and in the log. */
  private noteDataProblem(message: string): void {
    console.warn(`Tollgate: ${message}`);
    this.state.setState({ dataProblems: [...this.state.getState().dataProblems, message].slice(-20) });
  }

  private accountId(): string {
    return this.auth.current?.account.id ?? '';
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
    const snapshot = this.usage.current;
    this.state.setState(
      deriveCompanionState({
        now,
        catalog: this.catalog,
        plan: this.gate.plan(now),
        license: this.license.current,
        licenseProblem: this.license.problemAt(now),
        serverUsage: snapshot,
        pendingUnits: (operation) => this.journal.pendingUnits(operation, this.accountId()),
        pendingEvents: this.journal.pendingOf(this.accountId()).events,
        // Decided like any feature gate, so `all_features` grants it and a lapsed plan loses it.
        whiteLabelAllowed: this.gate.checkFeature('white_label').allowed,
        whiteLabel: this.whiteLabel,
        sync: this.state.getState().sync,
      }),
    );
  }
}

/** The journal holds usage not yet sent: one the companion cannot read or write is never replaced. */
async function openJournal(home: string, cipher: SecretCipher): Promise<UsageJournal> {
  try {
    return await UsageJournal.open(home, cipher);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!code) throw error;
    throw new DataFolderUnusable(
      `The usage journal in ${home} cannot be used (${(error as Error).message}). It holds usage not yet sent, ` +
        'so the companion does not start without it, and nothing was changed: give your user read and write ' +
        `access to usage-journal.tsv and usage-journal.head in ${home} (for example chmod u+rw), then start again.`,
    );
  }
}
