import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src-server/payments/plan-change.ts';
import { type SubscriptionDates, subscriptionHistory } from '../../../src-server/payments/stripe-history.ts';
import {
  classifySubscriptionChange,
  fieldsFromProvider,
  type ProviderSubscription,
  type SubscriptionFields,
} from '../../../src-server/payments/subscription-state.ts';
import type { InvoiceRecord } from '../../../src-server/payments/subscription-store.ts';
import { defaultCatalog } from '../../../src-shared/catalog.ts';

/**
 * The history `npm run stripe:import` reconstructs from what Stripe keeps, checked by folding it
 * through the same pure functions the store applies (fieldsFromProvider, classifySubscriptionChange):
 * the analytics events each step would write, with their dates.
 */

const t = (iso: string) => Date.parse(`${iso}T12:00:00Z`);
const PRO: Plan = { tier: 'professional', cycle: 'monthly' };
const ENTERPRISE: Plan = { tier: 'enterprise', cycle: 'monthly' };

function subscription(overrides: Partial<ProviderSubscription> = {}): ProviderSubscription {
  return {
    provider: 'stripe',
    accountId: 'acct_1',
    customerId: 'cus_1',
    subscriptionId: 'sub_1',
    status: 'active',
    plan: PRO,
    currentPeriodStart: t('2025-05-05'),
    currentPeriodEnd: t('2025-06-05'),
    cancelAtPeriodEnd: false,
    pending: null,
    pastDueSince: null,
    lastChangedAt: t('2025-05-05'),
    ...overrides,
  };
}

function invoice(id: string, paid: string, plan: Plan = PRO): InvoiceRecord {
  return {
    id,
    accountId: null,
    customerId: 'cus_1',
    provider: 'stripe',
    tier: plan.tier,
    cycle: plan.cycle,
    amountPaidCents: 4900,
    setupFeeCents: 0,
    amountRefundedCents: 0,
    currency: 'usd',
    periodStart: t(paid),
    periodEnd: t(paid) + 30 * 86_400_000,
    paidAt: t(paid),
  };
}

const dates = (started: string, canceled: string | null = null, ended: string | null = null): SubscriptionDates => ({
  startedAt: t(started),
  canceledAt: canceled === null ? null : t(canceled),
  endedAt: ended === null ? null : t(ended),
});

/** The analytics events the steps write, as `date kind mrr`, starting from a free account. */
function eventsOf(current: ProviderSubscription, when: SubscriptionDates, invoices: InvoiceRecord[]): string[] {
  let row: SubscriptionFields = fieldsFromProvider({ ...current, plan: null });
  const events: string[] = [];
  for (const step of subscriptionHistory(current, when, invoices)) {
    const next = fieldsFromProvider(step.subscription, row);
    const change = classifySubscriptionChange(defaultCatalog, row, next);
    if (change) events.push(`${new Date(step.at).toISOString().slice(0, 10)} ${change.kind} ${change.mrrAfterCents}`);
    row = next;
  }
  return events;
}

describe('subscriptionHistory (what a Stripe subscription went through, from its dates and invoices)', () => {
  it('a subscription still running as it began: it started on its start date, and the present adds nothing', () => {
    const current = subscription();
    const steps = subscriptionHistory(current, dates('2025-03-05'), [
      invoice('in_1', '2025-03-05'),
      invoice('in_2', '2025-04-05'),
      invoice('in_3', '2025-05-05'),
    ]);
    expect(steps.map((step) => step.key)).toEqual(['start', null]);
    expect(steps[1]?.subscription).toBe(current);
    expect(eventsOf(current, dates('2025-03-05'), [invoice('in_1', '2025-03-05')])).toEqual(['2025-03-05 start 4900']);
  });

  it('a cancel asked for at period end is dated when asked; the churn when it ended', () => {
    const ended = subscription({ status: 'canceled' });
    expect(
      eventsOf(ended, dates('2025-03-05', '2025-04-15', '2025-05-05'), [
        invoice('in_1', '2025-03-05'),
        invoice('in_2', '2025-04-05'),
      ]),
    ).toEqual(['2025-03-05 start 4900', '2025-04-15 cancel 4900', '2025-05-05 back_to_free 0']);
  });

  it('an immediate cancel is only the end; a cancel still pending stands in the present', () => {
    const ended = subscription({ status: 'canceled' });
    expect(eventsOf(ended, dates('2025-05-20', '2025-06-10', '2025-06-10'), [invoice('in_1', '2025-05-20')])).toEqual([
      '2025-05-20 start 4900',
      '2025-06-10 back_to_free 0',
    ]);
    const leaving = subscription({ cancelAtPeriodEnd: true });
    const steps = subscriptionHistory(leaving, dates('2025-05-05', '2025-05-10'), [invoice('in_1', '2025-05-05')]);
    expect(steps.map((step) => step.key)).toEqual(['start', 'cancel', null]);
    // Stripe keeps canceled_at after a cancel was undone only while it stands: resumed, nothing.
    expect(subscriptionHistory(subscription(), dates('2025-05-05', '2025-05-10'), []).map((s) => s.key)).toEqual([
      'start',
      null,
    ]);
  });

  it('a plan change is read from the paid invoice that billed the new plan, in order with a cancel', () => {
    const current = subscription({ plan: ENTERPRISE, status: 'canceled' });
    const invoices = [
      // Any order: the history sorts by payment.
      invoice('in_3', '2025-05-25', ENTERPRISE),
      invoice('in_1', '2025-04-25'),
      invoice('in_2', '2025-05-10', ENTERPRISE),
    ];
    expect(eventsOf(current, dates('2025-04-25', '2025-05-01', '2025-06-25'), invoices)).toEqual([
      '2025-04-25 start 4900',
      '2025-05-01 cancel 4900',
      '2025-05-10 upgrade 19900',
      '2025-06-25 back_to_free 0',
    ]);
    const keys = subscriptionHistory(current, dates('2025-04-25', '2025-05-01', '2025-06-25'), invoices).map(
      (step) => step.key,
    );
    expect(keys).toEqual(['start', 'cancel', 'plan:in_2', 'end']);
  });

  it('a yearly plan counts a twelfth of its price; a downgrade at renewal is a contraction then', () => {
    const yearly: Plan = { tier: 'professional', cycle: 'yearly' };
    expect(
      eventsOf(subscription({ plan: PRO }), dates('2024-04-10'), [
        invoice('in_1', '2024-04-10', yearly),
        invoice('in_2', '2025-04-10', PRO),
      ]),
    ).toEqual(['2024-04-10 start 4083', '2025-04-10 cycle_change 4900']);
    expect(
      eventsOf(subscription(), dates('2025-03-01'), [
        invoice('in_1', '2025-03-01', ENTERPRISE),
        invoice('in_2', '2025-04-01', PRO),
      ]),
    ).toEqual(['2025-03-01 start 19900', '2025-04-01 downgrade 4900']);
  });

  it('a subscription past due now is dated when its unpaid invoice was issued', () => {
    const pastDue = subscription({ status: 'past_due', pastDueSince: t('2025-05-05'), lastChangedAt: t('2025-05-08') });
    expect(eventsOf(pastDue, dates('2025-03-05'), [invoice('in_1', '2025-03-05')])).toEqual([
      '2025-03-05 start 4900',
      '2025-05-05 past_due 4900',
    ]);
  });

  it('nothing to import: a price the catalog did not make, or a subscription never paid', () => {
    expect(subscriptionHistory(subscription({ plan: null }), dates('2025-03-05'), [])).toEqual([]);
    expect(subscriptionHistory(subscription({ status: 'incomplete_expired' }), dates('2025-03-05'), [])).toEqual([]);
    expect(subscriptionHistory(subscription({ status: 'incomplete' }), dates('2025-03-05'), [])).toEqual([]);
  });

  it('no step is dated before the one it follows', () => {
    // A cancel stamped a second before the start (clock skew between Stripe systems) still follows it.
    const steps = subscriptionHistory(
      subscription({ status: 'canceled' }),
      dates('2025-03-05', '2025-03-04', '2025-03-06'),
      [invoice('in_1', '2025-03-05')],
    );
    for (let index = 1; index < steps.length; index += 1) {
      expect(steps[index]?.at).toBeGreaterThanOrEqual(steps[index - 1]?.at as number);
    }
  });
});
