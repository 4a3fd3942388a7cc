import { z } from 'zod';
import type { SettingsStore } from './settings-store.ts';

/**
 * Secrets at rest (the access and refresh tokens). In Electron they are sealed with `safeStorage`
 * (the OS keychain); where that is unavailable — Linux without a keyring (safeStorage's
 * `basic_text` backend), plain Node —
 * they are stored as plaintext and the state says so, so the UI and `tollgate status` can warn.
 */
export interface SecretCipher {
  readonly scheme: 'safeStorage' | 'plaintext';
  seal(text: string): string;
  open(sealed: string): string;
}

export const plaintextCipher: SecretCipher = {
  scheme: 'plaintext',
  seal: (text) => text,
  open: (sealed) => sealed,
};

/** The part of Electron's safeStorage we use (passed in, so this file never imports Electron). */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(text: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only: which store the key lives in ('gnome_libsecret', 'kwallet5', … or 'basic_text'). */
  getSelectedStorageBackend?(): string;
}

export function cipherFor(safeStorage: SafeStorageLike | null): SecretCipher {
  if (!safeStorage?.isEncryptionAvailable()) return plaintextCipher;
  // Linux without a keyring: Electron "encrypts" with a password hard-coded in Chromium, which
  // protects nothing. Stored as what it is — plaintext — so the state and the UI say so.
  if (safeStorage.getSelectedStorageBackend?.() === 'basic_text') return plaintextCipher;
  return {
    scheme: 'safeStorage',
    seal: (text) => safeStorage.encryptString(text).toString('base64'),
    open: (sealed) => safeStorage.decryptString(Buffer.from(sealed, 'base64')),
  };
}

export const StoredSession = z.object({
  account: z.object({ id: z.string(), email: z.string() }),
  accessToken: z.string(),
  accessTokenExpiresAt: z.number(),
  refreshToken: z.string(),
});
export type StoredSession = z.infer<typeof StoredSession>;

const SESSION_KEY = 'session';

/** The signed-in session, sealed with the cipher before it touches the settings file. */
export class SessionVault {
  constructor(
    private readonly store: SettingsStore,
    readonly cipher: SecretCipher,
  ) {}

  load(): StoredSession | null {
    const stored = this.store.get(SESSION_KEY) as { scheme?: string; data?: string } | undefined;
    if (!stored || stored.scheme !== this.cipher.scheme || typeof stored.data !== 'string') return null;
    try {
      const session = StoredSession.safeParse(JSON.parse(this.cipher.open(stored.data)));
      return session.success ? session.data : null;
    } catch {
      // Sealed by another keychain (or damaged): the user signs in again.
      return null;
    }
  }

  save(session: StoredSession): void {
    this.store.set(SESSION_KEY, { scheme: this.cipher.scheme, data: this.cipher.seal(JSON.stringify(session)) });
  }

  clear(): void {
    this.store.delete(SESSION_KEY);
  }
}
