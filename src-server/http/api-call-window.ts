import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * "API calls this hour" for GET /v1/me. The metered limiter (@fastify/rate-limit, rate-limit.ts)
 * keeps its counts inside the plugin's store, which offers no way to read a count without adding a
 * call to it. What it does publish is its answer on every metered call: x-ratelimit-limit,
 * -remaining and -reset. This remembers that answer per account, so the count shown is the
 * limiter's own, as of the account's last metered call; once the window has reset it reads 0.
 *
 * The memory is per server process: with several processes sharing counters in Redis, an account's
 * count is the one the process that served its last metered call saw (docs/companion.md).
 */

interface Seen {
  used: number;
  resetsAt: number;
}

/** Accounts remembered at most (the limiter's own cache holds 100,000 keys). */
const MAX_ACCOUNTS = 100_000;

class ApiCallWindows {
  private readonly seen = new Map<string, Seen>();

  record(accountId: string, limit: number, remaining: number, resetsAt: number): void {
    // Re-inserting keeps the Map in least-recently-used order, so the oldest entry goes first.
    this.seen.delete(accountId);
    this.seen.set(accountId, { used: Math.max(0, limit - remaining), resetsAt });
    if (this.seen.size > MAX_ACCOUNTS) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }

  /** Calls counted in the account's current window, and when it resets (null: no window open). */
  read(accountId: string, now: number): { used: number; resetsAt: string | null } {
    const seen = this.seen.get(accountId);
    if (!seen || seen.resetsAt <= now) return { used: 0, resetsAt: null };
    return { used: seen.used, resetsAt: new Date(seen.resetsAt).toISOString() };
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    apiCallWindows: ApiCallWindows;
  }
}

function header(reply: FastifyReply, name: string): number | null {
  const value = Number(reply.getHeader(name));
  return Number.isFinite(value) ? value : null;
}

/** Call once on the root instance, before the routes are registered. */
export function installApiCallWindows(app: FastifyInstance): void {
  const windows = new ApiCallWindows();
  app.decorate('apiCallWindows', windows);
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (request.routeOptions.config.access !== 'metered' || !request.account) return payload;
    const limit = header(reply, 'x-ratelimit-limit');
    const remaining = header(reply, 'x-ratelimit-remaining');
    const reset = header(reply, 'x-ratelimit-reset');
    // No headers: the plan is unlimited (the limiter lets it through uncounted).
    if (limit === null || remaining === null || reset === null) return payload;
    windows.record(request.account.id, limit, remaining, request.server.tollgate.now() + reset * 1000);
    return payload;
  });
}
