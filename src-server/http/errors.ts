import type { UpgradeSuggestion } from '../../src-shared/api.ts';
import { PROBLEM_CODES, type ProblemCode } from '../../src-shared/error-codes.ts';

interface ProblemExtras {
  upgrade?: UpgradeSuggestion;
  limit?: number;
  remaining?: number;
  [member: string]: unknown;
}

export interface ProblemBody extends ProblemExtras {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
}

/** Thrown by handlers and hooks; the error handler renders it as problem+json. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly statusCode: number;
  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
    readonly extras: ProblemExtras = {},
  ) {
    super(detail ?? PROBLEM_CODES[code].title);
    this.statusCode = PROBLEM_CODES[code].status;
  }
}

export function problemBody(code: ProblemCode, detail?: string, extras: ProblemExtras = {}): ProblemBody {
  const { status, title } = PROBLEM_CODES[code];
  // A relative reference: resolved against the API's base URL it names the code's entry on /docs.
  return { type: `/docs#${code}`, title, status, ...(detail ? { detail } : {}), code, ...extras };
}

/** How long a client is asked to wait (Retry-After, seconds) when the database is out of reach. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

/**
 * SQLSTATE classes and codes that say the database cannot serve anyone right now, not that this
 * request is wrong: 08 connection exceptions, 53 insufficient resources (disk full, out of memory,
 * too many connections), 57P01–57P03 (shut down by an administrator, crashed, still starting), and
 * the serialization failures and deadlocks still left after transactions.ts retried them.
 */
const PG_UNAVAILABLE = /^(08...|53...|57P0[123]|40001|40P01)$/;
/** Sockets that failed or never opened. */
const NETWORK_UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** SQLite: the disk is full, the disk failed, or another process kept the write lock past busy_timeout. */
const SQLITE_UNAVAILABLE = /^SQLITE_(FULL|IOERR|BUSY)/;
/** What pg says, without a code, about a connection that ended or could not be had in time. */
const PG_CONNECTION_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

function unavailableCause(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 4) return false;
  const { code, message, cause, errors } = error as {
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof code === 'string') {
    if (PG_UNAVAILABLE.test(code) || NETWORK_UNAVAILABLE.has(code) || SQLITE_UNAVAILABLE.test(code)) return true;
  }
  if (typeof message === 'string' && PG_CONNECTION_MESSAGES.test(message)) return true;
  // Node reports a refused connection to every address of a host as one AggregateError.
  if (Array.isArray(errors) && errors.some((inner) => unavailableCause(inner, depth + 1))) return true;
  return unavailableCause(cause, depth + 1);
}

/**
 * The 503 for an error that means storage is out of reach for now — PostgreSQL restarting or failing
 * over, a dropped connection, a full disk — or null for any other error. Only the requests in flight
 * get it; the pool reconnects by itself and SQLite writes again once space is freed.
 */
export function storageUnavailable(error: unknown): ApiError | null {
  if (error instanceof ApiError || !unavailableCause(error)) return null;
  return new ApiError(
    'UNAVAILABLE',
    `The database cannot be reached or written right now; nothing was recorded for this request. Retry in ${UNAVAILABLE_RETRY_AFTER_SECONDS} s.`,
  );
}
