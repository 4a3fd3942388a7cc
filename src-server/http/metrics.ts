import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { ApiError } from './errors.ts';

/**
 * Prometheus metrics of this server process, served at GET /metrics (docs/operations.md,
 * "Metrics"). The HTTP ones are taken by hooks here; the domains report theirs with one call each
 * (`webhookEvents.inc(…)` in payments, `groupCommitSizes.observe(…)` in metering, `watchPool(…)`
 * in db/connection.ts), so those files stay about their own work. Counts are per process: one
 * registry holds every app the process builds (tests build several).
 */
const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'tollgate_process_' });

const httpRequests = new Counter({
  name: 'tollgate_http_requests_total',
  help: 'HTTP requests answered, by method, route pattern and status code',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});

const USAGE_ROUTES: Record<string, 'consume' | 'batch'> = {
  '/v1/usage/consume': 'consume',
  '/v1/usage/events': 'batch',
};

const usageSeconds = new Histogram({
  name: 'tollgate_usage_request_seconds',
  help: 'Latency of consume and batch requests, by kind and status code',
  labelNames: ['kind', 'status'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

/** Usage events decided, by how they came (consume or batch) and their verdict. */
export const usageOutcomes = new Counter({
  name: 'tollgate_usage_events_total',
  help: 'Usage events decided, by kind (consume, batch) and outcome (accepted, duplicate, rejected)',
  labelNames: ['kind', 'outcome'] as const,
  registers: [registry],
});

/** Requests refused by a rate limit, by budget. */
export const rateLimitRefusals = new Counter({
  name: 'tollgate_rate_limit_refusals_total',
  help: 'Requests refused with 429, by budget (metered, housekeepingAccount, housekeepingIp, admin, signIn, signInEmail)',
  labelNames: ['budget'] as const,
  registers: [registry],
});

/** Stripe webhook events received, by event type and result (applied, duplicate, failed). */
export const webhookEvents = new Counter({
  name: 'tollgate_webhook_events_total',
  help: 'Payment webhook events, by event type and result',
  labelNames: ['type', 'result'] as const,
  registers: [registry],
});

/** How many consumes and batches shared one commit (group commit). */
export const groupCommitSizes = new Histogram({
  name: 'tollgate_group_commit_size',
  help: 'Jobs (consumes, batches) committed together in one database transaction',
  labelNames: ['dialect'] as const,
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  registers: [registry],
});

const pools = new Set<pg.Pool>();

/** Reports a PostgreSQL pool's connections in tollgate_db_pool_connections until it ends. */
export function watchPool(pool: pg.Pool): void {
  pools.add(pool);
}

new Gauge({
  name: 'tollgate_db_pool_connections',
  help: 'PostgreSQL pool connections by state (total, idle, waiting clients) over every open pool',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    let total = 0;
    let idle = 0;
    let waiting = 0;
    for (const pool of pools) {
      if (pool.ended) {
        pools.delete(pool);
        continue;
      }
      total += pool.totalCount;
      idle += pool.idleCount;
      waiting += pool.waitingCount;
    }
    this.set({ state: 'total' }, total);
    this.set({ state: 'idle' }, idle);
    this.set({ state: 'waiting' }, waiting);
  },
});

/**
 * Counts every answered request and serves GET /metrics. With TOLLGATE_METRICS_TOKEN set, /metrics
 * asks for it as a bearer token; unset, it is open (keep it off the public network, as usual).
 */
export function installMetrics(app: FastifyInstance, token: string | null): void {
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the raw URL: ids and query strings would make unbounded labels.
    const route = request.routeOptions.url ?? 'unmatched';
    const status = String(reply.statusCode);
    httpRequests.inc({ method: request.method, route, status });
    const kind = USAGE_ROUTES[route];
    if (kind) usageSeconds.observe({ kind, status }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    if (token !== null && !sameSecret(request.headers.authorization ?? '', `Bearer ${token}`)) {
      throw new ApiError('UNAUTHENTICATED', 'Send Authorization: Bearer <TOLLGATE_METRICS_TOKEN>.');
    }
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}

/** Constant-time whatever the lengths: both sides are hashed first. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
