/**
 * The host socket's wire format (docs/host-ipc.md), written here so the package ships alone. The
 * conformance suite checks these shapes against the companion's contract table on every run.
 */

/** The reason codes a decision carries; a denial is a normal answer, not an error. */
export const REASON_CODES = [
  'OK',
  'NOT_SIGNED_IN',
  'FEATURE_NOT_IN_PLAN',
  'LIMIT_REACHED',
  'SIZE_LIMIT_EXCEEDED',
  'SUBSCRIPTION_INACTIVE',
  'LICENSE_EXPIRED',
  'OFFLINE_GRACE_EXPIRED',
  'CLOCK_TAMPERED',
  'LICENSE_INVALID',
  'LEASE_EXHAUSTED',
  'DEVICE_RELEASED',
  'DEVICE_LIMIT_REACHED',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface Upgrade {
  tier: string;
  name: string;
  monthlyPriceCents: number | null;
  yearlyPriceCents: number | null;
  contactSales: boolean;
}

export interface Decision {
  allowed: boolean;
  code: ReasonCode;
  /** Units left before this request; absent when unlimited. */
  remaining?: number;
  limit?: number;
  /** The cheapest tier that would allow the request, when one would. */
  upgrade?: Upgrade;
}

export interface ConsumeOutcome {
  decision: Decision;
  idempotencyKey: string | null;
  /** True when this key was already recorded: nothing was counted again. */
  replayed: boolean;
}

export interface OperationUsage {
  label: string;
  serverUsed: number;
  pending: number;
  /** -1 when unlimited. */
  limit: number;
}

export interface Usage {
  period: string;
  resetsAt: string;
  operations: Record<string, OperationUsage>;
  apiCalls: { limit: number; windowSeconds: number; used: number | null; resetsAt: string | null };
}

export interface LicenseView {
  status: 'none' | 'valid' | 'invalid';
  problem: { code: string; message: string } | null;
  tier: string | null;
  subscriptionStatus: string | null;
  features: string[];
  limits: Record<string, unknown> | null;
  issuedAt: number | null;
  offlineValidUntil: number | null;
  accessEndsAt: number | null;
}

export interface LicenseAnswer {
  token: string | null;
  license: LicenseView;
}

export interface LicenseChanged {
  license: LicenseView;
  effectiveTier: string;
  standing: { code: ReasonCode; message: string };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const optionalInt = (value: unknown) => value === undefined || Number.isInteger(value);

export function isDecision(value: unknown): value is Decision {
  return (
    isObject(value) &&
    typeof value.allowed === 'boolean' &&
    typeof value.code === 'string' &&
    (REASON_CODES as readonly string[]).includes(value.code) &&
    optionalInt(value.remaining) &&
    optionalInt(value.limit) &&
    (value.upgrade === undefined || (isObject(value.upgrade) && typeof value.upgrade.tier === 'string'))
  );
}

export function isConsumeOutcome(value: unknown): value is ConsumeOutcome {
  return (
    isObject(value) &&
    isDecision(value.decision) &&
    (value.idempotencyKey === null || typeof value.idempotencyKey === 'string') &&
    typeof value.replayed === 'boolean'
  );
}

/** One of the account's active devices (`devices.list`); `thisDevice` marks the computer asking. */
export interface DeviceView {
  deviceId: string;
  name: string;
  os: string;
  appVersion: string;
  activatedAt: string;
  lastSeenAt: string;
  thisDevice: boolean;
}

export interface Devices {
  devices: DeviceView[];
  /** The plan's device limit; -1 is unlimited. */
  maxDevices: number;
}

export function isDevices(value: unknown): value is Devices {
  return (
    isObject(value) &&
    typeof value.maxDevices === 'number' &&
    Array.isArray(value.devices) &&
    value.devices.every(
      (device) => isObject(device) && typeof device.deviceId === 'string' && typeof device.thisDevice === 'boolean',
    )
  );
}

export function isUsage(value: unknown): value is Usage {
  return (
    isObject(value) &&
    typeof value.period === 'string' &&
    typeof value.resetsAt === 'string' &&
    isObject(value.operations) &&
    isObject(value.apiCalls)
  );
}

function isLicenseView(value: unknown): value is LicenseView {
  return (
    isObject(value) &&
    ['none', 'valid', 'invalid'].includes(value.status as string) &&
    Array.isArray(value.features) &&
    (value.tier === null || typeof value.tier === 'string')
  );
}

export function isLicenseAnswer(value: unknown): value is LicenseAnswer {
  return isObject(value) && (value.token === null || typeof value.token === 'string') && isLicenseView(value.license);
}

export function isLicenseChanged(value: unknown): value is LicenseChanged {
  return (
    isObject(value) &&
    isLicenseView(value.license) &&
    typeof value.effectiveTier === 'string' &&
    isObject(value.standing)
  );
}

export const isSubscribed = (value: unknown): boolean => isObject(value) && value.subscribed === true;
