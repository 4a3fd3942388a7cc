import type { Decision } from './wire.ts';

/**
 * Every failure is a TollgateError with a stable `code`; each code has its own class, so a host can
 * `catch (e) { if (e instanceof LimitReachedError) … }`. Decision reason codes are raised by
 * `assertAllowed` and `license()`; the others come from the companion's JSON-RPC errors or from the
 * client itself (connection, timeout, a malformed answer).
 */
export class TollgateError extends Error {
  override name = 'TollgateError';
  constructor(
    readonly code: string,
    message: string,
    /** The JSON-RPC error code when the companion answered with an error, else null. */
    readonly rpcCode: number | null = null,
    /** The denial, when the error comes from a decision. */
    readonly decision: Decision | null = null,
  ) {
    super(message);
  }
}

type ErrorClass = new (message: string, rpcCode?: number | null, decision?: Decision | null) => TollgateError;

function errorClass(code: string, name: string): ErrorClass {
  const named = {
    [name]: class extends TollgateError {
      override name = name;
      constructor(message: string, rpcCode: number | null = null, decision: Decision | null = null) {
        super(code, message, rpcCode, decision);
      }
    },
  };
  return named[name] as ErrorClass;
}

// Decision reason codes (a denial turned into an error by assertAllowed, or a license problem).
export const NotSignedInError = errorClass('NOT_SIGNED_IN', 'NotSignedInError');
export const FeatureNotInPlanError = errorClass('FEATURE_NOT_IN_PLAN', 'FeatureNotInPlanError');
export const LimitReachedError = errorClass('LIMIT_REACHED', 'LimitReachedError');
export const SizeLimitExceededError = errorClass('SIZE_LIMIT_EXCEEDED', 'SizeLimitExceededError');
export const SubscriptionInactiveError = errorClass('SUBSCRIPTION_INACTIVE', 'SubscriptionInactiveError');
export const LicenseExpiredError = errorClass('LICENSE_EXPIRED', 'LicenseExpiredError');
export const OfflineGraceExpiredError = errorClass('OFFLINE_GRACE_EXPIRED', 'OfflineGraceExpiredError');
export const ClockTamperedError = errorClass('CLOCK_TAMPERED', 'ClockTamperedError');
export const LicenseInvalidError = errorClass('LICENSE_INVALID', 'LicenseInvalidError');
/** Offline past this device's quota lease: show "connect to continue". */
export const LeaseExhaustedError = errorClass('LEASE_EXHAUSTED', 'LeaseExhaustedError');
/** The user released this computer from the account: show "sign in to use it here again". */
export const DeviceReleasedError = errorClass('DEVICE_RELEASED', 'DeviceReleasedError');
/** Every device place of the plan is in use: show "release another computer, or upgrade". */
export const DeviceLimitReachedError = errorClass('DEVICE_LIMIT_REACHED', 'DeviceLimitReachedError');
// The companion's JSON-RPC errors.
export const ParseError = errorClass('PARSE_ERROR', 'ParseError');
export const InvalidRequestError = errorClass('INVALID_REQUEST', 'InvalidRequestError');
export const MethodNotFoundError = errorClass('METHOD_NOT_FOUND', 'MethodNotFoundError');
export const InvalidParamsError = errorClass('INVALID_PARAMS', 'InvalidParamsError');
export const InternalError = errorClass('INTERNAL', 'InternalError');
export const UsageNotRecordedError = errorClass('USAGE_NOT_RECORDED', 'UsageNotRecordedError');
// The client's own.
export const ProtocolError = errorClass('PROTOCOL_ERROR', 'ProtocolError');
export const ConnectionError = errorClass('CONNECTION_FAILED', 'ConnectionError');
export const TimeoutError = errorClass('TIMEOUT', 'TimeoutError');

/** The class for each stable code. A code this version does not know becomes a plain TollgateError. */
export const ERROR_CLASSES: Readonly<Record<string, ErrorClass>> = Object.fromEntries(
  [
    NotSignedInError,
    FeatureNotInPlanError,
    LimitReachedError,
    SizeLimitExceededError,
    SubscriptionInactiveError,
    LicenseExpiredError,
    OfflineGraceExpiredError,
    ClockTamperedError,
    LicenseInvalidError,
    LeaseExhaustedError,
    DeviceReleasedError,
    DeviceLimitReachedError,
    ParseError,
    InvalidRequestError,
    MethodNotFoundError,
    InvalidParamsError,
    InternalError,
    UsageNotRecordedError,
    ProtocolError,
    ConnectionError,
    TimeoutError,
  ].map((cls) => [new cls('').code, cls]),
);

const RPC_CODES: Record<number, string> = {
  [-32700]: 'PARSE_ERROR',
  [-32600]: 'INVALID_REQUEST',
  [-32601]: 'METHOD_NOT_FOUND',
  [-32602]: 'INVALID_PARAMS',
  [-32603]: 'INTERNAL',
};

export function errorFor(
  code: string,
  message: string,
  rpcCode: number | null = null,
  decision: Decision | null = null,
) {
  const cls = ERROR_CLASSES[code];
  return cls ? new cls(message, rpcCode, decision) : new TollgateError(code, message, rpcCode, decision);
}

/** A JSON-RPC error object from the companion as a typed error: `data.code` first, then the JSON-RPC code. */
export function errorFromRpc(error: { code: number; message: string; data?: { code?: unknown } }): TollgateError {
  const reason = typeof error.data?.code === 'string' ? error.data.code : (RPC_CODES[error.code] ?? 'RPC_ERROR');
  return errorFor(reason, error.message, error.code);
}

/** Throws the typed error for a denial (LimitReachedError, FeatureNotInPlanError, …); returns an allowed decision. */
export function assertAllowed(decision: Decision): Decision {
  if (decision.allowed) return decision;
  const upgrade = decision.upgrade ? ` — upgrade to ${decision.upgrade.name}` : '';
  throw errorFor(decision.code, `Denied: ${decision.code}${upgrade}`, null, decision);
}
