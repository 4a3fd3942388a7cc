import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cipherFor, plaintextCipher, type SafeStorageLike, SessionVault } from '../../../src-main/secrets.ts';
import { openNodeStore } from '../../../src-main/settings-store.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-secrets-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const session = {
  account: { id: 'acct_1', email: 'ada@example.com' },
  accessToken: 'access-token-SECRET-1234',
  accessTokenExpiresAt: 1_800_000_000_000,
  refreshToken: 'refresh-token-SECRET-5678',
};

/** A stand-in for Electron's safeStorage: a keychain-held key we do not have on this machine. */
const keychain = (available: boolean, key = 7): SafeStorageLike => ({
  isEncryptionAvailable: () => available,
  encryptString: (text) => Buffer.from([...Buffer.from(text)].map((byte) => byte ^ key)),
  decryptString: (data) => Buffer.from([...data].map((byte) => byte ^ key)).toString(),
});

const settingsFile = () => readFileSync(join(dir, 'companion.json'), 'utf8');

describe('secrets at rest', () => {
  it('seals the tokens with safeStorage when it is available: the settings file never holds them', () => {
    const vault = new SessionVault(openNodeStore(dir), cipherFor(keychain(true)));
    vault.save(session);
    expect(vault.cipher.scheme).toBe('safeStorage');
    expect(settingsFile()).not.toContain('SECRET');
    expect(new SessionVault(openNodeStore(dir), cipherFor(keychain(true))).load()).toEqual(session);
  });

  it('falls back to visible plaintext when no keychain is available, in an owner-only file', () => {
    const cipher = cipherFor(keychain(false));
    expect(cipher).toBe(plaintextCipher);
    new SessionVault(openNodeStore(dir), cipher).save(session);
    expect(settingsFile()).toContain('SECRET');
    expect(statSync(join(dir, 'companion.json')).mode & 0o777).toBe(0o600);
  });

  it('signs the user out rather than misreading tokens sealed by another keychain', () => {
    new SessionVault(openNodeStore(dir), cipherFor(keychain(true, 7))).save(session);
    expect(new SessionVault(openNodeStore(dir), plaintextCipher).load()).toBeNull();
    expect(new SessionVault(openNodeStore(dir), cipherFor(keychain(true, 9))).load()).toBeNull();
  });
});
