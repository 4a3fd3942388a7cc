import { describe, expect, it } from 'vitest';
import { accountErrorMessage } from '../../../src-renderer/view/errors.ts';

const message = (code: string, text = 'raw message') => accountErrorMessage({ code, message: text });

describe('account form errors', () => {
  it('says wrong password plainly', () => {
    expect(message('INVALID_CREDENTIALS')).toBe('Wrong email or password.');
    expect(message('WRONG_PASSWORD')).toBe('Wrong email or password.');
  });

  it('says the email is taken', () => {
    expect(message('EMAIL_TAKEN')).toBe('An account with this email already exists. Sign in instead.');
    expect(message('ACCOUNT_EXISTS')).toBe('An account with this email already exists. Sign in instead.');
  });

  it('says the server cannot be reached', () => {
    expect(message('SERVER_UNREACHABLE')).toBe("Can't reach the billing server. Check your connection and try again.");
  });

  it('keeps the companion-gone message apart from the server being unreachable', () => {
    expect(message('COMPANION_UNREACHABLE', 'The companion app is not answering.')).toBe(
      'The companion app is not answering.',
    );
  });

  it('does not blame the password for a refused companion token', () => {
    expect(message('UNAUTHORIZED', 'Missing or wrong token.')).toBe('Missing or wrong token.');
  });

  it("shows main's own words for anything else", () => {
    expect(message('INVALID_PARAMS', 'password: use at least 10 characters')).toBe(
      'password: use at least 10 characters',
    );
  });
});
