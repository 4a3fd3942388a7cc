import type { FastifyInstance, onRequestHookHandler, preHandlerHookHandler, RouteOptions } from 'fastify';
import { authenticate, requireAdmin } from '../accounts/auth.ts';
import { adminRateLimit, housekeepingRateLimit, meteredRateLimit } from './rate-limit.ts';

/**
 * Who may call a route and which budget it counts against, declared once per route as
 * `config: { access: 'metered' }` and applied here by an onRoute hook:
 * - `public`: anyone, no budget (the docs, health check, JWKS, Stripe webhooks, checkout pages);
 * - `guest`: anyone, counted against the per-IP housekeeping limit (plans, sign-up, sign-in, refresh);
 * - `housekeeping`: a signed-in account's companion traffic (/v1/me, license, notifications, batch
 *   sync, billing), per-account and per-IP housekeeping limits;
 * - `metered`: a signed-in account's own calls to the metered API (consume, reserve, billable
 *   operations), counted against the plan's `api_calls_per_hour`;
 * - `admin`: TOLLGATE_ADMIN_TOKEN only.
 * Every non-public route is documented with bearer security in /openapi.json. Authentication runs
 * as an onRequest hook (before the body is parsed), the budget as the first preHandler (after
 * validation, before a billable route reserves anything).
 */

const ACCESS_LEVELS = ['public', 'guest', 'housekeeping', 'metered', 'admin'] as const;
type Access = (typeof ACCESS_LEVELS)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route: see src-server/http/access.ts. Required on every /v1/ route. */
    access?: Access;
  }
  interface FastifyInstance {
    /** Set once installAccess has run; route hooks that need request.account depend on it. */
    accessInstalled: true;
  }
}

const HOOKS: Record<Access, { onRequest?: onRequestHookHandler; preHandler?: preHandlerHookHandler }> = {
  public: {},
  guest: { preHandler: housekeepingRateLimit },
  housekeeping: { onRequest: authenticate, preHandler: housekeepingRateLimit },
  metered: { onRequest: authenticate, preHandler: meteredRateLimit },
  admin: {
    onRequest: async (request, reply) => {
      await adminRateLimit(request, reply);
      await requireAdmin(request, reply);
    },
  },
};

/** Whether a route's callers must send a bearer token. */
function needsBearer(access: Access): boolean {
  return access !== 'public' && access !== 'guest';
}

const BEARER = [{ bearer: [] }];

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Call once on the root instance, before any route and before the hooks that read request.account. */
export function installAccess(app: FastifyInstance): void {
  if (!app.hasDecorator('limiters')) throw new Error('installAccess needs installRateLimits first');
  app.decorate('accessInstalled', true);
  app.addHook('onRoute', (route: RouteOptions) => {
    const access = route.config?.access;
    if (access === undefined) {
      // Forgetting it must not make an API route open to anyone: refuse to start instead.
      if (route.url.startsWith('/v1/')) throw new Error(`${route.method} ${route.url} declares no config.access`);
      return;
    }
    const hooks = HOOKS[access];
    if (hooks.onRequest) route.onRequest = [hooks.onRequest, ...asArray(route.onRequest)];
    if (hooks.preHandler) route.preHandler = [hooks.preHandler, ...asArray(route.preHandler)];
    if (needsBearer(access)) route.schema = { ...route.schema, security: BEARER };
  });
}
