import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { CheckoutReturn } from '../../src-shared/api.ts';
import { type Catalog, findTier } from '../../src-shared/catalog.ts';
import type { SubscriptionRow } from '../db/schema.ts';
import { type Plan, type PlanChange, prorationCents } from './plan-change.ts';
import { type BillingAccount, type PaymentProvider, PaymentProviderError, type RefundableInvoice } from './provider.ts';
import type { ProviderSubscription } from './subscription-state.ts';
import type { InvoiceRecord, SubscriptionStore } from './subscription-store.ts';

/**
 * A test payment provider inside the server, chosen only explicitly (TOLLGATE_PAYMENTS=local; see
 * config.ts). Its checkout is a page this server serves, clearly labelled as a test, and every
 * outcome — paying, changing plan, cancelling, a period ending — is handed to
 * SubscriptionStore.apply as an event, the same path a verified Stripe webhook takes. Nothing is
 * charged, ever.
 *
 * Who may complete a checkout: the account that opened it (its bearer session, the API route), or
 * the one browser that opened its link. The link carries a one-time code; the first visit with it
 * turns it into an HttpOnly SameSite=Strict cookie scoped to this checkout, and the page's form
 * carries a second secret. A cross-site form POST carries neither, and a leaked link is already used.
 */

export interface LocalCheckout {
  id: string;
  accountId: string;
  plan: Plan;
  priceCents: number;
  setupFeeCents: number;
  currency: string;
  createdAt: number;
  paid: boolean;
  /** What the first invoice collected, after a promotion code; null until paid. */
  amountPaidCents: number | null;
  /** Where its pages send the customer afterwards (see CheckoutReturn). */
  returnTo: CheckoutReturn;
  /** SHA-256 of the link's one-time code; null once a browser has used it. */
  linkCodeHash: Buffer | null;
  /** SHA-256 of the cookie given to the browser that used the code; null until then. */
  browserKeyHash: Buffer | null;
  /** The hidden field of the page's form, checked beside the cookie. */
  formToken: string;
}

/** What the browser that opened a checkout link holds: its cookie value and the form's token. */
export interface CheckoutBrowser {
  checkout: LocalCheckout;
  browserKey: string;
}

/**
 * The local provider's one promotion code (docs/stripe.md): 50 % off the first invoice, setup fee
 * included, as a Stripe coupon with `duration: once` does; renewals are at the list price again.
 * Codes are case-insensitive, as on Stripe's checkout page.
 */
export const TEST_PROMOTION_CODE = 'TESTPROMO50';
const TEST_PROMOTION_PERCENT_OFF = 50;

/** The percentage a typed code takes off the first invoice: 0 for none, null for a code nobody issued. */
export function promotionPercentOff(typed: string | undefined): number | null {
  const code = typed?.trim() ?? '';
  if (code === '') return 0;
  return code.toUpperCase() === TEST_PROMOTION_CODE ? TEST_PROMOTION_PERCENT_OFF : null;
}

/** An unpaid test checkout is forgotten after a day, like an expired Stripe session. */
const CHECKOUT_TTL_MS = 24 * 3600 * 1000;

const secret = () => randomBytes(24).toString('base64url');
const digest = (text: string) => createHash('sha256').update(text).digest();
const sameHash = (text: string | undefined, hash: Buffer | null) =>
  typeof text === 'string' && hash !== null && timingSafeEqual(digest(text), hash);

function addCycle(start: number, cycle: Plan['cycle']): number {
  const date = new Date(start);
  if (cycle === 'yearly') date.setUTCFullYear(date.getUTCFullYear() + 1);
  else date.setUTCMonth(date.getUTCMonth() + 1);
  return date.getTime();
}

export class LocalProvider implements PaymentProvider {
  readonly name = 'local' as const;
  private readonly checkouts = new Map<string, LocalCheckout>();
  /** Accounts whose renewals are declined, as a card that stopped working would be. */
  private readonly decliningAccounts = new Set<string>();

  constructor(
    private readonly store: SubscriptionStore,
    private readonly catalog: Catalog,
    /** Read at each use: with port 0 the server learns its URL only once it listens. */
    private readonly publicUrl: () => string,
    private readonly now: () => number,
  ) {}

  private prices(plan: Plan): { priceCents: number; setupFeeCents: number } {
    const tier = findTier(this.catalog, plan.tier);
    if (tier.prices === 'negotiated' || tier.id !== plan.tier) {
      throw new PaymentProviderError(`The ${plan.tier} tier has no list price.`);
    }
    return {
      priceCents: plan.cycle === 'yearly' ? tier.prices.yearly_cents : tier.prices.monthly_cents,
      setupFeeCents: tier.prices.setup_fee_cents,
    };
  }

  async checkout(
    account: BillingAccount,
    _row: SubscriptionRow,
    plan: Plan,
    returnTo: CheckoutReturn,
  ): Promise<{ url: string; sessionId: string }> {
    const now = this.now();
    for (const [id, old] of this.checkouts) if (now - old.createdAt > CHECKOUT_TTL_MS) this.checkouts.delete(id);
    const linkCode = secret();
    const checkout: LocalCheckout = {
      // Unguessable: the id in the URL is what lets the browser complete this checkout.
      id: `local_cs_${randomBytes(18).toString('base64url')}`,
      accountId: account.id,
      plan,
      ...this.prices(plan),
      currency: this.catalog.currency,
      createdAt: now,
      paid: false,
      amountPaidCents: null,
      returnTo,
      linkCodeHash: digest(linkCode),
      browserKeyHash: null,
      formToken: secret(),
    };
    this.checkouts.set(checkout.id, checkout);
    return {
      url: `${this.publicUrl()}/billing/test-checkout/${checkout.id}?code=${linkCode}`,
      sessionId: checkout.id,
    };
  }

  findCheckout(id: string): LocalCheckout | undefined {
    return this.checkouts.get(id);
  }

  /** The first visit with the link's code: the code is spent and this browser gets its key. */
  redeemLinkCode(id: string, code: string | undefined): CheckoutBrowser | null {
    const checkout = this.checkouts.get(id);
    if (!checkout || !sameHash(code, checkout.linkCodeHash)) return null;
    const browserKey = secret();
    checkout.linkCodeHash = null;
    checkout.browserKeyHash = digest(browserKey);
    return { checkout, browserKey };
  }

  /** Is this the browser that redeemed the link (the cookie it was given)? */
  isOpeningBrowser(checkout: LocalCheckout, browserKey: string | undefined): boolean {
    return sameHash(browserKey, checkout.browserKeyHash);
  }

  /** Was this POST made by the checkout's own page (its form's hidden token)? */
  isOwnForm(checkout: LocalCheckout, formToken: string | undefined): boolean {
    return sameHash(formToken, digest(checkout.formToken));
  }

  /**
   * The test page's "Pay (test)": starts the subscription through the store, as a webhook would.
   * `percentOff` is a promotion code's discount (promotionPercentOff), spread over the price and
   * the setup fee pro rata as Stripe spreads a coupon over an invoice's lines.
   */
  async pay(checkoutId: string, percentOff = 0): Promise<LocalCheckout> {
    const checkout = this.checkouts.get(checkoutId);
    if (!checkout) throw new PaymentProviderError('This test checkout is unknown or expired.');
    const subtotal = checkout.priceCents + checkout.setupFeeCents;
    const discount = Math.round((subtotal * percentOff) / 100);
    const setupFeeDiscount = subtotal === 0 ? 0 : Math.round((discount * checkout.setupFeeCents) / subtotal);
    const now = this.now();
    const subscription: ProviderSubscription = {
      provider: 'local',
      accountId: checkout.accountId,
      customerId: `local_cus_${checkout.accountId}`,
      subscriptionId: `local_sub_${checkout.id}`,
      status: 'active',
      plan: checkout.plan,
      currentPeriodStart: now,
      currentPeriodEnd: addCycle(now, checkout.plan.cycle),
      cancelAtPeriodEnd: false,
      pending: null,
      pastDueSince: null,
    };
    // The event id is the checkout's: pressing Pay twice is a redelivery and changes nothing.
    await this.store.apply({
      event: { id: `local_evt_${checkout.id}`, type: 'checkout.session.completed' },
      subscription,
      invoice: this.invoice(subscription, subtotal - discount, checkout.setupFeeCents - setupFeeDiscount),
    });
    // A second press is a redelivery: the first payment (and its discount) stands.
    if (!checkout.paid) checkout.amountPaidCents = subtotal - discount;
    checkout.paid = true;
    return checkout;
  }

  /** An invoice for the service from `from` (default: the period start) to the period end. */
  private invoice(
    subscription: ProviderSubscription,
    amountCents: number,
    setupFeeCents: number,
    from = subscription.currentPeriodStart,
    paidAt = this.now(),
  ): InvoiceRecord {
    const plan = subscription.plan as Plan;
    return {
      id: `local_in_${randomUUID()}`,
      accountId: subscription.accountId,
      customerId: subscription.customerId,
      provider: 'local',
      tier: plan.tier,
      cycle: plan.cycle,
      amountPaidCents: amountCents,
      setupFeeCents,
      amountRefundedCents: 0,
      currency: this.catalog.currency,
      periodStart: from,
      periodEnd: subscription.currentPeriodEnd,
      paidAt,
    };
  }

  async portal(_account: BillingAccount, _row: SubscriptionRow, returnTo: CheckoutReturn): Promise<{ url: string }> {
    return { url: `${this.publicUrl()}/billing/test-portal${returnTo === 'app' ? '?app=1' : ''}` };
  }

  /** The local provider's own record of a subscription is the row it wrote. */
  private current(row: SubscriptionRow): ProviderSubscription {
    if (row.provider !== 'local' || !row.provider_subscription_id || row.cycle === null) {
      throw new PaymentProviderError('This account has no test subscription to change.');
    }
    return {
      provider: 'local',
      accountId: row.account_id,
      customerId: row.provider_customer_id ?? `local_cus_${row.account_id}`,
      subscriptionId: row.provider_subscription_id,
      status: row.status as ProviderSubscription['status'],
      plan: { tier: row.tier as Plan['tier'], cycle: row.cycle },
      currentPeriodStart: row.current_period_start ?? this.now(),
      currentPeriodEnd: row.current_period_end ?? this.now(),
      cancelAtPeriodEnd: row.cancel_at_period_end === 1,
      pending:
        row.pending_tier && row.pending_cycle
          ? { tier: row.pending_tier as Plan['tier'], cycle: row.pending_cycle }
          : null,
      pastDueSince: row.past_due_since,
    };
  }

  private event(type: string) {
    return { id: `local_evt_${randomUUID()}`, type };
  }

  async changePlan(_account: BillingAccount, row: SubscriptionRow, plan: Plan, change: PlanChange): Promise<void> {
    const found = this.current(row);
    // Choosing another plan means staying: a scheduled cancel is undone (as with Stripe).
    const current = change.kind === 'none' ? found : { ...found, cancelAtPeriodEnd: false };
    if (change.kind === 'none' || change.effective === 'period_end') {
      await this.store.apply({
        event: this.event('customer.subscription.updated'),
        subscription: { ...current, pending: change.kind === 'none' ? null : plan },
      });
      return;
    }
    const now = this.now();
    const restartsPeriod = plan.cycle !== current.plan?.cycle;
    const amount = prorationCents({
      oldPriceCents: this.prices(current.plan as Plan).priceCents,
      newPriceCents: this.prices(plan).priceCents,
      periodStart: current.currentPeriodStart,
      periodEnd: current.currentPeriodEnd,
      now,
      restartsPeriod,
    });
    const next: ProviderSubscription = {
      ...current,
      plan,
      pending: null,
      ...(restartsPeriod ? { currentPeriodStart: now, currentPeriodEnd: addCycle(now, plan.cycle) } : {}),
    };
    // Moving into a tier with a setup fee pays it once, with the proration (as on Stripe).
    const setupFeeCents = plan.tier !== current.plan?.tier ? this.prices(plan).setupFeeCents : 0;
    const due = amount + setupFeeCents;
    await this.store.apply({
      event: this.event('customer.subscription.updated'),
      subscription: next,
      // A prorated charge pays for the rest of the period, from now.
      invoice: due > 0 ? this.invoice(next, due, setupFeeCents, now) : undefined,
    });
  }

  async setCancelAtPeriodEnd(_account: BillingAccount, row: SubscriptionRow, cancel: boolean): Promise<void> {
    const current = this.current(row);
    await this.store.apply({
      event: this.event('customer.subscription.updated'),
      subscription: { ...current, cancelAtPeriodEnd: cancel, pending: cancel ? null : current.pending },
    });
  }

  /** A test refund: nothing was charged, so nothing moves but the invoice's refunded total. */
  async refund(invoice: RefundableInvoice, amountCents: number, _reason: string, key: string): Promise<void> {
    await this.store.apply({
      event: { id: `local_evt_refund_${key}`, type: 'charge.refunded' },
      invoice: {
        id: invoice.id,
        accountId: invoice.account_id,
        customerId: `local_cus_${invoice.account_id}`,
        provider: 'local',
        tier: invoice.tier as Plan['tier'],
        cycle: invoice.cycle,
        amountPaidCents: Number(invoice.amount_paid_cents),
        setupFeeCents: Number(invoice.setup_fee_cents),
        amountRefundedCents: Number(invoice.amount_refunded_cents) + amountCents,
        currency: invoice.currency,
        periodStart: Number(invoice.period_start),
        periodEnd: Number(invoice.period_end),
        paidAt: Number(invoice.paid_at),
      },
    });
  }

  /**
   * The test page's card switch: `true` declines the account's renewals from now on; `false`
   * makes the card work again, and a renewal it left unpaid is paid at once (recovery).
   */
  async setRenewalsFail(row: SubscriptionRow, fail: boolean): Promise<void> {
    if (fail) {
      this.decliningAccounts.add(row.account_id);
      return;
    }
    this.decliningAccounts.delete(row.account_id);
    if (row.provider !== 'local' || row.status !== 'past_due' || !row.provider_subscription_id) return;
    const recovered: ProviderSubscription = { ...this.current(row), status: 'active', pastDueSince: null };
    await this.store.apply({
      event: {
        id: `local_evt_recovered_${recovered.subscriptionId}_${recovered.currentPeriodStart}`,
        type: 'invoice.paid',
      },
      subscription: recovered,
      invoice: this.invoice(recovered, this.prices(recovered.plan as Plan).priceCents, 0),
    });
  }

  /**
   * Ends or renews the account's test subscription when its period is over, as Stripe would at
   * the period boundary, and dated at that boundary whenever it is applied (by a timer every
   * minute and before any billing action): cancel takes effect, a scheduled change applies, and
   * the renewal is "paid" (recorded as an invoice) — or declined when the account said so, which
   * makes it past due from the boundary. A subscription still unpaid at the end of the period it
   * did not pay for is cancelled, as Stripe's dunning ends.
   */
  async advanceDuePeriods(row: SubscriptionRow): Promise<void> {
    // Event ids name the period boundary, so the minute sweep and a request advancing past the same
    // boundary at once apply it once.
    if (row.provider !== 'local' || !row.provider_subscription_id || row.current_period_end === null) return;
    let current = this.current(row);
    const now = this.now();
    while (current.currentPeriodEnd <= now && current.status !== 'canceled') {
      const end = current.currentPeriodEnd;
      if (current.cancelAtPeriodEnd || current.status === 'past_due') {
        current = { ...current, status: 'canceled' };
        await this.store.apply({
          event: { id: `local_evt_end_${current.subscriptionId}_${end}`, type: 'customer.subscription.deleted' },
          occurredAt: end,
          subscription: current,
        });
        return;
      }
      const plan = current.pending ?? (current.plan as Plan);
      current = {
        ...current,
        plan,
        pending: null,
        currentPeriodStart: end,
        currentPeriodEnd: addCycle(end, plan.cycle),
      };
      if (this.decliningAccounts.has(row.account_id)) {
        current = { ...current, status: 'past_due', pastDueSince: end };
        await this.store.apply({
          event: { id: `local_evt_renewal_failed_${current.subscriptionId}_${end}`, type: 'invoice.payment_failed' },
          occurredAt: end,
          subscription: current,
          paymentFailed: {
            provider: 'local',
            customerId: current.customerId,
            portalUrl: `${this.publicUrl()}/billing/test-portal`,
          },
        });
        continue;
      }
      await this.store.apply({
        event: { id: `local_evt_renewal_${current.subscriptionId}_${end}`, type: 'invoice.paid' },
        occurredAt: end,
        subscription: current,
        invoice: this.invoice(current, this.prices(plan).priceCents, 0, end, end),
      });
    }
  }
}
