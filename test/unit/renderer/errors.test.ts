import { describe, expect, it } from 'vitest';
import { accountErrorMessage } from '../../../src-renderer/view/errors.ts';
import type { ErrorCode } from '../../../src-shared/error-codes.ts';

const message = (code: ErrorCode, text = 'raw message') => accountErrorMessage({ code, message: text });

describe('account form errors', () => {
  it('says wrong password plainly', () => {
    expect(message('INVALID_CREDENTIALS', 'Email or password is wrong')).toBe('Wrong email or password.');
  });

  it('says the email is taken and to sign in instead', () => {
    expect(message('EMAIL_TAKEN')).toBe('An account with this email already exists. Sign in instead.');
  });

  it('says the server cannot be reached, whatever the network error was', () => {
    expect(message('SERVER_UNREACHABLE', 'fetch failed')).toBe(
      "Can't reach the billing server. Check your connection and try again.",
    );
  });

  it('says the server is not available right now', () => {
    expect(message('UNAVAILABLE', 'The service is temporarily unavailable')).toBe(
      'The billing server is not available right now. Try again in a few minutes.',
    );
  });

  it("passes the server's words on for too many attempts, since they say when to retry", () => {
    expect(message('RATE_LIMITED', 'Too many requests; retry in 42 s.')).toBe('Too many requests; retry in 42 s.');
  });

  it('keeps the companion-gone message apart from the server being unreachable', () => {
    expect(message('COMPANION_UNREACHABLE', 'The companion app is not answering.')).toBe(
      'The companion app is not answering.',
    );
  });

  it('does not blame the password for a refused companion token', () => {
    expect(message('UNAUTHORIZED', 'Missing or wrong token.')).toBe('Missing or wrong token.');
  });

  it("shows main's own words for a rejected field", () => {
    expect(message('INVALID_PARAMS', 'password: use at least 10 characters')).toBe(
      'password: use at least 10 characters',
    );
    expect(message('VALIDATION_FAILED', 'email: expected an email address')).toBe('email: expected an email address');
  });

  it('matches codes exactly: a code Tollgate never sends gets no special words', () => {
    expect(accountErrorMessage({ code: 'WRONG_PASSWORD', message: 'raw' })).toBe('raw');
    expect(accountErrorMessage({ code: 'toString', message: 'raw' })).toBe('raw');
    expect(accountErrorMessage({ code: 'INTERNAL', message: '' })).toBe('Something went wrong. Try again.');
  });
});
