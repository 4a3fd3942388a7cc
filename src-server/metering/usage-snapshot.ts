import type { Kysely } from 'kysely';
import type { UsageSnapshot } from '../../src-shared/api.ts';
import type { Catalog } from '../../src-shared/catalog.ts';
import { periodEnd, periodOf } from '../../src-shared/period.ts';
import type { Database } from '../db/schema.ts';
import type { EntitledPlan } from '../plans/subscriptions.ts';
import { limitOf } from './decision.ts';

/** This period's usage of every operation the catalog or the plan meters (for /v1/me and licenses). */
export async function usageSnapshot(
  db: Kysely<Database>,
  catalog: Catalog,
  accountId: string,
  plan: EntitledPlan,
  now: number,
): Promise<UsageSnapshot> {
  const period = periodOf(now);
  const rows = await db
    .selectFrom('usage_counters')
    .select(['operation', 'used', 'reserved'])
    .where('account_id', '=', accountId)
    .where('period', '=', period)
    .execute();
  const counters = new Map(rows.map((row) => [row.operation, row]));
  const operations: UsageSnapshot['operations'] = {};
  for (const operation of new Set([...Object.keys(catalog.operations), ...Object.keys(plan.limits.monthly)])) {
    const counter = counters.get(operation);
    operations[operation] = {
      used: counter?.used ?? 0,
      reserved: counter?.reserved ?? 0,
      limit: limitOf(plan, operation),
    };
  }
  return {
    period,
    resetsAt: new Date(periodEnd(period)).toISOString(),
    operations,
    apiCalls: { limit: plan.limits.api_calls_per_hour, windowSeconds: 3600 },
  };
}
