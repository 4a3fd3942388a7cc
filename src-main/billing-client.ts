import type { JSONWebKeySet } from 'jose';
import type { z } from 'zod';
import type { BillingCycle } from '../src-shared/api.ts';
import {
  CheckoutResponse,
  type CheckoutReturn,
  LicenseResponse,
  MeResponse,
  NotificationsResponse,
  PlansResponse,
  PortalResponse,
  Problem,
  Session,
  type UsageEvent,
  UsageEventsResponse,
} from '../src-shared/api.ts';
import type { TierId } from '../src-shared/catalog.ts';

/**
 * The companion's view of the billing server: the HTTP API of src-shared/api.ts, nothing else.
 * Never throws: an unreachable server is `offline`, an HTTP error is the server's problem+json.
 */

export type ApiFailure =
  | { kind: 'offline'; message: string }
  | { kind: 'problem'; status: number; problem: Problem; retryAfterSeconds?: number };
export type ApiOutcome<T> = { ok: true; value: T } | ({ ok: false } & ApiFailure);

export type Fetch = typeof fetch;

const REQUEST_TIMEOUT_MS = 15_000;

export class BillingClient {
  constructor(
    readonly serverUrl: string,
    private readonly fetchImpl: Fetch = fetch,
  ) {}

  signUp(email: string, password: string) {
    return this.call('POST', '/v1/auth/sign-up', Session, { body: { email, password } });
  }

  signIn(email: string, password: string) {
    return this.call('POST', '/v1/auth/sign-in', Session, { body: { email, password } });
  }

  refresh(refreshToken: string) {
    return this.call('POST', '/v1/auth/refresh', Session, { body: { refreshToken } });
  }

  signOut(accessToken: string, refreshToken: string) {
    return this.call('POST', '/v1/auth/sign-out', null, { body: { refreshToken }, accessToken });
  }

  me(accessToken: string) {
    return this.call('GET', '/v1/me', MeResponse, { accessToken });
  }

  plans() {
    return this.call('GET', '/v1/plans', PlansResponse, {});
  }

  license(accessToken: string, deviceId: string) {
    return this.call('GET', `/v1/license?deviceId=${encodeURIComponent(deviceId)}`, LicenseResponse, { accessToken });
  }

  jwks() {
    return this.call<JSONWebKeySet>('GET', '/.well-known/jwks.json', null, {});
  }

  sendUsage(accessToken: string, events: UsageEvent[]) {
    return this.call('POST', '/v1/usage/events', UsageEventsResponse, { body: { events }, accessToken });
  }

  notifications(accessToken: string) {
    return this.call('GET', '/v1/notifications', NotificationsResponse, { accessToken });
  }

  markNotificationRead(accessToken: string, id: string) {
    return this.call('POST', `/v1/notifications/${encodeURIComponent(id)}/read`, null, { accessToken, body: {} });
  }

  checkout(accessToken: string, tier: TierId, cycle: BillingCycle, returnTo: CheckoutReturn = 'browser') {
    const body = { tier, cycle, ...(returnTo === 'app' ? { returnTo } : {}) };
    return this.call('POST', '/v1/billing/checkout', CheckoutResponse, { body, accessToken });
  }

  portal(accessToken: string, returnTo: CheckoutReturn = 'browser') {
    const body = returnTo === 'app' ? { returnTo } : {};
    return this.call('POST', '/v1/billing/portal', PortalResponse, { body, accessToken });
  }

  private async call<T>(
    method: 'GET' | 'POST',
    path: string,
    schema: z.ZodType<T> | null,
    options: { body?: unknown; accessToken?: string },
  ): Promise<ApiOutcome<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.accessToken) headers.authorization = `Bearer ${options.accessToken}`;
    let response: Response;
    try {
      response = await this.fetchImpl(new URL(path, this.serverUrl), {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      return { ok: false, kind: 'offline', message: describeNetworkError(error) };
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) return { ok: false, ...problemOf(response, text) };
    try {
      const json: unknown = text === '' ? {} : JSON.parse(text);
      return { ok: true, value: schema ? schema.parse(json) : (json as T) };
    } catch {
      return {
        ok: false,
        kind: 'problem',
        status: 502,
        problem: problemBody(
          502,
          'BAD_RESPONSE',
          `The billing server answered ${path} with a body we do not understand.`,
        ),
      };
    }
  }
}

function problemOf(response: Response, text: string): ApiFailure {
  const retryAfter = Number(response.headers.get('retry-after'));
  const extra = Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {};
  try {
    const parsed = Problem.safeParse(JSON.parse(text));
    if (parsed.success) return { kind: 'problem', status: response.status, problem: parsed.data, ...extra };
  } catch {
    // Not JSON (a proxy's error page): described below.
  }
  return {
    kind: 'problem',
    status: response.status,
    problem: problemBody(response.status, `HTTP_${response.status}`, `The billing server answered ${response.status}.`),
    ...extra,
  };
}

function problemBody(status: number, code: string, detail: string): Problem {
  return { type: 'about:blank', title: detail, status, detail, code };
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  if ((error as Error).name === 'TimeoutError') return 'The billing server did not answer in time.';
  return `The billing server cannot be reached${cause ? ` (${cause})` : ''}.`;
}
