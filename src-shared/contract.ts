import { z } from 'zod';
import {
  BillingCycle,
  DecisionView,
  Device,
  Email,
  IdempotencyKey,
  Notification,
  OperationName,
  Password,
  PlansResponse,
  Subscription,
  TrialState,
  Units,
  UpgradePromptBody,
  UpgradeSuggestion,
} from './api.ts';
import { Limits, TierId } from './catalog.ts';
import { REASON_CODES, type ReasonCode } from './decisions.ts';
import type { ErrorCode } from './error-codes.ts';
import { SubscriptionStatus } from './license.ts';
import type { Failure, MaybePromise, Result } from './result.ts';

/**
 * The companion's one contract table. Every method main answers is named here once, with its
 * params and result schemas and the surfaces that expose it:
 *   - `renderer`: Electron IPC through the preload (channel `domain:action`) and the --web bridge;
 *   - `host`: the host socket (JSON-RPC 2.0, method `domain.action`) for host apps in any language.
 * The preload, the Electron handlers, the host socket and the web bridge are generated from it.
 */

export const Surface = z.enum(['renderer', 'host']);
export type Surface = z.infer<typeof Surface>;

// ── The state main holds and pushes to the renderer ──────────────────────────────────────────────

export const ProblemView = z.object({ code: z.string(), message: z.string() });
export type ProblemView = z.infer<typeof ProblemView>;

/** What a method of this table fails with: a companion or server error code, or a decision reason code. */
export type CompanionFailure = Failure<ErrorCode | ReasonCode>;

export const OperationUsageView = z.object({
  label: z.string(),
  /** What the server has counted this period. */
  serverUsed: z.number().int(),
  /** Recorded on this device and not yet acknowledged by the server. */
  pending: z.number().int(),
  /** -1 when unlimited. */
  limit: z.number().int(),
});
export type OperationUsageView = z.infer<typeof OperationUsageView>;

/** An operation's usage as main pushes it, with the plan to offer when it runs short. */
export const OperationState = OperationUsageView.extend({
  /** The cheapest plan above the current one with room for one more unit (null when none has). */
  upgrade: UpgradeSuggestion.nullable(),
});
export type OperationState = z.infer<typeof OperationState>;

export const LicenseView = z.object({
  /** `none`: never fetched; `valid`: verified; otherwise the reason it cannot be honoured. */
  status: z.enum(['none', 'valid', 'invalid']),
  problem: ProblemView.nullable(),
  tier: TierId.nullable(),
  subscriptionStatus: SubscriptionStatus.nullable(),
  features: z.array(z.string()),
  limits: Limits.nullable(),
  issuedAt: z.number().int().nullable(),
  /** End of the offline grace (UTC ms): the cached license works offline until then. */
  offlineValidUntil: z.number().int().nullable(),
  accessEndsAt: z.number().int().nullable(),
});
export type LicenseView = z.infer<typeof LicenseView>;

/**
 * The server's DEVICE_LIMIT_REACHED answer to this device's last license request: every place of
 * the plan is taken by these devices; releasing one, or the upgrade, lets this one in.
 */
export const DeviceLimitView = z.object({
  limit: z.number().int(),
  devices: z.array(Device),
  /** The cheapest tier above the plan that allows one more device (null when none does). */
  upgrade: UpgradeSuggestion.nullable(),
});
export type DeviceLimitView = z.infer<typeof DeviceLimitView>;

export const CompanionState = z.object({
  serverUrl: z.string(),
  branding: z.object({
    productName: z.string(),
    accentColor: z.string(),
    logoUrl: z.string().nullable(),
  }),
  account: z.object({ id: z.string(), email: z.string() }).nullable(),
  /** The subscription as last read from the server (/v1/me); null before the first sync. */
  subscription: Subscription.nullable(),
  license: LicenseView,
  /** The tier decisions use right now (free while the license is not in good standing). */
  effectiveTier: TierId,
  /** Why decisions fall back to free, when they do (reason code + plain words). */
  standing: z.object({ code: z.enum(REASON_CODES), message: z.string() }),
  usage: z.object({
    period: z.string(),
    resetsAt: z.string(),
    operations: z.record(z.string(), OperationState),
    apiCalls: z.object({
      limit: z.number().int(),
      windowSeconds: z.number().int(),
      /** Metered API calls counted in the current hourly window; null when the server does not say. */
      used: z.number().int().nullable(),
      /** When that window resets (ISO); null when no window is open. */
      resetsAt: z.string().nullable(),
    }),
  }),
  sync: z.object({
    status: z.enum(['idle', 'syncing', 'offline', 'error']),
    lastSyncAt: z.number().int().nullable(),
    offlineSince: z.number().int().nullable(),
    pendingEvents: z.number().int(),
    lastError: z.string().nullable(),
  }),
  notifications: z.array(Notification),
  /** The account's cardless trial as /v1/me last said (null before the first sync or signed out). */
  trial: TrialState.nullable(),
  /** The price list from the server (cached for display only), shown before sign-in too. */
  plans: PlansResponse.nullable(),
  checkout: z.object({
    status: z.enum(['idle', 'opening', 'waiting', 'completed', 'failed']),
    tier: TierId.nullable(),
    cycle: BillingCycle.nullable(),
    error: z.string().nullable(),
  }),
  /** The last denial a host app received: the UI turns it into an upgrade prompt. */
  lastDenial: z
    .object({
      at: z.number().int(),
      subject: z.string(),
      decision: DecisionView,
    })
    .nullable(),
  /** Secrets at rest: encrypted with the OS keychain (safeStorage) or, visibly, not. */
  tokenStorage: z.enum(['encrypted', 'plaintext']),
  /**
   * Damaged data the companion found and could not use (a journal entry the server could not
   * count, an unreadable settings file), in plain words: shown, never silently dropped.
   */
  dataProblems: z.array(z.string()),
  /** Set while the server refuses this device for want of a place on the plan (`DEVICE_LIMIT_REACHED`). */
  deviceLimit: DeviceLimitView.nullable(),
});
export type CompanionState = z.infer<typeof CompanionState>;

// ── Methods ─────────────────────────────────────────────────────────────────────────────────────

const None = z.strictObject({});

const ConsumeOutcome = z.object({
  decision: DecisionView,
  /** The key the usage was recorded under (generated when the caller gave none). */
  idempotencyKey: z.string().nullable(),
  /** True when this key was already recorded: nothing was counted again. */
  replayed: z.boolean(),
});

export const contract = {
  'state.get': { surfaces: ['renderer'], params: None, result: CompanionState },
  'auth.signIn': {
    surfaces: ['renderer'],
    params: z.strictObject({ email: Email, password: z.string().min(1).max(200) }),
    result: z.object({ email: z.string() }),
  },
  'auth.signUp': {
    surfaces: ['renderer'],
    params: z.strictObject({ email: Email, password: Password }),
    result: z.object({ email: z.string() }),
  },
  'auth.signOut': {
    surfaces: ['renderer'],
    params: None,
    /** Usage of this account not yet on the server: kept on the device, sent when it signs in again. */
    result: z.object({ unsyncedEvents: z.number().int(), unsyncedUnits: z.number().int() }),
  },
  'sync.now': { surfaces: ['renderer'], params: None, result: z.object({ status: z.string() }) },
  'billing.checkout': {
    surfaces: ['renderer'],
    params: z.strictObject({ tier: TierId, cycle: BillingCycle }),
    result: z.object({ kind: z.enum(['checkout', 'contact_sales']), url: z.string().nullable() }),
  },
  'billing.portal': { surfaces: ['renderer'], params: None, result: z.object({ url: z.string() }) },
  /** The window's "Start free trial": the catalog's trial for this account on this device, no card. */
  'trial.start': {
    surfaces: ['renderer'],
    params: None,
    result: z.object({ tier: TierId, endsAt: z.string() }),
  },
  /**
   * The window showed an upgrade prompt: main tells the server (the analytics funnel) in the
   * background and answers at once; offline, the report is dropped, never queued or retried.
   */
  'prompts.shown': { surfaces: ['renderer'], params: UpgradePromptBody, result: z.object({}) },
  'notifications.dismiss': {
    surfaces: ['renderer'],
    params: z.strictObject({ id: z.string().min(1).max(100) }),
    result: z.object({}),
  },
  'license.get': {
    surfaces: ['host', 'renderer'],
    params: None,
    result: z.object({ token: z.string().nullable(), license: LicenseView }),
  },
  'gate.check': {
    surfaces: ['host', 'renderer'],
    params: z.strictObject({ feature: z.string().min(1).max(64) }),
    result: DecisionView,
  },
  'usage.check': {
    surfaces: ['host'],
    params: z.strictObject({ operation: OperationName, units: Units.default(1) }),
    result: DecisionView,
  },
  'usage.consume': {
    surfaces: ['host'],
    params: z.strictObject({
      operation: OperationName,
      units: Units.default(1),
      idempotencyKey: IdempotencyKey.optional(),
    }),
    result: ConsumeOutcome,
  },
  'usage.get': {
    surfaces: ['host', 'renderer'],
    params: None,
    result: CompanionState.shape.usage,
  },
  /** The account's active devices (read-only for hosts); `thisDevice` marks the one asking. */
  'devices.list': {
    surfaces: ['host', 'renderer'],
    params: None,
    result: z.object({
      devices: z.array(Device.extend({ thisDevice: z.boolean() })),
      maxDevices: z.number().int(),
    }),
  },
  /** Releases another of the account's devices (the window's "Release"; never a host app's). */
  'devices.release': {
    surfaces: ['renderer'],
    params: z.strictObject({ deviceId: z.string().min(1).max(128) }),
    result: z.object({}),
  },
  /**
   * The window's "Use Tollgate on this computer again" after it was released: a full sync whose
   * license request takes this device back (what signing in again does).
   */
  'devices.reactivate': { surfaces: ['renderer'], params: None, result: z.object({ status: z.string() }) },
  /** Asks for `license.changed` notifications on this host-socket connection. */
  'license.subscribe': {
    surfaces: ['host'],
    params: None,
    result: z.object({ subscribed: z.literal(true) }),
  },
} as const satisfies Record<string, { surfaces: readonly Surface[]; params: z.ZodType; result: z.ZodType }>;

export type MethodName = keyof typeof contract;
export type Params<M extends MethodName> = z.input<(typeof contract)[M]['params']>;
export type ResultOf<M extends MethodName> = z.infer<(typeof contract)[M]['result']>;

/** The params of `license.changed`: what a host app needs to re-check its gates. */
export const LicenseChanged = z.object({
  license: LicenseView,
  effectiveTier: TierId,
  standing: CompanionState.shape.standing,
});
export type LicenseChanged = z.infer<typeof LicenseChanged>;

/**
 * Host-socket notifications main sends to the clients that asked for them (`subscribe` names the
 * method a client calls first), each with its params schema.
 */
export const notifications = {
  'license.changed': { surfaces: ['host'], subscribe: 'license.subscribe', params: LicenseChanged },
} as const satisfies Record<string, { surfaces: readonly Surface[]; subscribe: MethodName; params: z.ZodType }>;

export type NotificationName = keyof typeof notifications;
export type NotificationParams<N extends NotificationName> = z.infer<(typeof notifications)[N]['params']>;

/**
 * How every transport reaches main: validate params against the table, run the handler, never
 * throw. Answers that need no I/O come back synchronously, so the host socket can write them in the
 * same turn the request arrived.
 */
export type Dispatch = (method: MethodName, params: unknown) => MaybePromise<Result<unknown, CompanionFailure>>;

/** Methods a caller invokes without params. */
export type MethodWithoutParams = {
  [M in MethodName]: Record<never, never> extends Params<M> ? M : never;
}[MethodName];

/** The methods a surface exposes, as a type (`MethodOn<'host'>`: what a host app may call). */
export type MethodOn<S extends Surface> = {
  [M in MethodName]: S extends (typeof contract)[M]['surfaces'][number] ? M : never;
}[MethodName];

/** The methods a surface exposes, in table order. */
export const methodsOn = (surface: Surface): MethodName[] =>
  (Object.keys(contract) as MethodName[]).filter((method) =>
    (contract[method].surfaces as readonly Surface[]).includes(surface),
  );

/** `gate.check` → `gate:check`: the Electron IPC channel of a method. */
export const channelOf = (method: MethodName): string => method.replace('.', ':');
/** The channel main pushes state changes on to the renderer. */
export const STATE_CHANNEL = 'state:changed';

/** Error codes on the wire: JSON-RPC codes with the reason code in `data`. */
export const RPC_ERRORS = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  /** A domain refusal (not signed in, server unreachable...): `data.code` says which. */
  domainError: -32000,
} as const;

// ── How the renderer reaches main ───────────────────────────────────────────────────────────────

/**
 * What the renderer sees as `window.tollgate`: the preload exposes it in Electron; in --web mode the
 * renderer builds the same object over loopback HTTP (see WEB_BRIDGE). Calls never throw across the
 * boundary: they resolve to a Result.
 */
export interface CompanionBridge {
  invoke<M extends MethodName>(method: M, params: Params<M>): Promise<Result<ResultOf<M>, ProblemView>>;
  /** Called with the full state now and after every change; returns an unsubscribe function. */
  onState(listener: (state: CompanionState) => void): () => void;
}

// The --web transport's paths live in their own zod-free module so the renderer can import them
// without bundling zod and the catalog; re-exported here so the contract still names everything.
export { WEB_BRIDGE } from './web-bridge.ts';
