import type { Session } from '../src-shared/api.ts';
import { ok } from '../src-shared/result.ts';
import type { ApiFailure, ApiOutcome, BillingClient } from './billing-client.ts';
import type { SessionVault, StoredSession } from './secrets.ts';

/**
 * The signed-in session: sign-in/up/out against the server, tokens sealed in the vault, the access
 * token refreshed a minute before it expires (or when the server says 401).
 */

const REFRESH_MARGIN_MS = 60_000;

export class Auth {
  private session: StoredSession | null;
  private refreshing: Promise<ApiOutcome<StoredSession>> | null = null;

  constructor(
    private readonly client: BillingClient,
    private readonly vault: SessionVault,
    private readonly clock: () => number,
    private readonly onChange: (session: StoredSession | null) => void,
  ) {
    this.session = vault.load();
  }

  get current(): StoredSession | null {
    return this.session;
  }

  async signIn(email: string, password: string): Promise<ApiOutcome<StoredSession>> {
    return this.adopt(await this.client.signIn(email, password));
  }

  async signUp(email: string, password: string): Promise<ApiOutcome<StoredSession>> {
    return this.adopt(await this.client.signUp(email, password));
  }

  /** Forgets the session here even when the server cannot be told (offline). */
  async signOut(): Promise<void> {
    const session = this.session;
    this.set(null);
    if (session) await this.client.signOut(session.accessToken, session.refreshToken);
  }

  /** A usable access token: null when signed out; a failure when the server cannot be reached. */
  accessToken(forceRefresh = false): Promise<ApiOutcome<string | null>> {
    return this.token(forceRefresh, true);
  }

  private async token(forceRefresh: boolean, retryJoined: boolean): Promise<ApiOutcome<string | null>> {
    const session = this.session;
    if (!session) return ok(null);
    if (!forceRefresh && session.accessTokenExpiresAt - REFRESH_MARGIN_MS > this.clock()) {
      return ok(session.accessToken);
    }
    const joined = this.refreshing !== null;
    this.refreshing ??= this.client
      .refresh(session.refreshToken)
      .then((outcome) => this.adopt(outcome))
      .finally(() => {
        this.refreshing = null;
      });
    const refreshed = await this.refreshing;
    if (refreshed.ok) return ok(refreshed.value.accessToken);
    // A refresh already on its way when this caller came (a sync's, begun while offline) failed
    // to reach the server: that says nothing of now, when the network may be back (a click right
    // after it returns). Try once more with a refresh of this caller's own.
    if (joined && retryJoined && refreshed.error.kind === 'offline') return this.token(forceRefresh, false);
    if (isAuthRejection(refreshed.error)) {
      // The refresh token itself was refused (revoked, expired): the user must sign in again.
      this.set(null);
      return ok(null);
    }
    return refreshed;
  }

  private adopt(outcome: ApiOutcome<Session>): ApiOutcome<StoredSession> {
    if (!outcome.ok) return outcome;
    const { account, accessToken, accessTokenExpiresAt, refreshToken } = outcome.value;
    const session: StoredSession = {
      account: { id: account.id, email: account.email },
      accessToken,
      accessTokenExpiresAt: Date.parse(accessTokenExpiresAt),
      refreshToken,
    };
    this.set(session);
    return ok(session);
  }

  private set(session: StoredSession | null): void {
    this.session = session;
    if (session) this.vault.save(session);
    else this.vault.clear();
    this.onChange(session);
  }
}

export function isAuthRejection(failure: ApiFailure): boolean {
  return failure.kind === 'problem' && (failure.status === 401 || failure.status === 403);
}
