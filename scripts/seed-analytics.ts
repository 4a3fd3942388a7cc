import type { Insertable, Kysely } from 'kysely';
import { loadConfig } from '../src-server/config.ts';
import { createDatabase } from '../src-server/db/connection.ts';
import type { Database } from '../src-server/db/schema.ts';
import { mrrCents } from '../src-server/payments/mrr.ts';
import type { SubscriptionEventKind } from '../src-server/payments/subscription-state.ts';
import type { BillingCycle } from '../src-shared/api.ts';
import { type Catalog, defaultCatalog, findTier, type TierId, UNLIMITED } from '../src-shared/catalog.ts';
import { addMonths, periodEnd, periodOf, periodStart } from '../src-shared/period.ts';

/**
 * Fills an empty database with a year of subscription business, for the analytics dashboard, the
 * benchmark (bench/analytics.bench.ts) and the brute-force test. Deterministic for a given seed.
 *
 *   npm run seed:analytics                              (or: tsx scripts/seed-analytics.ts)
 *   tsx scripts/seed-analytics.ts --accounts 100000 --months 12 --end 2026-10 --seed 1
 *
 * It writes to the database the server is configured for (TOLLGATE_DATA_DIR's SQLite file, or
 * TOLLGATE_DATABASE_URL), which must hold no accounts yet.
 *
 * The business it simulates, account by account, in continuous time:
 * - sign-ups: 20 % in the six months before the history starts, the rest spread over the history;
 * - a free account starts paying at a rate of 5 % a month (a former customer 3 %): professional
 *   (85 %) or enterprise, monthly (75 %) or yearly; enterprise's first start pays the setup fee;
 * - while paying, each month: upgrades 3 % (prorated invoice now), downgrades 2 % (at the renewal),
 *   cancels 4 % (at the renewal; 20 % of those take the cancel back before it);
 * - at each renewal an invoice is paid, except 4 % go past due: 70 % of those pay within ten days
 *   (recovered), the rest fall back to free after fourteen; 1 % of invoices are refunded in full
 *   and 1 % by half;
 * - usage: each month an account is active with probability 60 %, using each operation somewhere
 *   between nothing and its limit, a fifth of the active ones right up to it (unlimited tiers use
 *   up to 2,000 units).
 * Events carry the MRR the payments code would record (mrrCents), so analytics sees what it would
 * see in production.
 */

export interface SeedOptions {
  accounts: number;
  months: number;
  /** The last month of history, `YYYY-MM`. */
  end: string;
  seed: number;
  /** Nothing is generated at or after this instant (UTC ms): the history stops at "now". */
  now?: number;
  catalog?: Catalog;
}

export interface SeedSummary {
  accounts: number;
  subscriptionEvents: number;
  invoices: number;
  usageCounters: number;
  milliseconds: number;
}

const DAY = 24 * 3600 * 1000;
const MONTH = 30.44 * DAY;

/** mulberry32: a tiny, well-known seeded generator, so the same seed gives the same business. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Row<T extends keyof Database> = Insertable<Database[T]>;

/** Rows queued per table and written in multi-row INSERTs, parents before children. */
class Batches {
  readonly counts = { accounts: 0, subscriptions: 0, subscription_events: 0, invoices: 0, usage_counters: 0 };
  private readonly queued: { [T in keyof Batches['counts']]: Row<T>[] } = {
    accounts: [],
    subscriptions: [],
    subscription_events: [],
    invoices: [],
    usage_counters: [],
  };

  constructor(private readonly db: Kysely<Database>) {}

  add<T extends keyof Batches['counts']>(table: T, row: Row<T>): void {
    (this.queued[table] as Row<T>[]).push(row);
    this.counts[table] += 1;
  }

  get size(): number {
    return Object.values(this.queued).reduce((sum, rows) => sum + rows.length, 0);
  }

  async flush(): Promise<void> {
    for (const table of Object.keys(this.queued) as (keyof Batches['counts'])[]) {
      const rows = this.queued[table];
      if (rows.length === 0) continue;
      // Under SQLite's and PostgreSQL's limits on bound parameters per statement.
      const perInsert = Math.floor(16_000 / Object.keys(rows[0] as object).length);
      for (let offset = 0; offset < rows.length; offset += perInsert) {
        await this.db
          .insertInto(table)
          .values(rows.slice(offset, offset + perInsert) as never)
          .execute();
      }
      this.queued[table] = [];
    }
  }
}

interface Paying {
  tier: TierId;
  cycle: BillingCycle;
  renewsAt: number;
  cancelAtRenewal: boolean;
  downgradeAtRenewal: boolean;
}

export async function seedAnalytics(db: Kysely<Database>, options: SeedOptions): Promise<SeedSummary> {
  const started = performance.now();
  const catalog = options.catalog ?? defaultCatalog;
  const existing = await db
    .selectFrom('accounts')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .executeTakeFirstOrThrow();
  if (Number(existing.count) > 0) throw new Error('seed-analytics writes to an empty database only');

  const rand = random(options.seed);
  const firstMonth = addMonths(options.end, 1 - options.months);
  const historyStart = periodStart(firstMonth);
  const until = Math.min(periodEnd(options.end), options.now ?? Number.POSITIVE_INFINITY);
  const earliest = periodStart(addMonths(firstMonth, -6));
  const expo = (monthlyRate: number) => (-Math.log(1 - rand()) / monthlyRate) * MONTH;
  const chance = (p: number) => rand() < p;
  const price = (tier: TierId, cycle: BillingCycle): number => {
    const prices = findTier(catalog, tier).prices;
    if (prices === 'negotiated') return 0;
    return cycle === 'yearly' ? prices.yearly_cents : prices.monthly_cents;
  };
  const setupFee = (tier: TierId): number => {
    const prices = findTier(catalog, tier).prices;
    return prices === 'negotiated' ? 0 : prices.setup_fee_cents;
  };
  const cycleLength = (cycle: BillingCycle) => (cycle === 'yearly' ? 12 * MONTH : MONTH);

  let eventNumber = 0;
  let invoiceNumber = 0;

  // One transaction: SQLite then writes the file once instead of syncing after every INSERT.
  const counts = await db.transaction().execute(async (trx) => {
    const writer = new Batches(trx);
    for (let index = 0; index < options.accounts; index += 1) {
      const accountId = `acct-${String(index).padStart(7, '0')}`;
      const createdAt = Math.floor(
        chance(0.2) ? earliest + rand() * (historyStart - earliest) : historyStart + rand() * (until - historyStart),
      );
      writer.add('accounts', {
        id: accountId,
        email: `customer${index}@seed.example`,
        // Not a valid scrypt string: seeded accounts cannot sign in.
        password_hash: 'seeded$no-login',
        created_at: createdAt,
      });

      const events: { at: number; tier: TierId }[] = [];
      let paying: Paying | null = null;
      let everPaid = false;
      let paidEnterprise = false;
      let t = createdAt;
      const event = (at: number, kind: SubscriptionEventKind, from: Paying | null, to: Paying | null) => {
        eventNumber += 1;
        const toTier = to?.tier ?? 'free';
        events.push({ at, tier: toTier });
        writer.add('subscription_events', {
          id: `evt-${String(eventNumber).padStart(9, '0')}`,
          account_id: accountId,
          at: Math.floor(at),
          kind,
          from_tier: from?.tier ?? 'free',
          to_tier: toTier,
          from_cycle: from?.cycle ?? null,
          to_cycle: to?.cycle ?? null,
          mrr_before_cents: from ? mrrCents(catalog, from.tier, from.cycle) : 0,
          mrr_after_cents: to ? mrrCents(catalog, to.tier, to.cycle) : 0,
        });
      };
      const invoice = (at: number, plan: Paying, amount: number, setup: number) => {
        invoiceNumber += 1;
        const refund = chance(0.01) ? amount : chance(0.01) ? Math.round(amount / 2) : 0;
        writer.add('invoices', {
          id: `in-${String(invoiceNumber).padStart(9, '0')}`,
          account_id: accountId,
          tier: plan.tier,
          cycle: plan.cycle,
          amount_paid_cents: amount,
          setup_fee_cents: setup,
          amount_refunded_cents: refund,
          currency: catalog.currency,
          period_start: Math.floor(at),
          period_end: Math.floor(plan.renewsAt),
          paid_at: Math.floor(at),
        });
      };

      while (t < until) {
        if (paying === null) {
          t += expo(everPaid ? 0.03 : 0.05);
          if (t >= until) break;
          const tier: TierId = chance(0.85) ? 'professional' : 'enterprise';
          const cycle: BillingCycle = chance(0.75) ? 'monthly' : 'yearly';
          paying = { tier, cycle, renewsAt: t + cycleLength(cycle), cancelAtRenewal: false, downgradeAtRenewal: false };
          event(t, 'start', null, paying);
          const fee = tier === 'enterprise' && !paidEnterprise ? setupFee(tier) : 0;
          paidEnterprise ||= tier === 'enterprise';
          invoice(t, paying, price(tier, cycle) + fee, fee);
          everPaid = true;
          continue;
        }
        const change = t + expo(0.09);
        if (change < paying.renewsAt && change < until) {
          t = change;
          const roll = rand();
          if (roll < 3 / 9) {
            if (paying.tier !== 'professional') continue;
            const before: Paying = paying;
            paying = { ...paying, tier: 'enterprise', downgradeAtRenewal: false };
            event(t, 'upgrade', before, paying);
            const left = (paying.renewsAt - t) / cycleLength(paying.cycle);
            const fee = paidEnterprise ? 0 : setupFee('enterprise');
            paidEnterprise = true;
            const prorated = Math.round((price('enterprise', paying.cycle) - price(before.tier, paying.cycle)) * left);
            invoice(t, paying, prorated + fee, fee);
          } else if (roll < 5 / 9) {
            if (paying.tier === 'enterprise') paying.downgradeAtRenewal = true;
          } else if (!paying.cancelAtRenewal) {
            paying.cancelAtRenewal = true;
            event(t, 'cancel', paying, paying);
            if (chance(0.2)) {
              // Thinks better of it before the renewal: the cancel is taken back.
              t += rand() * (Math.min(paying.renewsAt, until) - t);
              paying.cancelAtRenewal = false;
              event(t, 'reactivation', paying, paying);
            }
          }
          continue;
        }
        if (paying.renewsAt >= until) break;
        t = paying.renewsAt;
        if (paying.cancelAtRenewal) {
          event(t, 'back_to_free', paying, null);
          paying = null;
          continue;
        }
        if (paying.downgradeAtRenewal) {
          const before: Paying = paying;
          paying = { ...paying, tier: 'professional', downgradeAtRenewal: false };
          event(t, 'downgrade', before, paying);
        }
        paying.renewsAt = t + cycleLength(paying.cycle);
        if (chance(0.04)) {
          event(t, 'past_due', paying, paying);
          if (chance(0.7)) {
            const paidAt = t + (1 + rand() * 9) * DAY;
            if (paidAt >= until) break;
            event(paidAt, 'recovered', paying, paying);
            invoice(paidAt, paying, price(paying.tier, paying.cycle), 0);
          } else {
            const leaves = t + 14 * DAY;
            if (leaves >= until) break;
            event(leaves, 'back_to_free', paying, null);
            paying = null;
            t = leaves;
          }
          continue;
        }
        invoice(t, paying, price(paying.tier, paying.cycle), 0);
      }

      writer.add('subscriptions', {
        account_id: accountId,
        tier: paying?.tier ?? 'free',
        status: 'active',
        cycle: paying?.cycle ?? null,
        current_period_start: paying ? Math.floor(paying.renewsAt - cycleLength(paying.cycle)) : null,
        current_period_end: paying ? Math.floor(paying.renewsAt) : null,
        cancel_at_period_end: paying?.cancelAtRenewal ? 1 : 0,
        pending_tier: paying?.downgradeAtRenewal ? 'professional' : null,
        pending_cycle: null,
        past_due_since: null,
        provider: paying ? 'local' : 'none',
        provider_customer_id: null,
        provider_subscription_id: null,
        custom_limits_json: null,
        custom_features_json: null,
        updated_at: Math.floor(Math.min(t, until - 1)),
      });

      // Usage per month of the account's life, against the tier it held at the month's end.
      for (
        let month = periodOf(Math.max(createdAt, historyStart));
        periodStart(month) < until;
        month = addMonths(month, 1)
      ) {
        const monthEnd = periodEnd(month);
        let tier: TierId = 'free';
        for (const change of events) if (change.at < monthEnd) tier = change.tier;
        if (!chance(0.6)) continue;
        for (const operation of Object.keys(catalog.operations)) {
          const limit = findTier(catalog, tier).limits.monthly[operation] ?? UNLIMITED;
          const used =
            limit === UNLIMITED ? Math.floor(rand() * 2000) : chance(0.2) ? limit : Math.floor(rand() * limit);
          if (used > 0) {
            writer.add('usage_counters', { account_id: accountId, operation, period: month, used, reserved: 0 });
          }
        }
      }
      if (writer.size >= 20_000) await writer.flush();
    }
    await writer.flush();
    return writer.counts;
  });

  return {
    accounts: counts.accounts,
    subscriptionEvents: counts.subscription_events,
    invoices: counts.invoices,
    usageCounters: counts.usage_counters,
    milliseconds: Math.round(performance.now() - started),
  };
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = loadConfig();
  const handle = await createDatabase(config);
  try {
    const summary = await seedAnalytics(handle.db, {
      accounts: Number(argument('accounts') ?? 100_000),
      months: Number(argument('months') ?? 12),
      end: argument('end') ?? periodOf(Date.now()),
      seed: Number(argument('seed') ?? 1),
      now: Date.now(),
      catalog: config.catalog,
    });
    console.log(
      `seeded ${summary.accounts} accounts, ${summary.subscriptionEvents} subscription events, ` +
        `${summary.invoices} invoices, ${summary.usageCounters} usage counters in ${summary.milliseconds} ms ` +
        `(${handle.dialect})`,
    );
  } finally {
    await handle.destroy();
  }
}
