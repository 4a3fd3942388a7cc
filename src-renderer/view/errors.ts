import type { ProblemView } from '../../src-shared/contract.ts';
import type { ErrorCode } from '../../src-shared/error-codes.ts';

/**
 * Account form errors in plain words, for the codes a user can act on. Main passes the server's
 * stable codes through (src-shared/error-codes.ts); the table is keyed by that enum, so a code that
 * exists nowhere does not compile. Any other code shows main's own message — among them
 * COMPANION_UNREACHABLE, whose message the bridge words itself (it is not the billing server).
 */
const ACCOUNT_ERROR_WORDS = {
  INVALID_CREDENTIALS: 'Wrong email or password.',
  EMAIL_TAKEN: 'An account with this email already exists. Sign in instead.',
  SERVER_UNREACHABLE: "Can't reach the billing server. Check your connection and try again.",
  UNAVAILABLE: 'The billing server is not available right now. Try again in a few minutes.',
} as const satisfies Partial<Record<ErrorCode, string>>;

function isWorded(code: string): code is keyof typeof ACCOUNT_ERROR_WORDS {
  return Object.hasOwn(ACCOUNT_ERROR_WORDS, code);
}

export function accountErrorMessage(error: ProblemView): string {
  if (isWorded(error.code)) return ACCOUNT_ERROR_WORDS[error.code];
  return error.message || 'Something went wrong. Try again.';
}
