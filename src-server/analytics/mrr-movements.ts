import type { MrrMonth, MrrMovements } from '../../src-shared/admin-api.ts';
import type { TierId } from '../../src-shared/catalog.ts';
import { addMonths, periodEnd, periodStart } from '../../src-shared/period.ts';

/**
 * Each account's MRR at every month boundary, replayed from its subscription events, and the MRR
 * movements between boundaries. Pure: the caller brings the events. The payments code writes an
 * event on every subscription change with the MRR after it (yearly plans at price / 12, setup fees
 * never included), so the MRR at an instant is the `mrrAfterCents` of the account's last event
 * before it — unless that MRR had ended by itself by then (`mrrEndsAt`: a past-due subscription's
 * grace end). No prices are recomputed here, and negotiated (custom) contracts count at their own.
 */

export interface SubscriptionEventRecord {
  accountId: string;
  /** UTC ms. */
  at: number;
  /** The tier after the change; null when the change does not name one (a scheduled cancel). */
  toTier: TierId | null;
  mrrAfterCents: number;
  /** When `mrrAfterCents` stops counting unless a later event comes first (UTC ms); null: it lasts. */
  mrrEndsAt: number | null;
}

interface AccountTimeline {
  /** `mrr[i]` is the MRR just before `boundaries[i]`. */
  mrr: number[];
  /** The tier at each boundary (`free` once the MRR is zero). */
  tier: TierId[];
  /** When the account first had a paid subscription; null if never. */
  firstPaidAt: number | null;
}

export interface MrrTimeline {
  months: string[];
  /** The start of every month, then the end of the last: months.length + 1 instants. */
  boundaries: number[];
  /** Only accounts with subscription events; every other account is free throughout. */
  accounts: Map<string, AccountTimeline>;
}

/** Consecutive months, oldest first, ending with `last`. */
export function monthsEndingAt(last: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => addMonths(last, index - count + 1));
}

export function buildTimeline(events: readonly SubscriptionEventRecord[], months: readonly string[]): MrrTimeline {
  if (months.length === 0) throw new RangeError('a timeline needs at least one month');
  const boundaries = [...months.map(periodStart), periodEnd(months[months.length - 1] as string)];
  const byAccount = new Map<string, SubscriptionEventRecord[]>();
  for (const event of events) {
    const list = byAccount.get(event.accountId);
    if (list) list.push(event);
    else byAccount.set(event.accountId, [event]);
  }
  const accounts = new Map<string, AccountTimeline>();
  for (const [accountId, list] of byAccount) {
    // Stable: events at the same instant keep the order the caller gave (the order they were written).
    list.sort((a, b) => a.at - b.at);
    const firstPaid = list.find((event) => event.mrrAfterCents > 0);
    const timeline: AccountTimeline = { mrr: [], tier: [], firstPaidAt: firstPaid ? firstPaid.at : null };
    let last: SubscriptionEventRecord | null = null;
    let tier: TierId = 'free';
    let next = 0;
    for (const boundary of boundaries) {
      while (next < list.length && (list[next] as SubscriptionEventRecord).at < boundary) {
        last = list[next] as SubscriptionEventRecord;
        if (last.toTier !== null) tier = last.toTier;
        next += 1;
      }
      const ended = last?.mrrEndsAt != null && last.mrrEndsAt < boundary;
      const mrr = last === null || ended ? 0 : last.mrrAfterCents;
      timeline.mrr.push(mrr);
      timeline.tier.push(mrr > 0 ? tier : 'free');
    }
    accounts.set(accountId, timeline);
  }
  return { months: [...months], boundaries, accounts };
}

type MovementKind = 'new' | 'expansion' | 'contraction' | 'churned' | 'reactivation';

/**
 * How one account's MRR moved over a month, from its MRR when the month began (`before`) to its MRR
 * when it ended (`after`). Changes that cancel out inside the month (cancel then reactivate,
 * past due then recovered) are no movement. `paidBefore`: it had a paid subscription before the
 * month began, which makes a return from zero a reactivation rather than new business.
 */
export function classifyMovement(before: number, after: number, paidBefore: boolean): MovementKind | null {
  if (before === after) return null;
  if (before === 0) return paidBefore ? 'reactivation' : 'new';
  if (after === 0) return 'churned';
  return after > before ? 'expansion' : 'contraction';
}

function emptyMovements(): MrrMovements {
  return {
    newCents: 0,
    expansionCents: 0,
    contractionCents: 0,
    churnedCents: 0,
    reactivationCents: 0,
    netNewCents: 0,
    newAccounts: 0,
    expansionAccounts: 0,
    contractionAccounts: 0,
    churnedAccounts: 0,
    reactivationAccounts: 0,
  };
}

/** MRR summed over accounts at boundary `index`, and how many accounts were paying. */
export function mrrAt(timeline: MrrTimeline, index: number): { mrrCents: number; subscribers: number } {
  let mrrCents = 0;
  let subscribers = 0;
  for (const account of timeline.accounts.values()) {
    const mrr = account.mrr[index] as number;
    if (mrr > 0) {
      mrrCents += mrr;
      subscribers += 1;
    }
  }
  return { mrrCents, subscribers };
}

/** The month `timeline.months[index]`: its closing MRR, the movements into it, and growth. */
export function mrrMonth(timeline: MrrTimeline, index: number): MrrMonth {
  const month = timeline.months[index];
  if (month === undefined) throw new RangeError(`no month ${index} in the timeline`);
  const start = timeline.boundaries[index] as number;
  const movements = emptyMovements();
  for (const account of timeline.accounts.values()) {
    const before = account.mrr[index] as number;
    const after = account.mrr[index + 1] as number;
    const kind = classifyMovement(before, after, account.firstPaidAt !== null && account.firstPaidAt < start);
    switch (kind) {
      case 'new':
        movements.newCents += after;
        movements.newAccounts += 1;
        break;
      case 'reactivation':
        movements.reactivationCents += after;
        movements.reactivationAccounts += 1;
        break;
      case 'churned':
        movements.churnedCents += before;
        movements.churnedAccounts += 1;
        break;
      case 'expansion':
        movements.expansionCents += after - before;
        movements.expansionAccounts += 1;
        break;
      case 'contraction':
        movements.contractionCents += before - after;
        movements.contractionAccounts += 1;
        break;
      case null:
        break;
    }
  }
  movements.netNewCents =
    movements.newCents +
    movements.expansionCents +
    movements.reactivationCents -
    movements.contractionCents -
    movements.churnedCents;
  const opening = mrrAt(timeline, index);
  const closing = mrrAt(timeline, index + 1);
  return {
    month,
    mrrCents: closing.mrrCents,
    arrCents: closing.mrrCents * 12,
    subscribers: closing.subscribers,
    movements,
    growthRate: opening.mrrCents === 0 ? null : (closing.mrrCents - opening.mrrCents) / opening.mrrCents,
  };
}

/** Paying accounts by tier at boundary `index`. */
export function subscribersByTier(timeline: MrrTimeline, index: number): Partial<Record<TierId, number>> {
  const counts: Partial<Record<TierId, number>> = {};
  for (const account of timeline.accounts.values()) {
    if ((account.mrr[index] as number) > 0) {
      const tier = account.tier[index] as TierId;
      counts[tier] = (counts[tier] ?? 0) + 1;
    }
  }
  return counts;
}
