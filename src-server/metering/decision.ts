import type { ConsumeResult } from '../../src-shared/api.ts';
import { type Catalog, UNLIMITED } from '../../src-shared/catalog.ts';
import { fitsLimit, monthlyLimit, suggestUpgrade } from '../../src-shared/decisions.ts';
import type { UsageEventStatus } from '../db/schema.ts';
import { ApiError, type ProblemBody, problemBody } from '../http/errors.ts';
import type { EntitledPlan } from '../plans/subscriptions.ts';
import type { CounterState } from './counters.ts';

/**
 * The metering decision, pure: given the counters and the keys seen before, the answer to each
 * request of a batch, in order. The rules themselves — an operation's limit, whether units fit,
 * the cheapest upgrade — are the shared ones in src-shared/decisions.ts, so the server and the
 * companion can never disagree on them.
 */

export interface UsageRequest {
  idempotencyKey: string;
  operation: string;
  units: number;
  occurredAt?: number | null;
}

/** The first answer to a key, as stored: an HTTP status and its body. */
export interface StoredAnswer {
  status: number;
  body: Omit<ConsumeResult, 'replayed'> | ProblemBody;
}

export interface FirstAnswer {
  eventStatus: UsageEventStatus;
  answer: StoredAnswer;
}

export interface UsageOutcome extends FirstAnswer {
  idempotencyKey: string;
  /** False when the key was seen before and its first answer is returned. */
  fresh: boolean;
}

/** The limit the plan sets for an operation (0 for one it does not name: see monthlyLimit). */
export function limitOf(plan: EntitledPlan, operation: string): number {
  return monthlyLimit(plan.limits, operation);
}

/** Whether `units` more fit, counting the units reservations hold as taken. */
export function fits(limit: number, counter: CounterState, units: number): boolean {
  return fitsLimit(limit, counter.used + counter.reserved, units);
}

/**
 * The 402 for a request over the monthly limit — a consume, a reservation or a billable route —
 * with the cheapest tier that would allow it.
 */
export function limitReachedProblem(
  catalog: Catalog,
  plan: EntitledPlan,
  request: { operation: string; units: number },
  counter: CounterState,
): ProblemBody {
  const limit = limitOf(plan, request.operation);
  const remaining = Math.max(0, limit - counter.used - counter.reserved);
  const upgrade = suggestUpgrade(
    catalog,
    { kind: 'usage', operation: request.operation, units: request.units },
    { [request.operation]: counter.used + counter.reserved },
    plan.tier,
  );
  const label = catalog.operations[request.operation]?.label ?? request.operation;
  return problemBody('LIMIT_REACHED', `${request.units} ${label} needed; ${remaining} of ${limit} left this month.`, {
    limit,
    remaining,
    used: counter.used,
    operation: request.operation,
    ...(upgrade ? { upgrade } : {}),
  });
}

/** limitReachedProblem, thrown: for the routes that refuse with an error rather than a stored answer. */
export function limitReachedError(...args: Parameters<typeof limitReachedProblem>): ApiError {
  const { type: _type, title: _title, status: _status, code: _code, detail, ...extras } = limitReachedProblem(...args);
  return new ApiError('LIMIT_REACHED', detail, extras);
}

interface UsageDecision {
  outcomes: UsageOutcome[];
  /** Units to add to `used`, per operation. */
  acceptedUnits: Map<string, number>;
}

/** The answer to each request, in order, given the counters and the keys seen before. */
export function decideUsage(
  catalog: Catalog,
  plan: EntitledPlan,
  requests: readonly UsageRequest[],
  counters: ReadonlyMap<string, CounterState>,
  seen: ReadonlyMap<string, FirstAnswer>,
  period: string,
): UsageDecision {
  const working = new Map([...counters].map(([op, c]) => [op, { ...c }]));
  const acceptedUnits = new Map<string, number>();
  const answered = new Map<string, FirstAnswer>();
  const outcomes: UsageOutcome[] = [];
  for (const request of requests) {
    const first = answered.get(request.idempotencyKey) ?? seen.get(request.idempotencyKey);
    if (first) {
      // Seen before (in the database, or earlier in this batch): the first answer stands.
      outcomes.push({ idempotencyKey: request.idempotencyKey, fresh: false, ...first });
      continue;
    }
    let counter = working.get(request.operation);
    if (!counter) {
      counter = { used: 0, reserved: 0 };
      working.set(request.operation, counter);
    }
    const limit = limitOf(plan, request.operation);
    let decided: FirstAnswer;
    if (fits(limit, counter, request.units)) {
      counter.used += request.units;
      acceptedUnits.set(request.operation, (acceptedUnits.get(request.operation) ?? 0) + request.units);
      const body: Omit<ConsumeResult, 'replayed'> = {
        idempotencyKey: request.idempotencyKey,
        operation: request.operation,
        units: request.units,
        period,
        used: counter.used,
        limit,
        ...(limit === UNLIMITED ? {} : { remaining: Math.max(0, limit - counter.used - counter.reserved) }),
      };
      decided = { eventStatus: 'accepted', answer: { status: 200, body } };
    } else {
      decided = {
        eventStatus: 'rejected',
        answer: { status: 402, body: limitReachedProblem(catalog, plan, request, counter) },
      };
    }
    answered.set(request.idempotencyKey, decided);
    outcomes.push({ idempotencyKey: request.idempotencyKey, fresh: true, ...decided });
  }
  return { outcomes, acceptedUnits };
}
