import { describe, expect, it } from 'vitest';
import type { SubscriptionRow } from '../../../src-server/db/schema.ts';
import { decideUsage, limitReachedProblem } from '../../../src-server/metering/decision.ts';
import { entitledPlan, freeSubscription } from '../../../src-server/plans/subscriptions.ts';
import { defaultCatalog, type Limits } from '../../../src-shared/catalog.ts';
import { decide, fitsLimit, monthlyLimit, suggestUpgrade } from '../../../src-shared/decisions.ts';

const NOW = Date.UTC(2026, 5, 15);
const PERIOD = '2026-06';
const free = entitledPlan(defaultCatalog, freeSubscription('acct_1', NOW) as SubscriptionRow, NOW, 0);
const request = (key: string, units = 1, operation = 'ai_operations') => ({ idempotencyKey: key, operation, units });
const counters = (used: number, reserved = 0) => new Map([['ai_operations', { used, reserved }]]);

describe('the shared limit rules', () => {
  const limits: Limits = {
    monthly: { ai_operations: 5, data_processing: -1 },
    max_project_size_mb: 50,
    api_calls_per_hour: 10,
    max_devices: 1,
  };

  it('gives an operation the plan does not name a limit of 0, so nothing of it can be spent', () => {
    expect(monthlyLimit(limits, 'ai_operations')).toBe(5);
    expect(monthlyLimit(limits, 'data_processing')).toBe(-1);
    expect(monthlyLimit(limits, 'video_minutes')).toBe(0);
    expect(fitsLimit(monthlyLimit(limits, 'video_minutes'), 0, 1)).toBe(false);
    const plan = { tier: 'custom' as const, limits, standing: 'ok' as const };
    expect(decide({ catalog: defaultCatalog, plan }, { kind: 'usage', operation: 'video_minutes', units: 1 })).toEqual({
      allowed: false,
      code: 'LIMIT_REACHED',
      limit: 0,
      remaining: 0,
    });
  });

  it('fits units up to the limit exactly, and always when unlimited', () => {
    expect(fitsLimit(5, 4, 1)).toBe(true);
    expect(fitsLimit(5, 5, 1)).toBe(false);
    expect(fitsLimit(5, 0, 6)).toBe(false);
    expect(fitsLimit(-1, 1_000_000, 1_000_000)).toBe(true);
  });
});

describe('the metering decision', () => {
  it('accepts what fits and refuses the rest in order, counting held units as taken', () => {
    const { outcomes, acceptedUnits } = decideUsage(
      defaultCatalog,
      free,
      [request('a', 2), request('b', 2), request('c', 1)],
      counters(1, 1),
      new Map(),
      PERIOD,
    );
    expect(outcomes.map((o) => [o.idempotencyKey, o.eventStatus, o.answer.status])).toEqual([
      ['a', 'accepted', 200],
      ['b', 'rejected', 402],
      ['c', 'accepted', 200],
    ]);
    expect(outcomes[0]?.answer.body).toMatchObject({ used: 3, limit: 5, remaining: 1, period: PERIOD });
    expect(acceptedUnits).toEqual(new Map([['ai_operations', 3]]));
  });

  it('answers a key seen before, or repeated in the batch, with its first answer and counts it once', () => {
    const first = { eventStatus: 'accepted' as const, answer: { status: 200, body: { used: 1 } as never } };
    const { outcomes, acceptedUnits } = decideUsage(
      defaultCatalog,
      free,
      [request('seen'), request('new'), request('new')],
      counters(1),
      new Map([['seen', first]]),
      PERIOD,
    );
    expect(outcomes.map((o) => [o.idempotencyKey, o.fresh])).toEqual([
      ['seen', false],
      ['new', true],
      ['new', false],
    ]);
    expect(outcomes[0]).toMatchObject(first);
    expect(outcomes[2]?.answer).toEqual(outcomes[1]?.answer);
    expect(acceptedUnits).toEqual(new Map([['ai_operations', 1]]));
  });

  it('refuses over the limit with the shared upgrade suggestion', () => {
    const { outcomes } = decideUsage(defaultCatalog, free, [request('over', 1)], counters(5), new Map(), PERIOD);
    const expected = suggestUpgrade(
      defaultCatalog,
      { kind: 'usage', operation: 'ai_operations', units: 1 },
      { ai_operations: 5 },
      'free',
    );
    expect(expected?.tier).toBe('professional');
    expect(outcomes[0]?.answer.body).toEqual(
      limitReachedProblem(defaultCatalog, free, request('over'), { used: 5, reserved: 0 }),
    );
    expect(outcomes[0]?.answer.body).toMatchObject({
      code: 'LIMIT_REACHED',
      status: 402,
      limit: 5,
      remaining: 0,
      used: 5,
      upgrade: expected,
    });
  });

  it('refuses an operation the plan does not name, whatever the counters say', () => {
    const { outcomes } = decideUsage(
      defaultCatalog,
      free,
      [request('x', 1, 'video_minutes')],
      new Map(),
      new Map(),
      PERIOD,
    );
    expect(outcomes[0]).toMatchObject({ eventStatus: 'rejected', answer: { status: 402, body: { limit: 0 } } });
  });
});
