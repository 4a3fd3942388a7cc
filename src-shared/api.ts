import { z } from 'zod';
import { Limits, Prices, TierId } from './catalog.ts';
import { REASON_CODES } from './decisions.ts';
import { LicenseNonce, SubscriptionStatus } from './license.ts';
import { PERIOD_PATTERN } from './period.ts';

/**
 * The billing server's HTTP contract, shared by the server (route schemas, OpenAPI) and its
 * clients (the companion, tests). The companion sees the server only through these shapes.
 */

const MAX_UNITS = 1_000_000;

export const Email = z
  .email()
  .max(320)
  .transform((email) => email.toLowerCase());
export const Password = z.string().min(10, { error: 'use at least 10 characters' }).max(200);
/** A client-chosen key that makes a request safe to repeat: 8–128 URL-safe characters. */
export const IdempotencyKey = z.string().regex(/^[A-Za-z0-9_.:-]{8,128}$/, {
  error: 'expected 8–128 characters of A–Z, a–z, 0–9, _ . : -',
});
export const OperationName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, { error: 'expected an operation name' });
export const Units = z.number().int().min(1).max(MAX_UNITS);
const DeviceId = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, { error: 'expected a device id' });
export const BillingCycle = z.enum(['monthly', 'yearly']);
export type BillingCycle = z.infer<typeof BillingCycle>;
const Period = z.string().regex(PERIOD_PATTERN);
const ReasonCode = z.enum(REASON_CODES);

// ── Errors ──────────────────────────────────────────────────────────────────────────────────────

export const UpgradeSuggestion = z.object({
  tier: TierId,
  name: z.string(),
  monthlyPriceCents: z.number().int().nullable(),
  yearlyPriceCents: z.number().int().nullable(),
  contactSales: z.boolean(),
});
export type UpgradeSuggestion = z.infer<typeof UpgradeSuggestion>;

/** RFC 9457 problem details with a stable machine-readable `code`. */
export const Problem = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  code: z.string(),
  upgrade: UpgradeSuggestion.optional(),
  limit: z.number().int().optional(),
  remaining: z.number().int().optional(),
});
export type Problem = z.infer<typeof Problem>;

// ── Accounts ────────────────────────────────────────────────────────────────────────────────────

export const SignUpBody = z.strictObject({ email: Email, password: Password });
export const SignInBody = z.strictObject({ email: Email, password: z.string().min(1).max(200) });
export const RefreshBody = z.strictObject({ refreshToken: z.string().min(1).max(512) });
/** Claiming an imported account: the code an ACCOUNT_CLAIM_SENT e-mail carried, and the new password. */
export const ClaimBody = z.strictObject({ code: z.string().min(1).max(200), password: Password });
export const SignOutBody = z.strictObject({ refreshToken: z.string().min(1).max(512).optional() });

export const Account = z.object({
  id: z.string(),
  email: z.string(),
  createdAt: z.string(),
});
export type Account = z.infer<typeof Account>;

export const Session = z.object({
  account: Account,
  accessToken: z.string(),
  accessTokenExpiresAt: z.string(),
  refreshToken: z.string(),
});
export type Session = z.infer<typeof Session>;

// ── Plans ───────────────────────────────────────────────────────────────────────────────────────

export const PlanView = z.object({
  id: TierId,
  name: z.string(),
  limits: Limits,
  supportLevel: z.string(),
  /** Cumulative: every feature the tier grants. */
  features: z.array(z.string()),
  prices: Prices.nullable(),
  negotiated: z.boolean(),
  yearlySavingCents: z.number().int(),
});
export type PlanView = z.infer<typeof PlanView>;

export const PlansResponse = z.object({
  currency: z.string(),
  operations: z.record(z.string(), z.object({ label: z.string() })),
  plans: z.array(PlanView),
  /** The cardless trial a free account may start once (POST /v1/trial); null when the catalog offers none. */
  trial: z.object({ tier: TierId, days: z.number().int() }).nullable().default(null),
});
export type PlansResponse = z.infer<typeof PlansResponse>;

// ── Subscription and usage ──────────────────────────────────────────────────────────────────────

export const Subscription = z.object({
  tier: TierId,
  status: SubscriptionStatus,
  cycle: BillingCycle.nullable(),
  /** Whether the account may use its tier now (status mapped, past-due grace applied). */
  access: z.boolean(),
  currentPeriodEnd: z.string().nullable(),
  cancelAtPeriodEnd: z.boolean(),
  /** A scheduled change (downgrade at period end). */
  pendingTier: TierId.nullable(),
  pastDueGraceEndsAt: z.string().nullable(),
  supportLevel: z.string(),
  features: z.array(z.string()),
  limits: Limits,
});
export type Subscription = z.infer<typeof Subscription>;

const OperationUsage = z.object({
  used: z.number().int(),
  reserved: z.number().int(),
  /** -1 when unlimited. */
  limit: z.number().int(),
});

export const UsageSnapshot = z.object({
  period: Period,
  resetsAt: z.string(),
  operations: z.record(z.string(), OperationUsage),
  apiCalls: z.object({
    limit: z.number().int(),
    windowSeconds: z.number().int(),
    /** Metered calls counted in the current hourly window (as the rate limiter last reported). */
    used: z.number().int().optional(),
    /** When that window resets (ISO); null when no window is open. */
    resetsAt: z.string().nullable().optional(),
  }),
});
export type UsageSnapshot = z.infer<typeof UsageSnapshot>;

/**
 * The account's trial as /v1/me reports it: `available` (free, never took the catalog's trial),
 * `running` (a trial gives its tier until `endsAt`), `used` (this account took it already) or
 * `unavailable` (no trial in the catalog, or the account pays). `tier`/`days`: the catalog's offer,
 * or the running trial's tier.
 */
export const TrialState = z.object({
  status: z.enum(['available', 'running', 'used', 'unavailable']),
  tier: TierId.nullable(),
  days: z.number().int().nullable(),
  endsAt: z.string().nullable(),
});
export type TrialState = z.infer<typeof TrialState>;

export const MeResponse = z.object({
  account: Account,
  subscription: Subscription,
  trial: TrialState,
  usage: UsageSnapshot,
  serverTime: z.string(),
});
export type MeResponse = z.infer<typeof MeResponse>;

// ── Metering ────────────────────────────────────────────────────────────────────────────────────

export const ConsumeBody = z.strictObject({
  operation: OperationName,
  units: Units,
  idempotencyKey: IdempotencyKey,
});
export type ConsumeBody = z.infer<typeof ConsumeBody>;

export const ConsumeResult = z.object({
  idempotencyKey: z.string(),
  operation: z.string(),
  units: z.number().int(),
  period: Period,
  /** Usage of this operation this period after the consume. */
  used: z.number().int(),
  limit: z.number().int(),
  /** Absent when unlimited. */
  remaining: z.number().int().optional(),
  /** True when this key was seen before: nothing was counted again. */
  replayed: z.boolean(),
});
export type ConsumeResult = z.infer<typeof ConsumeResult>;

export const MAX_BATCH_EVENTS = 1000;

export const UsageEvent = z.strictObject({
  idempotencyKey: IdempotencyKey,
  operation: OperationName,
  units: Units,
  /** When the usage happened on the device (ISO); informational, the server's period applies. */
  occurredAt: z.iso.datetime().optional(),
});
export type UsageEvent = z.infer<typeof UsageEvent>;

/**
 * A batch is checked event by event: an event that is not a valid `UsageEvent` is answered
 * `rejected` with `EVENT_INVALID` on its own, and the others are processed as usual — one damaged
 * entry never costs the rest of the batch. (The companion sends what it sends: schema-check each
 * element with `UsageEvent`.)
 */
export const UsageEventsBody = z.strictObject({
  events: z.array(z.unknown()).min(1).max(MAX_BATCH_EVENTS),
  /** The sending device: its events are spent first from the units its leases hold (POST /v1/leases). */
  deviceId: DeviceId.optional(),
  /**
   * Where the sending device's usage journal stands (its last durable line's <seq>): the server
   * keeps the highest per account and device, and answers it, so a journal restored from an older
   * copy is noticed (docs/security.md, "The usage journal").
   */
  journal: z.strictObject({ deviceId: z.string().min(1).max(200), seq: z.number().int().min(0) }).optional(),
});

/** Why a batch event was not counted: a decision code, or the event itself is unusable. */
const UsageEventCode = z.union([ReasonCode, z.enum(['EVENT_INVALID', 'UNKNOWN_OPERATION'])]);

export const UsageEventResult = z.object({
  /** The event's position in the batch: answers come back in the same order. */
  index: z.number().int(),
  /** The event's key; empty when the event carried no usable key. */
  idempotencyKey: z.string(),
  /** accepted: counted now; duplicate: counted before; rejected: not counted (see code). */
  status: z.enum(['accepted', 'duplicate', 'rejected']),
  code: UsageEventCode,
  /** For EVENT_INVALID: what is wrong with the event. */
  detail: z.string().optional(),
  used: z.number().int(),
  limit: z.number().int(),
});
export type UsageEventResult = z.infer<typeof UsageEventResult>;

export const UsageEventsResponse = z.object({
  period: Period,
  results: z.array(UsageEventResult),
  /** With a `journal` in the request: the highest <seq> this device has ever sent for this account. */
  journal: z.object({ highestSeq: z.number().int() }).optional(),
});
export type UsageEventsResponse = z.infer<typeof UsageEventsResponse>;

export const ReserveBody = z.strictObject({
  operation: OperationName,
  units: Units,
  idempotencyKey: IdempotencyKey,
  /** How long the reservation holds before it is released by itself (default 15 min). */
  ttlSeconds: z
    .number()
    .int()
    .min(1)
    .max(24 * 3600)
    .optional(),
});

export const Reservation = z.object({
  id: z.string(),
  operation: z.string(),
  units: z.number().int(),
  status: z.enum(['held', 'committed', 'released', 'expired']),
  expiresAt: z.string(),
  period: Period,
});
export type Reservation = z.infer<typeof Reservation>;

export const SizeCheckBody = z.strictObject({ sizeMb: z.number().min(0).max(10_000_000) });

export const DecisionView = z.object({
  allowed: z.boolean(),
  code: ReasonCode,
  remaining: z.number().int().optional(),
  limit: z.number().int().optional(),
  /** The companion's quota lease: units this device may still spend offline. */
  leaseRemaining: z.number().int().optional(),
  upgrade: UpgradeSuggestion.optional(),
});

// ── Trial (POST /v1/trial, signed in) ──────────────────────────────────────────────────────────

/** The device starting the trial: the id it sends with its license requests (activated on this account). */
export const TrialBody = z.strictObject({ deviceId: DeviceId });

export const TrialResponse = z.object({
  tier: TierId,
  days: z.number().int(),
  startedAt: z.string(),
  endsAt: z.string(),
});
export type TrialResponse = z.infer<typeof TrialResponse>;

// ── Notifications ───────────────────────────────────────────────────────────────────────────────

export const Notification = z.object({
  id: z.string(),
  kind: z.enum(['usage_threshold']),
  operation: z.string(),
  threshold: z.union([z.literal(80), z.literal(100)]),
  period: Period,
  used: z.number().int(),
  limit: z.number().int(),
  message: z.string(),
  createdAt: z.string(),
  readAt: z.string().nullable(),
});
export type Notification = z.infer<typeof Notification>;

export const NotificationsResponse = z.object({ notifications: z.array(Notification) });

// ── License ─────────────────────────────────────────────────────────────────────────────────────

const DeviceName = z.string().trim().min(1).max(80);
export const LicenseQuery = z.strictObject({
  deviceId: DeviceId,
  /** What the device registry shows (first activation sets them; every license request refreshes them). */
  deviceName: DeviceName.optional(),
  os: z.string().max(80).optional(),
  appVersion: z.string().max(40).optional(),
  /** A device the user released gets a license again only when it asks for this explicitly. */
  reactivate: z.enum(['true', 'false']).optional(),
  /**
   * A fresh random value per request: signed into the license as its `nonce` claim, so the companion
   * can tell a license made for this request (whose `iat` is the server's time now) from a replay.
   */
  nonce: LicenseNonce.optional().describe(
    'A fresh random value (16–128 of A–Z a–z 0–9 _ -) per request; the license carries it back signed as its `nonce` claim.',
  ),
});

// ── Devices ─────────────────────────────────────────────────────────────────────────────────────
// GET /v1/devices, PATCH /v1/devices/:deviceId, DELETE /v1/devices/:deviceId (signed in).

export const Device = z.object({
  deviceId: z.string(),
  name: z.string(),
  os: z.string(),
  appVersion: z.string(),
  activatedAt: z.string(),
  lastSeenAt: z.string(),
});
export type Device = z.infer<typeof Device>;
export const DevicesResponse = z.object({
  devices: z.array(Device),
  /** The plan's max_devices (-1 unlimited). More active than this after a downgrade: release some. */
  maxDevices: z.number().int(),
});
export type DevicesResponse = z.infer<typeof DevicesResponse>;
export const DeviceParams = z.strictObject({ deviceId: DeviceId });
export const RenameDeviceRequest = z.strictObject({ name: DeviceName });
export const LicenseResponse = z.object({
  token: z.string(),
  expiresAt: z.string(),
  serverTime: z.string(),
});
export type LicenseResponse = z.infer<typeof LicenseResponse>;

// ── Quota leases ────────────────────────────────────────────────────────────────────────────────

export const LeaseBody = z.strictObject({
  deviceId: DeviceId,
  /**
   * Units this device has spent and not yet synced, per operation: the renewal never holds fewer
   * of them than that, so what the device already acknowledged stays covered until it arrives.
   */
  pending: z.record(z.string().max(64), z.number().int().min(0)).optional(),
});

export const Lease = z.object({
  operation: z.string(),
  /** Units held for this device now: what it may spend offline until the lease expires. */
  units: z.number().int(),
  period: Period,
  expiresAt: z.string(),
  /** The signed lease (EdDSA JWS, bound to account, device, operation and period). */
  token: z.string(),
});
export type Lease = z.infer<typeof Lease>;

export const LeaseResponse = z.object({
  /** One lease per limited operation of the plan; unlimited operations need none. */
  leases: z.array(Lease),
  serverTime: z.string(),
});
export type LeaseResponse = z.infer<typeof LeaseResponse>;

// ── Billing ─────────────────────────────────────────────────────────────────────────────────────
// POST /v1/billing/checkout, /v1/billing/portal, /v1/billing/change-plan, /v1/billing/cancel,
// /v1/billing/resume (signed in); POST /v1/webhooks/stripe (Stripe-signed).

/**
 * Where the customer lands after paying or cancelling: the server's own page (`browser`, the
 * default), or that page handing them back to the desktop app through a `tollgate://` link (`app`,
 * asked for by a packaged companion that registered the scheme). Stripe accepts only web URLs, so
 * the hand-over always goes through the server's page.
 */
export const CheckoutReturn = z.enum(['browser', 'app']);
export type CheckoutReturn = z.infer<typeof CheckoutReturn>;
export const CheckoutBody = z.strictObject({ tier: TierId, cycle: BillingCycle, returnTo: CheckoutReturn.optional() });
export const CheckoutResponse = z.union([
  z.object({ kind: z.literal('checkout'), url: z.url(), sessionId: z.string() }),
  z.object({ kind: z.literal('contact_sales'), message: z.string(), url: z.url().optional() }),
]);
export type CheckoutResponse = z.infer<typeof CheckoutResponse>;

export const PortalBody = z.strictObject({ returnTo: CheckoutReturn.optional() });
export const PortalResponse = z.object({ url: z.url() });

export const ChangePlanBody = z.strictObject({ tier: TierId, cycle: BillingCycle });
export const ChangePlanResponse = z.object({
  /** `now` for upgrades (prorated), `period_end` for downgrades. */
  effective: z.enum(['now', 'period_end']),
  subscription: Subscription,
});

/**
 * `POST /v1/billing/cancel` cancels at the end of the paid period (access continues until then);
 * `POST /v1/billing/resume` undoes that before the period ends. Neither takes a body.
 */
export const CancelResponse = z.object({ subscription: Subscription });
export type CancelResponse = z.infer<typeof CancelResponse>;

/** Why the companion showed an upgrade prompt (src-renderer/view/prompt.ts). */
export const UpgradePromptReason = z.enum(['denied', 'limit_reached', 'limit_near']);
export type UpgradePromptReason = z.infer<typeof UpgradePromptReason>;

/** The companion's report that it showed an upgrade prompt (the funnel's "prompt shown" step). */
export const UpgradePromptBody = z.strictObject({
  /** Stable per situation: the same prompt reported twice is recorded once. */
  promptKey: z.string().min(1).max(200),
  reason: UpgradePromptReason,
});
export type UpgradePromptBody = z.infer<typeof UpgradePromptBody>;

export const UpgradePromptResponse = z.object({
  /** False when this prompt was already recorded (a resent report). */
  recorded: z.boolean(),
});
