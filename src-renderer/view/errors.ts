import type { ProblemView } from '../../src-shared/contract.ts';

/**
 * Account form errors in plain words. Main passes the server's stable codes through; the words for
 * the three errors a user can act on are fixed here, anything else shows main's own message.
 */
export function accountErrorMessage(error: ProblemView): string {
  const code = error.code.toUpperCase();
  // The web bridge's own error when the companion process does not answer: not the billing server.
  if (code === 'COMPANION_UNREACHABLE') return error.message;
  if (/CREDENTIAL|WRONG_PASSWORD/.test(code)) return 'Wrong email or password.';
  if (/TAKEN|EXISTS|CONFLICT|DUPLICATE/.test(code)) {
    return 'An account with this email already exists. Sign in instead.';
  }
  if (/UNREACHABLE|OFFLINE|NETWORK|TIMEOUT|SERVER_DOWN/.test(code)) {
    return "Can't reach the billing server. Check your connection and try again.";
  }
  return error.message || 'Something went wrong. Try again.';
}
