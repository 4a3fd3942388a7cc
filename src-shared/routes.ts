import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';
import {
  CheckoutBody,
  CheckoutResponse,
  DevicesResponse,
  LeaseBody,
  LeaseResponse,
  LicenseQuery,
  LicenseResponse,
  MeResponse,
  NotificationsResponse,
  PlansResponse,
  PortalBody,
  PortalResponse,
  RefreshBody,
  Session,
  SignInBody,
  SignOutBody,
  SignUpBody,
  TrialBody,
  TrialResponse,
  UpgradePromptBody,
  UpgradePromptResponse,
  UsageEventsBody,
  UsageEventsResponse,
} from './api.ts';

/**
 * The server routes the companion calls: method, path and the schemas of what goes and comes back,
 * written once. The companion's billing client is generated from this table; the server's routes
 * use the same schemas from api.ts. `:name` in a path is a parameter.
 */

const Anything = z.unknown();
const Jwks = z.custom<JSONWebKeySet>((value) => typeof value === 'object' && value !== null);

export const SERVER_ROUTES = {
  signUp: { method: 'POST', path: '/v1/auth/sign-up', auth: false, body: SignUpBody, response: Session },
  signIn: { method: 'POST', path: '/v1/auth/sign-in', auth: false, body: SignInBody, response: Session },
  refresh: { method: 'POST', path: '/v1/auth/refresh', auth: false, body: RefreshBody, response: Session },
  signOut: { method: 'POST', path: '/v1/auth/sign-out', auth: true, body: SignOutBody, response: Anything },
  me: { method: 'GET', path: '/v1/me', auth: true, response: MeResponse },
  plans: { method: 'GET', path: '/v1/plans', auth: false, response: PlansResponse },
  license: { method: 'GET', path: '/v1/license', auth: true, query: LicenseQuery, response: LicenseResponse },
  jwks: { method: 'GET', path: '/.well-known/jwks.json', auth: false, response: Jwks },
  sendUsage: {
    method: 'POST',
    path: '/v1/usage/events',
    auth: true,
    body: UsageEventsBody,
    response: UsageEventsResponse,
  },
  leases: { method: 'POST', path: '/v1/leases', auth: true, body: LeaseBody, response: LeaseResponse },
  notifications: { method: 'GET', path: '/v1/notifications', auth: true, response: NotificationsResponse },
  devices: { method: 'GET', path: '/v1/devices', auth: true, response: DevicesResponse },
  releaseDevice: { method: 'DELETE', path: '/v1/devices/:deviceId', auth: true, response: Anything },
  markNotificationRead: {
    method: 'POST',
    path: '/v1/notifications/:id/read',
    auth: true,
    body: z.strictObject({}),
    response: Anything,
  },
  startTrial: { method: 'POST', path: '/v1/trial', auth: true, body: TrialBody, response: TrialResponse },
  checkout: {
    method: 'POST',
    path: '/v1/billing/checkout',
    auth: true,
    body: CheckoutBody,
    response: CheckoutResponse,
  },
  portal: {
    method: 'POST',
    path: '/v1/billing/portal',
    auth: true,
    body: PortalBody,
    response: PortalResponse,
  },
  upgradePrompt: {
    method: 'POST',
    path: '/v1/upgrade-prompts',
    auth: true,
    body: UpgradePromptBody,
    response: UpgradePromptResponse,
  },
} as const satisfies Record<
  string,
  {
    method: 'GET' | 'POST' | 'DELETE';
    path: string;
    auth: boolean;
    body?: z.ZodType;
    query?: z.ZodType;
    response: z.ZodType;
  }
>;

export type ServerRouteName = keyof typeof SERVER_ROUTES;
type Route<R extends ServerRouteName> = (typeof SERVER_ROUTES)[R];
export type RouteBody<R extends ServerRouteName> =
  Route<R> extends { body: z.ZodType } ? z.input<Route<R>['body']> : undefined;
export type RouteQuery<R extends ServerRouteName> =
  Route<R> extends { query: z.ZodType } ? z.input<Route<R>['query']> : undefined;
export type RouteResponse<R extends ServerRouteName> = z.output<Route<R>['response']>;

/** `/v1/notifications/:id/read` with `{ id }` → `/v1/notifications/n_1/read`, each value URL-encoded. */
export function routePath(path: string, params: Record<string, string> = {}): string {
  return path.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`Missing route parameter ${name} for ${path}`);
    return encodeURIComponent(value);
  });
}
