import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { decide } from '../../src-shared/decisions.ts';
import { newId } from '../db/ids.ts';
import { accountOf, planOf } from '../http/context.ts';
import { ApiError } from '../http/errors.ts';
import { reserve, settleReservation } from './reservations.ts';

/**
 * The billable route option (the seed's decorator, done right). A route with
 *   config: { billable: { operation: 'ai_operations', units: (request) => 1 } }
 * reserves the units after authentication and validation and before its handler runs (402 when
 * the limit is reached, so no work is done that cannot be paid for), commits them when the
 * response is a success and releases them when it is an error. An optional size gate refuses
 * projects larger than the plan's `max_project_size_mb` before anything is reserved.
 */

interface BillableOption {
  operation: string;
  /** Units the request costs (default 1); may read the validated body. */
  units?: (request: FastifyRequest) => number;
  /** The project size in MB the request works on, checked against `max_project_size_mb`. */
  sizeMb?: (request: FastifyRequest) => number | undefined;
  /** How long the hold lasts if the process dies mid-request (default 15 min). */
  ttlSeconds?: number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Makes a route billable: see above. */
    billable?: BillableOption;
  }
}

const holds = new WeakMap<FastifyRequest, string>();

async function reserveUnits(request: FastifyRequest): Promise<void> {
  const option = request.routeOptions.config.billable as BillableOption;
  const { db, dialect, catalog, now } = request.server.tollgate;
  const { plan } = await planOf(request);
  const sizeMb = option.sizeMb?.(request);
  if (sizeMb !== undefined) {
    const decision = decide(
      { catalog, plan: { tier: plan.tier, limits: plan.limits, features: plan.features, standing: 'ok' } },
      { kind: 'size', sizeMb },
    );
    if (!decision.allowed) {
      throw new ApiError('SIZE_LIMIT_EXCEEDED', `A ${sizeMb} MB project is over the ${decision.limit} MB limit.`, {
        ...(decision.limit === undefined ? {} : { limit: decision.limit }),
        ...(decision.upgrade ? { upgrade: decision.upgrade } : {}),
      });
    }
  }
  if (!Object.hasOwn(catalog.operations, option.operation)) throw new ApiError('UNKNOWN_OPERATION');
  const { reservation } = await reserve(
    { db, dialect, catalog },
    accountOf(request).id,
    plan,
    {
      operation: option.operation,
      units: option.units?.(request) ?? 1,
      idempotencyKey: newId('billable'),
      ...(option.ttlSeconds ? { ttlSeconds: option.ttlSeconds } : {}),
    },
    now(),
  );
  holds.set(request, reservation.id);
}

async function settleUnits(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  const id = holds.get(request);
  if (!id) return payload;
  holds.delete(request);
  const { db, dialect, catalog, now } = request.server.tollgate;
  const settlement = reply.statusCode < 400 ? 'commit' : 'release';
  try {
    const { plan } = await planOf(request);
    await settleReservation({ db, dialect, catalog }, accountOf(request).id, plan, id, settlement, now());
  } catch (error) {
    // The work is done and answered; a hold that could not be settled expires by itself.
    request.log.warn({ err: error, reservation: id }, `billable ${settlement} failed`);
  }
  return payload;
}

/**
 * Registers the option: call once on the root instance before any billable route is added, and
 * after installAccess, whose hooks must run first (they sign the caller in and count the call).
 */
export function installBillable(app: FastifyInstance): void {
  if (!app.hasDecorator('accessInstalled')) throw new Error('installBillable needs installAccess first');
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!route.config?.billable) return;
    if (route.config.access !== 'metered') throw new Error(`billable ${route.url} must be access: 'metered'`);
    route.preHandler = [...asArray(route.preHandler), reserveUnits];
    route.onSend = [...asArray(route.onSend), settleUnits];
  });
}

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
