import type Stripe from 'stripe';
import type { CheckoutReturn } from '../../src-shared/api.ts';
import { type Catalog, findTier } from '../../src-shared/catalog.ts';
import { SubscriptionStatus } from '../../src-shared/license.ts';
import type { SubscriptionRow } from '../db/schema.ts';
import { type PriceKind, priceLookupKey } from './catalog-prices.ts';
import type { Plan, PlanChange } from './plan-change.ts';
import { type BillingAccount, type PaymentProvider, PaymentProviderError, type RefundableInvoice } from './provider.ts';
import { planOfPrice, priceKind, pricesByLookupKey } from './stripe-catalog.ts';
import type { ProviderSubscription } from './subscription-state.ts';
import type { BillingEffect, InvoiceRecord, SubscriptionStore } from './subscription-store.ts';

/**
 * Stripe as the payment provider, through the official SDK. Subscriptions are priced only with the
 * catalog's Prices (found by lookup key, never inline `price_data`); every POST carries an
 * idempotency key (stable where the object must exist once, like the customer; fresh per operation
 * elsewhere, so the SDK's retry after a lost response cannot apply it twice); and every outcome is re-read from Stripe and applied through the store, so the
 * order webhooks arrive in never matters.
 */

const ms = (unixSeconds: number) => unixSeconds * 1000;
const discountOf = (line: Stripe.InvoiceLineItem) =>
  (line.discount_amounts ?? []).reduce((sum, discount) => sum + discount.amount, 0);
const idOf = (value: string | { id: string } | null | undefined) => (typeof value === 'string' ? value : value?.id);

export class StripeProvider implements PaymentProvider {
  readonly name = 'stripe' as const;
  /** What a price sells (tier, cycle) never changes, so prices are remembered by id. */
  private readonly pricesById = new Map<string, Stripe.Price>();

  constructor(
    private readonly stripe: Stripe,
    private readonly store: SubscriptionStore,
    private readonly catalog: Catalog,
    /** Read at each use: with port 0 the server learns its URL only once it listens. */
    private readonly publicUrl: () => string,
  ) {}

  // ── Prices ──────────────────────────────────────────────────────────────────────────────────────

  /**
   * The price a lookup key names now. Asked each time (one small read per checkout or change): a
   * catalog sync may have moved the key to a new price while the server runs.
   */
  private async catalogPrice(plan: { tier: Plan['tier'] }, kind: PriceKind): Promise<Stripe.Price | null> {
    const key = priceLookupKey(plan.tier, kind);
    const price = (await pricesByLookupKey(this.stripe, [key])).get(key) ?? null;
    if (price) this.pricesById.set(price.id, price);
    return price;
  }

  private async requiredPrice(plan: Plan): Promise<Stripe.Price> {
    const price = await this.catalogPrice(plan, plan.cycle);
    if (!price) {
      throw new PaymentProviderError(
        `Stripe has no price "${priceLookupKey(plan.tier, plan.cycle)}": run \`npm run stripe:sync\` to create the catalog's prices.`,
      );
    }
    return price;
  }

  private async priceById(price: string | Stripe.Price | Stripe.DeletedPrice): Promise<Stripe.Price> {
    if (typeof price !== 'string' && !price.deleted) return price;
    const id = idOf(price) as string;
    let found = this.pricesById.get(id);
    if (!found) {
      found = await this.stripe.prices.retrieve(id);
      this.pricesById.set(id, found);
    }
    return found;
  }

  // ── Customer-facing operations ──────────────────────────────────────────────────────────────────

  private async customerFor(account: BillingAccount, row: SubscriptionRow): Promise<string> {
    if (row.provider === 'stripe' && row.provider_customer_id) return row.provider_customer_id;
    // The key makes a retried or concurrent first checkout find the same customer, not a second one.
    const customer = await this.stripe.customers.create(
      { email: account.email, metadata: { account_id: account.id } },
      { idempotencyKey: `tollgate-customer-${account.id}` },
    );
    await this.store.rememberCustomer(account.id, 'stripe', customer.id);
    return customer.id;
  }

  async checkout(
    account: BillingAccount,
    row: SubscriptionRow,
    plan: Plan,
    returnTo: CheckoutReturn,
  ): Promise<{ url: string; sessionId: string }> {
    const customer = await this.customerFor(account, row);
    const lineItems: Stripe.Checkout.SessionCreateParams.LineItem[] = [
      { price: (await this.requiredPrice(plan)).id, quantity: 1 },
    ];
    const tier = findTier(this.catalog, plan.tier);
    if (tier.prices !== 'negotiated' && tier.prices.setup_fee_cents > 0) {
      const setupFee = await this.catalogPrice(plan, 'setup_fee');
      if (!setupFee) throw new PaymentProviderError('Stripe has no setup fee price: run `npm run stripe:sync`.');
      lineItems.push({ price: setupFee.id, quantity: 1 });
    }
    const session = await this.stripe.checkout.sessions.create(
      {
        mode: 'subscription',
        customer,
        client_reference_id: account.id,
        line_items: lineItems,
        // The vendor's promotion codes (created in the Stripe dashboard) can be typed on the page;
        // the discount shows on the first invoice, whose amount_paid is what revenue counts.
        allow_promotion_codes: true,
        subscription_data: { metadata: { account_id: account.id } },
        metadata: { account_id: account.id },
        // Stripe fills in {CHECKOUT_SESSION_ID}; the page hands the app its tollgate:// link.
        success_url: `${this.publicUrl()}/billing/done?checkout=success${returnTo === 'app' ? '&app=1&session={CHECKOUT_SESSION_ID}' : ''}`,
        cancel_url: `${this.publicUrl()}/billing/done?checkout=canceled${returnTo === 'app' ? '&app=1' : ''}`,
      },
      { idempotencyKey: `tollgate-checkout-${account.id}-${plan.tier}-${plan.cycle}-${crypto.randomUUID()}` },
    );
    if (!session.url) throw new PaymentProviderError('Stripe returned a checkout session without a URL.');
    return { url: session.url, sessionId: session.id };
  }

  async portal(account: BillingAccount, row: SubscriptionRow, returnTo: CheckoutReturn): Promise<{ url: string }> {
    const customer = await this.customerFor(account, row);
    const session = await this.stripe.billingPortal.sessions.create(
      { customer, return_url: `${this.publicUrl()}/billing/done?portal=closed${returnTo === 'app' ? '&app=1' : ''}` },
      { idempotencyKey: `tollgate-portal-${account.id}-${crypto.randomUUID()}` },
    );
    return { url: session.url };
  }

  async changePlan(_account: BillingAccount, row: SubscriptionRow, plan: Plan, change: PlanChange): Promise<void> {
    const subscription = await this.liveSubscription(row);
    const item = subscription.items.data[0] as Stripe.SubscriptionItem;
    const price = await this.requiredPrice(plan);
    const schedule = subscription.schedule as Stripe.SubscriptionSchedule | null;
    const key = `tollgate-change-${subscription.id}-${price.id}-${crypto.randomUUID()}`;
    // Choosing another plan means staying: a scheduled cancel is undone once the change is made.
    const uncancel = async () => {
      if (!subscription.cancel_at_period_end) return;
      await this.stripe.subscriptions.update(
        subscription.id,
        { cancel_at_period_end: false },
        { idempotencyKey: `${key}-uncancel` },
      );
    };
    let paymentFailed = false;
    if (change.effective === 'now' || change.kind === 'none') {
      // A schedule (a pending downgrade) would undo the change at period end: the newer wish wins.
      if (schedule) {
        await this.stripe.subscriptionSchedules.release(schedule.id, {}, { idempotencyKey: `${key}-release` });
      }
      if (change.kind !== 'none') {
        const setupFee = plan.tier !== row.tier ? await this.catalogPrice(plan, 'setup_fee') : null;
        const updated = await this.stripe.subscriptions.update(
          subscription.id,
          {
            items: [{ id: item.id, price: price.id }],
            // Moving into a tier with a setup fee pays it once, on the same invoice as the proration.
            ...(setupFee ? { add_invoice_items: [{ price: setupFee.id, quantity: 1 }] } : {}),
            // Charge the difference now; if that payment fails the subscription stays as it was.
            proration_behavior: 'always_invoice',
            payment_behavior: 'pending_if_incomplete',
          },
          { idempotencyKey: key },
        );
        paymentFailed = updated.pending_update !== null;
        if (!paymentFailed) await uncancel();
      }
    } else {
      await uncancel();
      const scheduleId =
        schedule?.id ??
        (
          await this.stripe.subscriptionSchedules.create(
            { from_subscription: subscription.id },
            { idempotencyKey: `${key}-schedule` },
          )
        ).id;
      const current = schedule ?? (await this.stripe.subscriptionSchedules.retrieve(scheduleId));
      const firstPhase = current.phases[0] as Stripe.SubscriptionSchedule.Phase;
      await this.stripe.subscriptionSchedules.update(
        scheduleId,
        {
          end_behavior: 'release',
          phases: [
            {
              items: [{ price: item.price.id, quantity: 1 }],
              start_date: firstPhase.start_date,
              end_date: item.current_period_end,
            },
            {
              items: [{ price: price.id, quantity: 1 }],
              duration: { interval: plan.cycle === 'yearly' ? 'year' : 'month', interval_count: 1 },
            },
          ],
        },
        { idempotencyKey: `${key}-phases` },
      );
    }
    await this.store.apply({ subscription: await this.readSubscription(subscription.id) });
    if (paymentFailed) {
      throw new PaymentProviderError(
        'The payment for this change did not go through, so the plan is unchanged. Update the card in the billing portal and try again.',
      );
    }
  }

  async setCancelAtPeriodEnd(_account: BillingAccount, row: SubscriptionRow, cancel: boolean): Promise<void> {
    const subscription = await this.liveSubscription(row);
    const schedule = subscription.schedule as Stripe.SubscriptionSchedule | null;
    const key = `tollgate-cancel-${subscription.id}-${cancel}-${crypto.randomUUID()}`;
    // Leaving supersedes a scheduled downgrade; the schedule would otherwise own the subscription.
    if (schedule && cancel) {
      await this.stripe.subscriptionSchedules.release(schedule.id, {}, { idempotencyKey: `${key}-release` });
    }
    await this.stripe.subscriptions.update(subscription.id, { cancel_at_period_end: cancel }, { idempotencyKey: key });
    await this.store.apply({ subscription: await this.readSubscription(subscription.id) });
  }

  async refund(invoice: RefundableInvoice, amountCents: number, reason: string, key: string): Promise<void> {
    const payments = await this.stripe.invoicePayments.list({ invoice: invoice.id, status: 'paid', limit: 10 });
    const paymentIntent = payments.data.map((payment) => idOf(payment.payment.payment_intent)).find(Boolean);
    if (!paymentIntent) throw new PaymentProviderError(`Stripe holds no card payment of invoice ${invoice.id}.`);
    const refund = await this.stripe.refunds.create(
      {
        payment_intent: paymentIntent,
        amount: amountCents,
        // Stripe's own `reason` is an enum; the administrator's words go in the metadata.
        metadata: { tollgate_invoice: invoice.id, tollgate_reason: reason },
      },
      { idempotencyKey: key },
    );
    // The refunded total as Stripe reports it now; the charge.refunded webhook later says the same.
    const charge = idOf(refund.charge);
    const record = charge ? await this.invoiceOfCharge(charge) : null;
    if (record) await this.store.apply({ invoice: record });
  }

  private async liveSubscription(row: SubscriptionRow): Promise<Stripe.Subscription> {
    if (row.provider !== 'stripe' || !row.provider_subscription_id) {
      throw new PaymentProviderError('This account has no Stripe subscription to change.');
    }
    return this.stripe.subscriptions.retrieve(row.provider_subscription_id, { expand: ['schedule'] });
  }

  // ── Reading Stripe's truth ──────────────────────────────────────────────────────────────────────

  /** The subscription as Stripe holds it now, normalized (never a webhook's possibly stale copy). */
  async readSubscription(id: string): Promise<ProviderSubscription> {
    return this.subscriptionOf(
      await this.stripe.subscriptions.retrieve(id, { expand: ['schedule', 'latest_invoice'] }),
    );
  }

  /** A subscription read with `schedule` and `latest_invoice` expanded, normalized. */
  async subscriptionOf(subscription: Stripe.Subscription): Promise<ProviderSubscription> {
    const id = subscription.id;
    const item = subscription.items.data[0];
    if (!item) throw new PaymentProviderError(`Stripe subscription ${id} has no items.`);
    const status = SubscriptionStatus.safeParse(subscription.status);
    const latestInvoice = subscription.latest_invoice as Stripe.Invoice | null;
    return {
      provider: 'stripe',
      accountId: subscription.metadata?.account_id ?? null,
      customerId: idOf(subscription.customer) as string,
      subscriptionId: subscription.id,
      status: status.success ? status.data : 'incomplete_expired',
      plan: planOfPrice(await this.priceById(item.price)),
      currentPeriodStart: ms(item.current_period_start),
      currentPeriodEnd: ms(item.current_period_end),
      cancelAtPeriodEnd: subscription.cancel_at_period_end,
      pending: await this.pendingPlan(subscription.schedule as Stripe.SubscriptionSchedule | null, item),
      pastDueSince: subscription.status === 'past_due' && latestInvoice ? ms(latestInvoice.created) : null,
      lastChangedAt: ms(
        Math.max(
          subscription.ended_at ?? 0,
          subscription.canceled_at ?? 0,
          latestInvoice?.created ?? 0,
          latestInvoice?.status_transitions?.paid_at ?? 0,
        ),
      ),
    };
  }

  private async pendingPlan(
    schedule: Stripe.SubscriptionSchedule | null,
    item: Stripe.SubscriptionItem,
  ): Promise<Plan | null> {
    if (schedule?.status !== 'active') return null;
    const next = schedule.phases.find((phase) => phase.start_date >= item.current_period_end);
    const price = next?.items[0]?.price;
    return price ? planOfPrice(await this.priceById(price)) : null;
  }

  /** A paid invoice as analytics records it, with refunds as Stripe reports them now. */
  async readInvoice(id: string, amountRefundedCents = 0): Promise<InvoiceRecord | null> {
    return this.invoiceOf(await this.stripe.invoices.retrieve(id), amountRefundedCents);
  }

  /** An invoice Stripe returned (read or listed) as analytics records it; null unless a paid plan invoice. */
  async invoiceOf(invoice: Stripe.Invoice, amountRefundedCents = 0): Promise<InvoiceRecord | null> {
    if (invoice.status !== 'paid' || !invoice.status_transitions.paid_at) return null;
    let recurring: { plan: Plan; line: Stripe.InvoiceLineItem } | null = null;
    let setupFeeCents = 0;
    for (const line of invoice.lines.data) {
      const linePrice = line.pricing?.price_details?.price;
      if (!linePrice) continue;
      const kind = priceKind(await this.priceById(linePrice));
      if (!kind) continue;
      // A promotion code's discount is spread over the lines: the fee collected is what is left of it.
      if (kind.kind === 'setup_fee') setupFeeCents += line.amount - discountOf(line);
      // The positive recurring line is what was bought; a proration credit for the old price is negative.
      else if (line.amount >= 0 && !recurring) recurring = { plan: { tier: kind.tier, cycle: kind.kind }, line };
    }
    if (!recurring) return null;
    const details = invoice.parent?.subscription_details;
    return {
      id: invoice.id,
      accountId: details?.metadata?.account_id ?? null,
      customerId: idOf(invoice.customer) as string,
      provider: 'stripe',
      tier: recurring.plan.tier,
      cycle: recurring.plan.cycle,
      amountPaidCents: invoice.amount_paid,
      setupFeeCents,
      amountRefundedCents,
      currency: invoice.currency,
      periodStart: ms(recurring.line.period.start),
      periodEnd: ms(recurring.line.period.end),
      paidAt: ms(invoice.status_transitions.paid_at),
    };
  }

  async invoiceOfCharge(chargeId: string): Promise<InvoiceRecord | null> {
    const charge = await this.stripe.charges.retrieve(chargeId);
    const paymentIntent = idOf(charge.payment_intent);
    if (!paymentIntent) return null;
    const payments = await this.stripe.invoicePayments.list({
      payment: { type: 'payment_intent', payment_intent: paymentIntent },
      limit: 1,
    });
    const invoice = idOf(payments.data[0]?.invoice);
    return invoice ? this.readInvoice(invoice, charge.amount_refunded) : null;
  }

  /**
   * What a verified event changes, read afresh from Stripe: the event only says *what* to look at.
   * Events of other types are recorded (so they are not processed twice) and change nothing.
   */
  async effectOf(event: Stripe.Event): Promise<BillingEffect> {
    const effect: BillingEffect = { event: { id: event.id, type: event.type } };
    const object = event.data.object as { id: string; subscription?: unknown; parent?: Stripe.Invoice['parent'] };
    switch (event.type) {
      case 'checkout.session.completed': {
        const subscription = idOf(object.subscription as string | null);
        if (subscription) effect.subscription = await this.readSubscription(subscription);
        break;
      }
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted':
      case 'customer.subscription.paused':
      case 'customer.subscription.resumed':
      case 'customer.subscription.trial_will_end':
        effect.subscription = await this.readSubscription(object.id);
        break;
      case 'invoice.paid':
      case 'invoice.payment_failed':
      case 'invoice.payment_action_required': {
        const subscription = idOf(object.parent?.subscription_details?.subscription);
        if (subscription) effect.subscription = await this.readSubscription(subscription);
        if (event.type === 'invoice.paid') effect.invoice = (await this.readInvoice(object.id)) ?? undefined;
        if (event.type === 'invoice.payment_failed') effect.paymentFailed = await this.paymentFailure(event);
        break;
      }
      case 'charge.refunded':
        effect.invoice = (await this.invoiceOfCharge(object.id)) ?? undefined;
        break;
    }
    // The event's own time dates the change (a checkout paid at 23:50 whose webhook arrives after
    // midnight is that month's), unless the subscription as read shows a change made after it.
    if (effect.subscription) {
      effect.occurredAt = Math.max(ms(event.created), effect.subscription.lastChangedAt ?? 0);
    }
    return effect;
  }

  /** What the failed-payment email needs: the customer and a billing portal link to fix the card. */
  private async paymentFailure(event: Stripe.Event): Promise<BillingEffect['paymentFailed']> {
    const customerId = StripeProvider.customerOf(event);
    const session = await this.stripe.billingPortal.sessions.create(
      { customer: customerId, return_url: `${this.publicUrl()}/billing/done?portal=closed` },
      { idempotencyKey: `tollgate-portal-failed-${event.id}` },
    );
    return { provider: 'stripe', customerId, portalUrl: session.url };
  }

  /** The customer an event concerns, so events about one customer are applied one at a time. */
  static customerOf(event: Stripe.Event): string {
    const object = event.data.object as { customer?: string | { id: string } | null };
    return idOf(object.customer) ?? event.id;
  }
}
