/**
 * Every stable error code of Tollgate, in one place for every runtime. Clients branch on `code`,
 * never on a title or a message.
 */

/**
 * Every error the API answers with is RFC 9457 problem+json carrying one of these stable codes.
 * Clients branch on `code`, never on `title` or `detail`. The table is also the documentation
 * (rendered on /docs and in docs/api.md).
 */
export const PROBLEM_CODES = {
  /**
   * Not an error: sign-up with the e-mail of an account a Stripe import made. Nothing was signed in;
   * a one-time link to set the password went to the address (docs/security.md, "Imported accounts").
   */
  ACCOUNT_CLAIM_SENT: {
    status: 202,
    title: 'This e-mail already has a subscription: open the link we e-mailed to it to set your password',
  },
  VALIDATION_FAILED: { status: 400, title: 'The request does not match the schema' },
  INVALID_JSON: { status: 400, title: 'The request body is not valid JSON' },
  BAD_REQUEST: { status: 400, title: 'The request cannot be understood' },
  /** A claim code (the link of an ACCOUNT_CLAIM_SENT e-mail) that is wrong, already used or expired. */
  CLAIM_CODE_INVALID: { status: 400, title: 'The claim link is wrong, already used or expired' },
  UNAUTHENTICATED: { status: 401, title: 'Sign in first: a valid access token is required' },
  INVALID_CREDENTIALS: { status: 401, title: 'Email or password is wrong' },
  INVALID_REFRESH_TOKEN: { status: 401, title: 'The refresh token is unknown, used, expired or revoked' },
  LIMIT_REACHED: { status: 402, title: 'The monthly limit of this operation is reached' },
  SIZE_LIMIT_EXCEEDED: { status: 402, title: 'The project is larger than the plan allows' },
  ADMIN_ONLY: { status: 403, title: 'This route needs the admin token' },
  /** A `support` administrator may read the admin console but not act on a customer. */
  ADMIN_READ_ONLY: { status: 403, title: 'This administrator may only read: acting needs the owner role' },
  NOT_FOUND: { status: 404, title: 'No such resource' },
  RESERVATION_NOT_FOUND: { status: 404, title: 'No such reservation for this account' },
  NOTIFICATION_NOT_FOUND: { status: 404, title: 'No such notification for this account' },
  /** A webhook endpoint id that is not registered (or was deleted). */
  WEBHOOK_ENDPOINT_NOT_FOUND: { status: 404, title: 'No such webhook endpoint' },
  /** A delivery log id that does not exist. */
  DELIVERY_NOT_FOUND: { status: 404, title: 'No such delivery' },
  DEVICE_NOT_FOUND: { status: 404, title: 'No such device for this account' },
  INVOICE_NOT_FOUND: { status: 404, title: 'No such paid invoice for this account' },
  /** A Custom contract's invoice, or one of a provider this server no longer uses: refund it where it was paid. */
  REFUND_NOT_THROUGH_PROVIDER: {
    status: 409,
    title: 'This invoice was not paid through the configured payment provider: refund it where it was paid',
  },
  /** A refund asks for more than the invoice has left (its amount paid less what was refunded). */
  REFUND_TOO_LARGE: { status: 422, title: 'The refund is more than what is left of the invoice' },
  /** A Custom contract cannot replace a live provider subscription: cancel that first. */
  CONTRACT_CONFLICT: {
    status: 409,
    title: 'The account has a live paid subscription: cancel it before recording a contract',
  },
  EMAIL_TAKEN: { status: 409, title: 'An account with this email exists' },
  /** Every device the plan allows is active: release one (the body lists them) or upgrade. */
  DEVICE_LIMIT_REACHED: { status: 409, title: 'The plan allows no more devices' },
  /** The user released this device; it gets a license again only when asked to (`reactivate=true`). */
  DEVICE_RELEASED: { status: 409, title: 'This device was released from the account' },
  /** The cardless trial is once per account and once per device: this one (or this device) had it. */
  TRIAL_ALREADY_USED: { status: 409, title: 'The free trial was already used by this account or on this device' },
  /** No trial in the catalog, or the account is not on the free plan (it pays, or a trial is running). */
  TRIAL_NOT_AVAILABLE: { status: 409, title: 'No free trial is available to this account' },
  RESERVATION_SETTLED: { status: 409, title: 'The reservation was already settled the other way' },
  RESERVATION_EXPIRED: { status: 409, title: 'The reservation expired and its units were released' },
  BODY_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Send application/json' },
  UNKNOWN_OPERATION: { status: 422, title: 'The catalog does not meter this operation' },
  /** Webhooks go only to http:// or https:// URLs. */
  WEBHOOK_URL_NOT_ALLOWED: { status: 422, title: 'A webhook endpoint must be an http:// or https:// URL' },
  /** A checkout's promotion code that the payment provider does not know (the local provider: TESTPROMO50 only). */
  PROMOTION_CODE_INVALID: { status: 422, title: 'The promotion code is unknown or no longer valid' },
  NOTHING_TO_ANALYZE: { status: 422, title: 'The text is empty' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  INTERNAL: { status: 500, title: 'Internal error' },
  UNAVAILABLE: { status: 503, title: 'The service is temporarily unavailable' },
  /** An imported account is claimed only through its mailbox, and this server has no TOLLGATE_SMTP_URL. */
  ACCOUNT_CLAIM_NEEDS_EMAIL: {
    status: 503,
    title: 'This e-mail has an imported subscription, but this server cannot send the e-mail that claims it',
  },
  /** The server has no payment provider configured (neither Stripe nor TOLLGATE_PAYMENTS=local). */
  PAYMENTS_DISABLED: { status: 503, title: 'This server takes no payments: its operator has not configured them' },
  /** A local test checkout completed without the session or one-time link that opened it (or cross-site). */
  CHECKOUT_FORBIDDEN: { status: 403, title: 'Only the account that opened this test checkout may complete it' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEM_CODES;

/**
 * Codes the companion itself answers with across its boundaries (IPC, host socket, web bridge),
 * beside the server's problem codes it passes through and the decision reason codes.
 */
const COMPANION_ERROR_CODES = {
  /** The billing server could not be reached (offline, DNS, refused, timed out). */
  SERVER_UNREACHABLE: 'The billing server cannot be reached',
  /** The renderer's bridge got no answer from the companion process. */
  COMPANION_UNREACHABLE: 'The companion does not answer',
  INVALID_PARAMS: 'The parameters do not match the method',
  UNKNOWN_METHOD: 'No such method',
  METHOD_NOT_ALLOWED: 'The method is not allowed on this surface',
  UNTRUSTED_SENDER: 'This page may not call the companion',
  UNAUTHORIZED: 'Missing or wrong token',
  WRONG_HOST: 'Unexpected Host header',
  /** The billing server answered with something the companion does not understand. */
  BAD_RESPONSE: 'The billing server answered unexpectedly',
  /** A consume could not be made durable on this device, so it was not counted. */
  USAGE_NOT_RECORDED: 'Usage could not be saved on this device',
  /** A checkout or portal URL that is not a billing page the companion trusts. */
  URL_NOT_ALLOWED: 'Not a billing page Tollgate trusts',
  INTERNAL: 'Internal error',
} as const satisfies Record<string, string>;

type CompanionErrorCode = keyof typeof COMPANION_ERROR_CODES;

/** Any code a companion failure may carry: its own, or the server's passed through. */
export type ErrorCode = ProblemCode | CompanionErrorCode;

/** The code of a server answer as the companion passes it on: a code it does not know is a BAD_RESPONSE. */
export function knownProblemCode(code: string): ProblemCode | null {
  return Object.hasOwn(PROBLEM_CODES, code) ? (code as ProblemCode) : null;
}
