import { randomBytes } from 'node:crypto';

/**
 * The fake's model of a Stripe account: customers, products, prices, coupons and promotion codes
 * (first-invoice coupons), checkout sessions,
 * subscriptions (with schedules), invoices, payments, charges, refunds and a test clock. Objects are
 * shaped like the API version the installed SDK pins (periods live on subscription items; an
 * invoice reaches its subscription through `parent.subscription_details`). Every state change
 * queues the event Stripe would send; the server delivers them when the test says so.
 */

// biome-ignore lint/suspicious/noExplicitAny: the fake stores Stripe-shaped JSON objects.
export type Json = Record<string, any>;

export class StripeApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = 'resource_missing',
  ) {
    super(message);
  }
}

const DAY = 86_400;
/** Failed renewals are retried this often, and the subscription is canceled after this many tries. */
const RETRY_EVERY_DAYS = 3;
const MAX_ATTEMPTS = 4;

export function fakeId(prefix: string): string {
  return `${prefix}_${randomBytes(9).toString('hex')}`;
}

function addInterval(seconds: number, interval: 'month' | 'year'): number {
  const date = new Date(seconds * 1000);
  if (interval === 'year') date.setUTCFullYear(date.getUTCFullYear() + 1);
  else date.setUTCMonth(date.getUTCMonth() + 1);
  return Math.floor(date.getTime() / 1000);
}

export class FakeBilling {
  now = Math.floor(Date.now() / 1000);
  readonly customers = new Map<string, Json>();
  readonly products = new Map<string, Json>();
  readonly prices = new Map<string, Json>();
  readonly sessions = new Map<string, Json>();
  readonly subscriptions = new Map<string, Json>();
  readonly schedules = new Map<string, Json>();
  readonly invoices = new Map<string, Json>();
  readonly charges = new Map<string, Json>();
  readonly invoicePayments = new Map<string, Json>();
  readonly refunds = new Map<string, Json>();
  readonly clocks = new Map<string, Json>();
  readonly coupons = new Map<string, Json>();
  readonly promotionCodes = new Map<string, Json>();
  /** Customers whose card is declined on every charge from now on. */
  readonly decliningCustomers = new Set<string>();
  /** Customers whose bank asks for authentication (3-D Secure) on every charge. */
  readonly authenticatingCustomers = new Set<string>();
  readonly events: Json[] = [];
  readonly pending: Json[] = [];

  constructor(readonly publicUrl: () => string) {}

  emit(type: string, object: Json): void {
    const event = {
      id: fakeId('evt'),
      object: 'event',
      api_version: '2026-10-28.endive',
      created: this.now,
      type,
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      data: { object: structuredClone(object) },
    };
    this.events.push(event);
    this.pending.push(event);
  }

  get<T extends Json>(map: Map<string, T>, id: string, what: string): T {
    const found = map.get(id);
    if (!found) throw new StripeApiError(404, `No such ${what}: '${id}'`);
    return found;
  }

  // ── Catalog ─────────────────────────────────────────────────────────────────────────────────────

  createProduct(params: Json): Json {
    const id = params.id ?? fakeId('prod');
    if (this.products.has(id))
      throw new StripeApiError(400, `Product already exists: ${id}`, 'resource_already_exists');
    const product = {
      id,
      object: 'product',
      active: true,
      name: params.name,
      metadata: params.metadata ?? {},
      created: this.now,
    };
    this.products.set(id, product);
    return product;
  }

  createPrice(params: Json): Json {
    this.get(this.products, params.product, 'product');
    if (params.lookup_key) {
      for (const other of this.prices.values()) {
        if (other.lookup_key !== params.lookup_key) continue;
        if (params.transfer_lookup_key !== 'true') {
          throw new StripeApiError(400, `A price with lookup key ${params.lookup_key} exists`, 'lookup_key_in_use');
        }
        other.lookup_key = null;
      }
    }
    const price = {
      id: fakeId('price'),
      object: 'price',
      active: true,
      currency: params.currency,
      unit_amount: Number(params.unit_amount),
      lookup_key: params.lookup_key ?? null,
      product: params.product,
      recurring: params.recurring ? { interval: params.recurring.interval, interval_count: 1 } : null,
      type: params.recurring ? 'recurring' : 'one_time',
      metadata: params.metadata ?? {},
      created: this.now,
    };
    this.prices.set(price.id, price);
    return price;
  }

  // ── Coupons and promotion codes ─────────────────────────────────────────────────────────────────

  /** A coupon as the vendor creates it in the dashboard; the fake models first-invoice (`once`) coupons. */
  createCoupon(params: Json): Json {
    if ((params.duration ?? 'once') !== 'once') {
      throw new StripeApiError(400, 'the fake models coupons with duration=once only', 'parameter_invalid');
    }
    if ((params.percent_off === undefined) === (params.amount_off === undefined)) {
      throw new StripeApiError(400, 'a coupon needs exactly one of percent_off and amount_off', 'parameter_missing');
    }
    const coupon = {
      id: params.id ?? fakeId('coupon'),
      object: 'coupon',
      duration: 'once',
      percent_off: params.percent_off === undefined ? null : Number(params.percent_off),
      amount_off: params.amount_off === undefined ? null : Number(params.amount_off),
      currency: params.currency ?? null,
      name: params.name ?? null,
      valid: true,
      times_redeemed: 0,
      metadata: params.metadata ?? {},
      created: this.now,
    };
    this.coupons.set(coupon.id, coupon);
    return coupon;
  }

  createPromotionCode(params: Json): Json {
    const coupon = this.get(this.coupons, params.promotion?.coupon, 'coupon');
    const code = {
      id: fakeId('promo'),
      object: 'promotion_code',
      code: params.code ?? randomBytes(4).toString('hex').toUpperCase(),
      active: params.active === undefined ? true : params.active === 'true',
      promotion: { type: 'coupon', coupon: coupon.id },
      times_redeemed: 0,
      metadata: params.metadata ?? {},
      created: this.now,
    };
    this.promotionCodes.set(code.id, code);
    return code;
  }

  /** The active promotion code a customer typed (codes are case-insensitive on Stripe's page). */
  private redeemable(typed: string): Json {
    const found = [...this.promotionCodes.values()].find(
      (code) => code.active && code.code.toUpperCase() === typed.toUpperCase(),
    );
    if (!found) throw new StripeApiError(400, `This code is invalid: ${typed}`, 'promotion_code_invalid');
    return found;
  }

  // ── Checkout ────────────────────────────────────────────────────────────────────────────────────

  createCustomer(params: Json): Json {
    const customer = {
      id: fakeId('cus'),
      object: 'customer',
      email: params.email ?? null,
      metadata: params.metadata ?? {},
      created: this.now,
    };
    this.customers.set(customer.id, customer);
    return customer;
  }

  createCheckoutSession(params: Json): Json {
    if (params.mode !== 'subscription') throw new StripeApiError(400, 'the fake supports subscription mode only');
    this.get(this.customers, params.customer, 'customer');
    const lineItems = (Object.values(params.line_items ?? {}) as Json[]).map((item: Json) => {
      if (!item.price) throw new StripeApiError(400, 'line_items need a price (inline price_data is not accepted)');
      return { price: this.get(this.prices, item.price, 'price'), quantity: Number(item.quantity ?? 1) };
    });
    const session = {
      id: fakeId('cs_test'),
      object: 'checkout.session',
      mode: 'subscription',
      status: 'open',
      payment_status: 'unpaid',
      customer: params.customer,
      client_reference_id: params.client_reference_id ?? null,
      metadata: params.metadata ?? {},
      success_url: params.success_url,
      cancel_url: params.cancel_url,
      allow_promotion_codes: params.allow_promotion_codes === 'true',
      discounts: [] as Json[],
      subscription: null as string | null,
      url: '',
      created: this.now,
      line_items_for_fake: lineItems,
      subscription_metadata_for_fake: params.subscription_data?.metadata ?? {},
    };
    session.url = `${this.publicUrl()}/c/pay/${session.id}`;
    this.sessions.set(session.id, session);
    return session;
  }

  /**
   * What the customer does on Stripe's hosted page: pays, which starts the subscription. A
   * promotion code typed on the page (only where the session allows codes) discounts the first
   * invoice, as a `once` coupon does.
   */
  completeCheckout(sessionId: string, options: { promotionCode?: string } = {}): Json {
    const session = this.get(this.sessions, sessionId, 'checkout session');
    if (session.status !== 'open') throw new StripeApiError(400, 'session is not open');
    let discount: Json | null = null;
    if (options.promotionCode !== undefined) {
      if (!session.allow_promotion_codes) {
        throw new StripeApiError(400, 'this checkout session does not accept promotion codes');
      }
      const promotionCode = this.redeemable(options.promotionCode);
      const coupon = this.get(this.coupons, promotionCode.promotion.coupon, 'coupon');
      discount = {
        id: fakeId('di'),
        object: 'discount',
        coupon,
        promotion_code: promotionCode.id,
        customer: session.customer,
        start: this.now,
        end: null,
      };
      promotionCode.times_redeemed += 1;
      coupon.times_redeemed += 1;
      session.discounts = [{ coupon: coupon.id, promotion_code: promotionCode.id }];
    }
    const recurring = session.line_items_for_fake.filter((line: Json) => line.price.recurring);
    const oneTime = session.line_items_for_fake.filter((line: Json) => !line.price.recurring);
    const price = recurring[0].price;
    const start = this.now;
    const subscription: Json = {
      id: fakeId('sub'),
      object: 'subscription',
      customer: session.customer,
      status: 'active',
      cancel_at_period_end: false,
      cancel_at: null,
      canceled_at: null,
      ended_at: null,
      created: start,
      start_date: start,
      metadata: session.subscription_metadata_for_fake,
      schedule: null,
      latest_invoice: null,
      pending_update: null,
      test_clock: null,
      items: { object: 'list', data: [], has_more: false, url: '/v1/subscription_items' },
    };
    subscription.items.data.push(this.subscriptionItem(subscription.id, price, start));
    this.subscriptions.set(subscription.id, subscription);
    const invoice = this.createInvoice(
      subscription,
      'subscription_create',
      [
        this.recurringLine(subscription, price, price.unit_amount),
        ...oneTime.map((line: Json) => this.oneTimeLine(line.price)),
      ],
      discount,
    );
    // Checkout collects a working card: the first payment succeeds whatever the customer's later fate.
    this.markPaid(invoice);
    subscription.latest_invoice = invoice.id;
    session.status = 'complete';
    session.payment_status = 'paid';
    session.subscription = subscription.id;
    this.emit('customer.subscription.created', subscription);
    this.emit('invoice.paid', invoice);
    this.emit('checkout.session.completed', session);
    return session;
  }

  // ── Subscriptions ───────────────────────────────────────────────────────────────────────────────

  private subscriptionItem(subscriptionId: string, price: Json, start: number): Json {
    return {
      id: fakeId('si'),
      object: 'subscription_item',
      subscription: subscriptionId,
      price,
      quantity: 1,
      current_period_start: start,
      current_period_end: addInterval(start, price.recurring.interval),
      created: start,
      metadata: {},
    };
  }

  updateSubscription(id: string, params: Json): Json {
    const subscription = this.get(this.subscriptions, id, 'subscription');
    if (subscription.status === 'canceled') throw new StripeApiError(400, 'subscription is canceled');
    if (params.cancel_at_period_end !== undefined) {
      subscription.cancel_at_period_end = params.cancel_at_period_end === 'true';
      subscription.cancel_at = subscription.cancel_at_period_end ? subscription.items.data[0].current_period_end : null;
      subscription.canceled_at = subscription.cancel_at_period_end ? this.now : null;
    }
    if (params.metadata) subscription.metadata = { ...subscription.metadata, ...params.metadata };
    const newItem = Object.values(params.items ?? {})[0] as Json | undefined;
    if (newItem?.price) {
      if (subscription.schedule)
        throw new StripeApiError(400, 'subscription is managed by a schedule; release it first');
      this.changePrice(subscription, this.get(this.prices, newItem.price, 'price'), params);
    }
    this.emit('customer.subscription.updated', subscription);
    return subscription;
  }

  /** An immediate price change, prorated to the second, invoiced at once when asked to. */
  private changePrice(subscription: Json, price: Json, params: Json): void {
    const item = subscription.items.data[0];
    const old = item.price;
    const intervalChanges = old.recurring.interval !== price.recurring.interval;
    const { current_period_start: start, current_period_end: end } = item;
    const left = Math.max(0, end - this.now) / (end - start);
    const credit = -Math.round(old.unit_amount * left);
    const lines = intervalChanges
      ? [this.recurringLine(subscription, price, price.unit_amount, this.now)]
      : [this.recurringLine(subscription, price, Math.round(price.unit_amount * left), start)];
    lines.unshift({ ...this.recurringLine(subscription, old, credit, start), proration: true });
    for (const added of Object.values(params.add_invoice_items ?? {}) as Json[]) {
      lines.push(this.oneTimeLine(this.get(this.prices, added.price, 'price')));
    }
    if (params.proration_behavior === 'always_invoice') {
      const invoice = this.createInvoice(subscription, 'subscription_update', lines);
      const paid = this.attemptPayment(invoice);
      if (!paid && params.payment_behavior === 'pending_if_incomplete') {
        invoice.status = 'void';
        subscription.pending_update = { expires_at: this.now + DAY, subscription_items: [{ price: price.id }] };
        return;
      }
      subscription.latest_invoice = invoice.id;
      this.emit(paid ? 'invoice.paid' : 'invoice.payment_failed', invoice);
    }
    subscription.pending_update = null;
    item.price = price;
    if (intervalChanges) {
      item.current_period_start = this.now;
      item.current_period_end = addInterval(this.now, price.recurring.interval);
    }
  }

  cancelSubscription(id: string): Json {
    const subscription = this.get(this.subscriptions, id, 'subscription');
    this.endSubscription(subscription);
    return subscription;
  }

  private endSubscription(subscription: Json): void {
    subscription.status = 'canceled';
    subscription.ended_at = this.now;
    subscription.canceled_at ??= this.now;
    if (subscription.schedule) this.get(this.schedules, subscription.schedule, 'schedule').status = 'canceled';
    this.emit('customer.subscription.deleted', subscription);
  }

  createSchedule(params: Json): Json {
    const subscription = this.get(this.subscriptions, params.from_subscription, 'subscription');
    if (subscription.schedule) throw new StripeApiError(400, 'subscription already has a schedule');
    const item = subscription.items.data[0];
    const schedule = {
      id: fakeId('sub_sched'),
      object: 'subscription_schedule',
      customer: subscription.customer,
      subscription: subscription.id,
      status: 'active',
      end_behavior: 'release',
      current_phase: { start_date: item.current_period_start, end_date: item.current_period_end },
      phases: [
        {
          start_date: item.current_period_start,
          end_date: item.current_period_end,
          items: [{ price: item.price.id, quantity: 1 }],
        },
      ],
      created: this.now,
    };
    this.schedules.set(schedule.id, schedule);
    subscription.schedule = schedule.id;
    this.emit('customer.subscription.updated', subscription);
    return schedule;
  }

  updateSchedule(id: string, params: Json): Json {
    const schedule = this.get(this.schedules, id, 'subscription schedule');
    if (schedule.status !== 'active') throw new StripeApiError(400, 'schedule is not active');
    const phases = Object.values(params.phases ?? {}) as Json[];
    schedule.phases = phases.map((phase, index) => {
      const price = this.get(this.prices, Object.values(phase.items as Json)[0].price, 'price');
      const start = index === 0 ? Number(phase.start_date) : schedule.phases[0].end_date;
      const end = phase.end_date ? Number(phase.end_date) : addInterval(start, price.recurring.interval);
      return { start_date: start, end_date: end, items: [{ price: price.id, quantity: 1 }] };
    });
    if (params.end_behavior) schedule.end_behavior = params.end_behavior;
    const subscription = this.get(this.subscriptions, schedule.subscription, 'subscription');
    this.emit('customer.subscription.updated', subscription);
    return schedule;
  }

  releaseSchedule(id: string): Json {
    const schedule = this.get(this.schedules, id, 'subscription schedule');
    schedule.status = 'released';
    const subscription = this.get(this.subscriptions, schedule.subscription, 'subscription');
    subscription.schedule = null;
    this.emit('customer.subscription.updated', subscription);
    return schedule;
  }

  // ── Invoices and payments ───────────────────────────────────────────────────────────────────────

  private recurringLine(subscription: Json, price: Json, amount: number, from?: number): Json {
    const start = from ?? this.now;
    return {
      id: fakeId('il'),
      object: 'line_item',
      amount,
      currency: price.currency,
      period: { start, end: addInterval(start, price.recurring.interval) },
      pricing: { type: 'price_details', price_details: { price: price.id, product: price.product } },
      subscription: subscription.id,
      quantity: 1,
    };
  }

  private oneTimeLine(price: Json): Json {
    return {
      id: fakeId('il'),
      object: 'line_item',
      amount: price.unit_amount,
      currency: price.currency,
      period: { start: this.now, end: this.now },
      pricing: { type: 'price_details', price_details: { price: price.id, product: price.product } },
      subscription: null,
      quantity: 1,
    };
  }

  /**
   * An invoice of `lines`; a discount is spread over the lines as Stripe reports it (each line's
   * `discount_amounts`, the sum in `total_discount_amounts`), and `amount_due` is what is left.
   */
  private createInvoice(subscription: Json, reason: string, lines: Json[], discount: Json | null = null): Json {
    const subtotal = lines.reduce((sum, line) => sum + line.amount, 0);
    let discountTotal = 0;
    for (const line of lines) {
      line.discount_amounts = [];
      line.discounts = [];
    }
    if (discount && subtotal > 0) {
      const { percent_off: percent, amount_off: amountOff } = discount.coupon;
      discountTotal = Math.min(subtotal, percent !== null ? Math.round((subtotal * percent) / 100) : amountOff);
      // Spread pro rata over the lines, the rounding remainder on the last one.
      let left = discountTotal;
      lines.forEach((line, index) => {
        const share =
          index === lines.length - 1 ? left : Math.round((discountTotal * Math.max(0, line.amount)) / subtotal);
        left -= share;
        line.discount_amounts = [{ amount: share, discount: discount.id }];
        line.discounts = [discount.id];
      });
    }
    const total = subtotal - discountTotal;
    const invoice = {
      id: fakeId('in'),
      object: 'invoice',
      customer: subscription.customer,
      billing_reason: reason,
      currency: lines[0]?.currency ?? 'usd',
      subtotal,
      total,
      discounts: discount ? [discount.id] : [],
      total_discount_amounts: discount ? [{ amount: discountTotal, discount: discount.id }] : [],
      amount_due: Math.max(0, total),
      amount_paid: 0,
      amount_remaining: Math.max(0, total),
      attempt_count: 0,
      attempted: false,
      next_payment_attempt: null as number | null,
      status: 'open',
      created: this.now,
      period_start: this.now,
      period_end: this.now,
      parent: {
        type: 'subscription_details',
        quote_details: null,
        subscription_details: { subscription: subscription.id, metadata: { ...subscription.metadata } },
      },
      lines: { object: 'list', data: lines, has_more: false, url: '/v1/invoices/lines' },
      status_transitions: { paid_at: null as number | null },
    };
    this.invoices.set(invoice.id, invoice);
    return invoice;
  }

  /** Charges the customer's card; true when the invoice ended up paid. */
  private attemptPayment(invoice: Json): boolean {
    invoice.attempt_count += 1;
    invoice.attempted = true;
    if (invoice.amount_due === 0 || !this.decliningCustomers.has(invoice.customer)) {
      if (!this.authenticatingCustomers.has(invoice.customer) || invoice.amount_due === 0) {
        this.markPaid(invoice);
        return true;
      }
    }
    invoice.next_payment_attempt =
      invoice.attempt_count < MAX_ATTEMPTS ? this.now + RETRY_EVERY_DAYS * DAY : (null as number | null);
    return false;
  }

  private markPaid(invoice: Json): void {
    invoice.status = 'paid';
    invoice.amount_paid = invoice.amount_due;
    invoice.amount_remaining = 0;
    invoice.next_payment_attempt = null;
    invoice.status_transitions.paid_at = this.now;
    if (invoice.amount_paid === 0) return;
    const paymentIntent = fakeId('pi');
    const charge = {
      id: fakeId('ch'),
      object: 'charge',
      amount: invoice.amount_paid,
      amount_refunded: 0,
      refunded: false,
      currency: invoice.currency,
      customer: invoice.customer,
      payment_intent: paymentIntent,
      status: 'succeeded',
      created: this.now,
    };
    this.charges.set(charge.id, charge);
    const payment = {
      id: fakeId('inpay'),
      object: 'invoice_payment',
      invoice: invoice.id,
      amount_paid: invoice.amount_paid,
      currency: invoice.currency,
      is_default: true,
      status: 'paid',
      payment: { type: 'payment_intent', payment_intent: paymentIntent },
      created: this.now,
    };
    this.invoicePayments.set(payment.id, payment);
  }

  refund(params: Json): Json {
    const charge = params.charge
      ? this.get(this.charges, params.charge, 'charge')
      : [...this.charges.values()].find((candidate) => candidate.payment_intent === params.payment_intent);
    if (!charge) throw new StripeApiError(404, 'No such charge');
    const amount = params.amount ? Number(params.amount) : charge.amount - charge.amount_refunded;
    if (amount > charge.amount - charge.amount_refunded) throw new StripeApiError(400, 'refund exceeds the charge');
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded === charge.amount;
    this.emit('charge.refunded', charge);
    const refund = {
      id: fakeId('re'),
      object: 'refund',
      amount,
      charge: charge.id,
      payment_intent: charge.payment_intent,
      currency: charge.currency,
      metadata: (params.metadata as Json | undefined) ?? {},
      reason: params.reason ?? null,
      status: 'succeeded',
      created: this.now,
    };
    this.refunds.set(refund.id, refund);
    return refund;
  }

  // ── Time ────────────────────────────────────────────────────────────────────────────────────────

  /** Moves the clock forward, doing on the way every renewal, retry, schedule phase and cancellation. */
  advanceTo(target: number): void {
    for (;;) {
      const next = this.nextDue(target);
      if (!next) break;
      this.now = next.at;
      next.run();
    }
    this.now = Math.max(this.now, target);
  }

  private nextDue(target: number): { at: number; run: () => void } | null {
    let best: { at: number; run: () => void } | null = null;
    const consider = (at: number, run: () => void) => {
      if (at <= target && (!best || at < best.at)) best = { at, run };
    };
    for (const subscription of this.subscriptions.values()) {
      if (subscription.status === 'canceled') continue;
      consider(subscription.items.data[0].current_period_end, () => this.renew(subscription));
      const latest = subscription.latest_invoice ? this.invoices.get(subscription.latest_invoice) : undefined;
      if (latest?.status === 'open') {
        if (latest.next_payment_attempt) consider(latest.next_payment_attempt, () => this.retry(subscription, latest));
        else consider(this.now, () => this.endSubscription(subscription));
      }
    }
    return best;
  }

  private renew(subscription: Json): void {
    const item = subscription.items.data[0];
    if (subscription.cancel_at_period_end) {
      this.endSubscription(subscription);
      return;
    }
    if (subscription.schedule) {
      const schedule = this.get(this.schedules, subscription.schedule, 'schedule');
      const nextPhase = schedule.phases.find((phase: Json) => phase.start_date >= item.current_period_end);
      if (nextPhase) item.price = this.get(this.prices, nextPhase.items[0].price, 'price');
      if (schedule.end_behavior === 'release') {
        schedule.status = 'released';
        subscription.schedule = null;
      }
    }
    item.current_period_start = item.current_period_end;
    item.current_period_end = addInterval(item.current_period_start, item.price.recurring.interval);
    const invoice = this.createInvoice(subscription, 'subscription_cycle', [
      this.recurringLine(subscription, item.price, item.price.unit_amount),
    ]);
    subscription.latest_invoice = invoice.id;
    this.settle(subscription, invoice);
  }

  private retry(subscription: Json, invoice: Json): void {
    this.settle(subscription, invoice);
  }

  private settle(subscription: Json, invoice: Json): void {
    const wasPastDue = subscription.status === 'past_due';
    if (this.attemptPayment(invoice)) {
      subscription.status = 'active';
      this.emit('invoice.paid', invoice);
      this.emit('customer.subscription.updated', subscription);
      return;
    }
    subscription.status = 'past_due';
    const actionNeeded = this.authenticatingCustomers.has(invoice.customer);
    this.emit(actionNeeded ? 'invoice.payment_action_required' : 'invoice.payment_failed', invoice);
    if (!wasPastDue || invoice.attempt_count === 1) this.emit('customer.subscription.updated', subscription);
  }

  trialWillEnd(id: string): void {
    this.emit('customer.subscription.trial_will_end', this.get(this.subscriptions, id, 'subscription'));
  }
}
