import type { z } from 'zod';
import type { BillingCycle, CheckoutReturn, UpgradePromptBody, UsageEvent } from '../src-shared/api.ts';
import { Problem } from '../src-shared/api.ts';
import type { TierId } from '../src-shared/catalog.ts';
import { knownProblemCode, type ProblemCode } from '../src-shared/error-codes.ts';
import { err, type Failure, ok, type Result } from '../src-shared/result.ts';
import {
  type RouteBody,
  type RouteQuery,
  type RouteResponse,
  routePath,
  SERVER_ROUTES,
  type ServerRouteName,
} from '../src-shared/routes.ts';
import type { DeviceDescription } from './device-id.ts';

/**
 * The companion's view of the billing server: the routes of src-shared/routes.ts, nothing else.
 * Never throws: an unreachable server is `offline`, an HTTP error is the server's problem+json.
 */

/** A failed call: `code`/`message` as the companion passes them on; `kind` says whether the server answered. */
export type ApiFailure = Failure<ApiFailureCode> &
  ({ kind: 'offline' } | { kind: 'problem'; status: number; problem: Problem; retryAfterSeconds?: number });
/** The server's problem codes, or the companion's own when the server did not (intelligibly) answer. */
type ApiFailureCode = ProblemCode | 'SERVER_UNREACHABLE' | 'BAD_RESPONSE';
export type ApiOutcome<T> = Result<T, ApiFailure>;

export type Fetch = typeof fetch;

const REQUEST_TIMEOUT_MS = 15_000;

type Call<R extends ServerRouteName> = {
  accessToken?: string;
  params?: Record<string, string>;
} & (RouteBody<R> extends undefined ? { body?: undefined } : { body: RouteBody<R> }) &
  (RouteQuery<R> extends undefined ? { query?: undefined } : { query: RouteQuery<R> });

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Passwords, sessions and licenses cross this connection: https://, or plain http:// only to this
 * machine. Throws an error naming the setting to fix.
 */
export function requireSecureServerUrl(url: URL): void {
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) return;
  throw new Error(
    `The billing server URL "${url.href}" must use https:// (plain http:// only for 127.0.0.1, localhost ` +
      'or [::1]): fix --server or TOLLGATE_SERVER_URL.',
  );
}

export class BillingClient {
  constructor(
    readonly serverUrl: string,
    private readonly fetchImpl: Fetch = fetch,
  ) {
    requireSecureServerUrl(new URL(serverUrl));
  }

  signUp(email: string, password: string) {
    return this.call('signUp', { body: { email, password } });
  }

  signIn(email: string, password: string) {
    return this.call('signIn', { body: { email, password } });
  }

  refresh(refreshToken: string) {
    return this.call('refresh', { body: { refreshToken } });
  }

  signOut(accessToken: string, refreshToken: string) {
    return this.call('signOut', { body: { refreshToken }, accessToken });
  }

  me(accessToken: string) {
    return this.call('me', { accessToken });
  }

  plans() {
    return this.call('plans', {});
  }

  /**
   * `reactivate`: take this device back if the user released it (they just signed in on it).
   * `nonce`: fresh per request; the server signs it into the license (docs/api.md, "License").
   */
  license(accessToken: string, deviceId: string, description: DeviceDescription, reactivate = false, nonce?: string) {
    const query = {
      deviceId,
      ...description,
      ...(reactivate ? { reactivate: 'true' as const } : {}),
      ...(nonce ? { nonce } : {}),
    };
    return this.call('license', { query, accessToken });
  }

  /**
   * `device`: the sending device, whose events are spent first from its leases, and where its usage
   * journal stands (its last durable line's <seq>) for the server's record of it (usage-journal.ts).
   */
  sendUsage(accessToken: string, events: UsageEvent[], device?: { deviceId: string; seq: number }) {
    const extra = device ? { deviceId: device.deviceId, journal: device } : {};
    return this.call('sendUsage', { body: { events, ...extra }, accessToken });
  }

  leases(accessToken: string, deviceId: string, pending: Record<string, number>) {
    return this.call('leases', { body: { deviceId, pending }, accessToken });
  }

  notifications(accessToken: string) {
    return this.call('notifications', { accessToken });
  }

  devices(accessToken: string) {
    return this.call('devices', { accessToken });
  }

  releaseDevice(accessToken: string, deviceId: string) {
    return this.call('releaseDevice', { params: { deviceId }, accessToken });
  }

  markNotificationRead(accessToken: string, id: string) {
    return this.call('markNotificationRead', { params: { id }, body: {}, accessToken });
  }

  /** The catalog's cardless trial, for this account on this device (once per account and per device). */
  startTrial(accessToken: string, deviceId: string) {
    return this.call('startTrial', { body: { deviceId }, accessToken });
  }

  /** The funnel's "upgrade prompt shown" (idempotent per prompt key on the server). */
  reportUpgradePrompt(accessToken: string, prompt: UpgradePromptBody) {
    return this.call('upgradePrompt', { body: prompt, accessToken });
  }

  checkout(accessToken: string, tier: TierId, cycle: BillingCycle, returnTo: CheckoutReturn = 'browser') {
    const body = { tier, cycle, ...(returnTo === 'app' ? { returnTo } : {}) };
    return this.call('checkout', { body, accessToken });
  }

  portal(accessToken: string, returnTo: CheckoutReturn = 'browser') {
    const body = returnTo === 'app' ? { returnTo } : {};
    return this.call('portal', { body, accessToken });
  }

  private async call<R extends ServerRouteName>(name: R, options: Call<R>): Promise<ApiOutcome<RouteResponse<R>>> {
    const route = SERVER_ROUTES[name];
    const url = new URL(routePath(route.path, options.params), this.serverUrl);
    for (const [key, value] of Object.entries((options.query ?? {}) as Record<string, string>)) {
      url.searchParams.set(key, value);
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.accessToken) headers.authorization = `Bearer ${options.accessToken}`;
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method: route.method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      return err({ kind: 'offline', code: 'SERVER_UNREACHABLE', message: describeNetworkError(error) });
    }
    const text = await response.text().catch(() => '');
    // A problem with a 2xx status (202 ACCOUNT_CLAIM_SENT: nobody was signed in) is still no Session.
    const problem = response.headers.get('content-type')?.startsWith('application/problem+json');
    if (!response.ok || problem) return err(problemOf(response, text));
    const parsed = parseJson(text, route.response as z.ZodType<RouteResponse<R>>);
    if (parsed !== undefined) return ok(parsed);
    return err(
      problemFailure(
        502,
        problemBody(502, 'BAD_RESPONSE', `The billing server answered ${route.path} with a body we do not understand.`),
      ),
    );
  }
}

function parseJson<T>(text: string, schema: z.ZodType<T>): T | undefined {
  try {
    const parsed = schema.safeParse(text === '' ? {} : JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function problemOf(response: Response, text: string): ApiFailure {
  const retryAfter = Number(response.headers.get('retry-after'));
  const extra = Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {};
  try {
    const parsed = Problem.safeParse(JSON.parse(text));
    if (parsed.success) return { ...problemFailure(response.status, parsed.data), ...extra };
  } catch {
    // Not JSON (a proxy's error page): described below.
  }
  return {
    ...problemFailure(
      response.status,
      problemBody(response.status, `HTTP_${response.status}`, `The billing server answered ${response.status}.`),
    ),
    ...extra,
  };
}

function problemFailure(status: number, problem: Problem): ApiFailure {
  return {
    kind: 'problem',
    status,
    problem,
    code: knownProblemCode(problem.code) ?? 'BAD_RESPONSE',
    message: problem.detail ?? problem.title,
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
