import rateLimitPlugin from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import ipaddr from 'ipaddr.js';
import { UNLIMITED } from '../../src-shared/catalog.ts';
import { planOf } from './context.ts';
import { ApiError } from './errors.ts';
import { rateLimitRefusals } from './metrics.ts';

/**
 * Two budgets, as DESIGN.md describes:
 * - metered: the tier's `api_calls_per_hour`, per account, over every metered route together
 *   (consume, reserve, billable operations);
 * - housekeeping: a generous abuse limit for what the companion does on its own (sign-in, /v1/me,
 *   license, notifications, batch sync), per account and per IP, so a free user's companion never
 *   locks itself out by syncing.
 * Counters live in process memory, or in Redis when TOLLGATE_REDIS_URL is set so every server
 * process shares them.
 */

const METERED_WINDOW_MS = 3600 * 1000;
const HOUSEKEEPING_PER_ACCOUNT = { max: 600, timeWindow: 10 * 60 * 1000 };
const HOUSEKEEPING_PER_IP = { max: 3000, timeWindow: 10 * 60 * 1000 };
/** Admin routes per client: the dashboard makes a handful of calls a view; guessing tokens gets nowhere. */
const ADMIN_PER_IP = { max: 300, timeWindow: 10 * 60 * 1000 };
/** Sign-in attempts per client, right or wrong, beside the per-e-mail delays (accounts/sign-in-throttle.ts). */
const SIGN_IN_PER_IP = { max: 100, timeWindow: 10 * 60 * 1000 };

/**
 * The client a per-IP budget counts: the IPv4 address, or the /64 of an IPv6 address (one
 * subscriber is usually handed a whole /64, so counting single addresses would let it rotate
 * through 2^64 budgets). request.ip honours TOLLGATE_TRUST_PROXY.
 */
function clientOf(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') return address.toString();
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((part) => part.toString(16)).join(':')}::/64`;
}

type Check = ReturnType<FastifyInstance['createRateLimit']>;

interface Limiters {
  metered: Check;
  housekeepingAccount: Check;
  housekeepingIp: Check;
  admin: Check;
  signIn: Check;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The rate-limit counters, set up by installRateLimits; used through the hooks below. */
    limiters: Limiters;
  }
}

/** Call once on the root instance, before any route that uses the hooks below. */
export async function installRateLimits(app: FastifyInstance, redis: Redis | null): Promise<void> {
  await app.register(rateLimitPlugin, {
    global: false,
    // Fail open when Redis is unreachable: usage limits are enforced by the database regardless,
    // and an outage of the abuse counter should not take the billing API down with it.
    skipOnError: true,
    cache: 100_000,
    ...(redis ? { redis, nameSpace: 'tollgate-rl-' } : {}),
  });
  app.decorate('limiters', {
    metered: app.createRateLimit({
      timeWindow: METERED_WINDOW_MS,
      keyGenerator: (request) => `metered:${request.account?.id}`,
      max: async (request) => (await planOf(request)).plan.limits.api_calls_per_hour,
      allowList: async (request) => (await planOf(request)).plan.limits.api_calls_per_hour === UNLIMITED,
    }),
    housekeepingAccount: app.createRateLimit({
      ...HOUSEKEEPING_PER_ACCOUNT,
      keyGenerator: (request) => `housekeeping:${request.account?.id}`,
      allowList: (request) => request.account === null,
    }),
    housekeepingIp: app.createRateLimit({
      ...HOUSEKEEPING_PER_IP,
      keyGenerator: (request) => `ip:${clientOf(request.ip)}`,
    }),
    admin: app.createRateLimit({ ...ADMIN_PER_IP, keyGenerator: (request) => `admin:${clientOf(request.ip)}` }),
    signIn: app.createRateLimit({ ...SIGN_IN_PER_IP, keyGenerator: (request) => `sign-in:${clientOf(request.ip)}` }),
  });
}

async function enforce(budget: keyof Limiters, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const result = await request.server.limiters[budget](request);
  if (result.isAllowed) return;
  reply.header('x-ratelimit-limit', result.max);
  reply.header('x-ratelimit-remaining', result.remaining);
  reply.header('x-ratelimit-reset', result.ttlInSeconds);
  if (!result.isExceeded) return;
  reply.header('retry-after', result.ttlInSeconds);
  rateLimitRefusals.inc({ budget });
  throw new ApiError('RATE_LIMITED', `Too many requests; retry in ${result.ttlInSeconds} s.`, {
    limit: result.max,
    remaining: 0,
  });
}

/** preHandler for metered routes (after `authenticate`); applied by access.ts. */
export async function meteredRateLimit(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await enforce('metered', request, reply);
}

/** preHandler for housekeeping and guest routes, signed in or not; applied by access.ts. */
export async function housekeepingRateLimit(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await enforce('housekeepingIp', request, reply);
  await enforce('housekeepingAccount', request, reply);
}

/** onRequest for admin routes, before the token is even compared; applied by access.ts. */
export async function adminRateLimit(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await enforce('admin', request, reply);
}

/** preHandler of POST /v1/auth/sign-in, after the guest budget. */
export async function signInRateLimit(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await enforce('signIn', request, reply);
}

/**
 * For POST /v1/usage/events: a batch that counts usage is one call to the metered API like a
 * consume, so the hourly limit cannot be dodged by sending usage as batches. Called by the route
 * once the batch's events are checked, so a batch of nothing countable costs nothing.
 */
export async function countMeteredBatch(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await enforce('metered', request, reply);
}
