import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { FakeBilling, fakeId, type Json, StripeApiError } from './billing.ts';
import { decodeForm, type FormObject, type FormValue, list, str } from './form.ts';

/**
 * A stateful fake of the Stripe API, enough for Tollgate's billing: the real `stripe` SDK talks to
 * it over HTTP (pointed here through `STRIPE_API_BASE`), and it delivers webhooks signed exactly as
 * Stripe signs them, so the server's verification code runs for real.
 */

export interface FakeStripeOptions {
  apiKey: string;
  webhookSecret: string;
  /** Where webhooks go (the billing server's `/v1/webhooks/stripe`); settable later. */
  webhookUrl?: string;
}

export type Signature = 'valid' | 'bad' | 'stale';

export interface FakeStripe {
  url: string;
  billing: FakeBilling;
  webhookUrl: string | undefined;
  /** Every request the fake received, for assertions on idempotency keys and the like. */
  requests: { method: string; path: string; idempotencyKey: string | undefined }[];
  /**
   * The most items one list page holds, whatever `limit` asks (Stripe's own cap is 100): a test
   * lowers it so a client has to page through `starting_after` and `has_more`.
   */
  listPageCap: number;
  /** Delivers queued events in order; returns the HTTP status of each delivery. */
  flush(): Promise<number[]>;
  /** Takes the queued events without delivering them (the chaos test delivers them its own way). */
  drain(): Json[];
  deliver(event: Json, signature?: Signature): Promise<number>;
  close(): Promise<void>;
}

const signer = new Stripe('sk_test_fake_signer');

export async function startFakeStripe(options: FakeStripeOptions): Promise<FakeStripe> {
  let url = '';
  const billing = new FakeBilling(() => url);
  const idempotent = new Map<string, { status: number; body: string }>();
  const requests: FakeStripe['requests'] = [];

  const server = createServer((request, response) => {
    readBody(request)
      .then((text) => {
        const key = header(request, 'idempotency-key');
        const path = (request.url ?? '/').split('?')[0] as string;
        requests.push({ method: request.method ?? 'GET', path, idempotencyKey: key });
        if (header(request, 'authorization') !== `Bearer ${options.apiKey}`) {
          return send(response, 401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
        }
        const cacheKey = key && request.method === 'POST' ? `${key}` : undefined;
        const cached = cacheKey ? idempotent.get(cacheKey) : undefined;
        if (cached) {
          response.writeHead(cached.status, { 'content-type': 'application/json', 'idempotent-replayed': 'true' });
          return response.end(cached.body);
        }
        const query = decodeForm((request.url ?? '').split('?')[1] ?? '');
        const body = request.method === 'POST' ? decodeForm(text) : query;
        let status = 200;
        let payload: Json;
        try {
          payload = route(billing, request.method ?? 'GET', path, body, fake.listPageCap);
        } catch (error) {
          if (!(error instanceof StripeApiError)) throw error;
          status = error.status;
          payload = { error: { type: 'invalid_request_error', message: error.message, code: error.code } };
        }
        const json = JSON.stringify(payload);
        if (cacheKey) idempotent.set(cacheKey, { status, body: json });
        response.writeHead(status, { 'content-type': 'application/json', 'request-id': fakeId('req') });
        response.end(json);
      })
      .catch((error: unknown) => send(response, 500, { error: { type: 'api_error', message: String(error) } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: FakeStripe = {
    url,
    billing,
    webhookUrl: options.webhookUrl,
    requests,
    listPageCap: 100,
    async deliver(event, signature = 'valid') {
      if (!fake.webhookUrl) throw new Error('the fake has no webhook URL to deliver to');
      const payload = JSON.stringify(event, null, 2);
      const realSeconds = Math.floor(Date.now() / 1000);
      const header = signer.webhooks.generateTestHeaderString({
        payload,
        secret: signature === 'bad' ? 'whsec_not_the_real_one' : options.webhookSecret,
        timestamp: signature === 'stale' ? realSeconds - 600 : realSeconds,
      });
      const response = await fetch(fake.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': header },
        body: payload,
      });
      await response.arrayBuffer();
      return response.status;
    },
    drain() {
      return billing.pending.splice(0);
    },
    async flush() {
      const statuses: number[] = [];
      while (billing.pending.length > 0) statuses.push(await fake.deliver(billing.pending.shift() as Json));
      return statuses;
    },
    // Idempotent: a test may take the fake down on purpose (Stripe unreachable) before cleanup.
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}

function route(billing: FakeBilling, method: string, path: string, body: FormObject, pageCap: number): Json {
  const parts = path.split('/').filter(Boolean).slice(1);
  // Namespaced resources (`checkout/sessions`, `test_helpers/test_clocks`) route as one name.
  if (parts[0] === 'checkout' || parts[0] === 'billing_portal' || parts[0] === 'test_helpers') {
    parts.splice(0, 2, `${parts[0]}/${parts[1]}`);
  }
  const [resource, id, action] = parts;
  const key = `${method} ${resource}${id ? '/:id' : ''}${action ? `/${action}` : ''}`;
  const params = body as Json;
  switch (key) {
    case 'POST customers':
      return billing.createCustomer(params);
    case 'GET customers':
      return page([...billing.customers.values()], params, '/v1/customers', pageCap);
    case 'GET customers/:id':
      return billing.get(billing.customers, id as string, 'customer');
    case 'POST products':
      return billing.createProduct(params);
    case 'GET products/:id':
      return billing.get(billing.products, id as string, 'product');
    case 'POST products/:id': {
      const product = billing.get(billing.products, id as string, 'product');
      if (params.name !== undefined) product.name = params.name;
      if (params.active !== undefined) product.active = params.active === 'true';
      return product;
    }
    case 'POST prices':
      return billing.createPrice(params);
    case 'GET prices':
      return listOf(
        [...billing.prices.values()].filter(
          (price) =>
            (!params.lookup_keys || list(params.lookup_keys).includes(price.lookup_key)) &&
            (params.active === undefined || String(price.active) === params.active),
        ),
        '/v1/prices',
      );
    case 'POST prices/:id': {
      const price = billing.get(billing.prices, id as string, 'price');
      if (params.active !== undefined) price.active = params.active === 'true';
      return price;
    }
    case 'GET prices/:id':
      return billing.get(billing.prices, id as string, 'price');
    case 'POST coupons':
      return billing.createCoupon(params);
    case 'POST promotion_codes':
      return billing.createPromotionCode(params);
    case 'GET promotion_codes/:id':
      return billing.get(billing.promotionCodes, id as string, 'promotion code');
    case 'POST checkout/sessions':
      return billing.createCheckoutSession(params);
    case 'GET checkout/sessions/:id':
      return billing.get(billing.sessions, id as string, 'checkout session');
    case 'POST billing_portal/sessions':
      billing.get(billing.customers, params.customer, 'customer');
      return {
        id: fakeId('bps'),
        object: 'billing_portal.session',
        customer: params.customer,
        return_url: params.return_url ?? null,
        url: `${billing.publicUrl()}/p/session/${fakeId('test')}`,
        created: billing.now,
      };
    case 'GET subscriptions': {
      // Stripe leaves canceled subscriptions out unless asked for them (status=all or canceled).
      const status = params.status ?? 'not_canceled';
      const found = [...billing.subscriptions.values()].filter(
        (subscription) =>
          (status === 'all' ||
            subscription.status === status ||
            (status === 'not_canceled' && subscription.status !== 'canceled')) &&
          (params.customer === undefined || subscription.customer === params.customer),
      );
      const listed = page(found, params, '/v1/subscriptions', pageCap);
      listed.data = listed.data.map((subscription: Json) =>
        expanded(billing, subscription, list(params.expand), 'data.'),
      );
      return listed;
    }
    case 'GET subscriptions/:id':
      return expanded(
        billing,
        billing.get(billing.subscriptions, id as string, 'subscription'),
        list(params.expand),
        '',
      );
    case 'POST subscriptions/:id':
      return billing.updateSubscription(id as string, params);
    case 'DELETE subscriptions/:id':
      return billing.cancelSubscription(id as string);
    case 'POST subscription_schedules':
      return billing.createSchedule(params);
    case 'GET subscription_schedules/:id':
      return billing.get(billing.schedules, id as string, 'subscription schedule');
    case 'POST subscription_schedules/:id':
      return billing.updateSchedule(id as string, params);
    case 'POST subscription_schedules/:id/release':
      return billing.releaseSchedule(id as string);
    case 'GET invoices':
      return page(
        [...billing.invoices.values()].filter(
          (invoice) =>
            (params.status === undefined || invoice.status === params.status) &&
            (params.customer === undefined || invoice.customer === params.customer) &&
            (params.subscription === undefined ||
              invoice.parent?.subscription_details?.subscription === params.subscription),
        ),
        params,
        '/v1/invoices',
        pageCap,
      );
    case 'GET invoices/:id':
      return billing.get(billing.invoices, id as string, 'invoice');
    case 'GET invoice_payments': {
      // Stripe filters by the invoice, by the payment, or both.
      const wantedIntent = str((params.payment as Json | undefined)?.payment_intent);
      const wantedInvoice = str(params.invoice);
      const payments = [...billing.invoicePayments.values()].filter(
        (payment) =>
          (wantedIntent === undefined || payment.payment.payment_intent === wantedIntent) &&
          (wantedInvoice === undefined || payment.invoice === wantedInvoice),
      );
      return listOf(payments, '/v1/invoice_payments');
    }
    case 'GET charges':
      return page([...billing.charges.values()], params, '/v1/charges', pageCap);
    case 'GET charges/:id':
      return billing.get(billing.charges, id as string, 'charge');
    case 'POST refunds':
      return billing.refund(params);
    case 'POST test_helpers/test_clocks':
      // One clock drives the whole fake account: creating it sets the time everything starts from.
      billing.now = Number(params.frozen_time);
      return testClock(billing, billing.now);
    case 'POST test_helpers/test_clocks/:id/advance':
      if (Number(params.frozen_time) < billing.now) throw new StripeApiError(400, 'a test clock only moves forward');
      billing.advanceTo(Number(params.frozen_time));
      return testClock(billing, billing.now, id);
    case 'GET test_helpers/test_clocks/:id':
      return testClock(billing, billing.now, id);
  }
  throw new StripeApiError(404, `Unrecognized request URL (${method}: ${path})`);
}

function testClock(billing: FakeBilling, now: number, id = fakeId('clock')): Json {
  const clock = { id, object: 'test_helpers.test_clock', frozen_time: now, status: 'ready', created: now };
  billing.clocks.set(id, clock);
  return clock;
}

/** A subscription with `schedule` and `latest_invoice` expanded when asked (`prefix`: `data.` in a list). */
function expanded(billing: FakeBilling, stored: Json, expand: FormValue[], prefix: string): Json {
  const subscription = structuredClone(stored);
  if (expand.includes(`${prefix}schedule`) && subscription.schedule) {
    subscription.schedule = billing.get(billing.schedules, subscription.schedule, 'schedule');
  }
  if (expand.includes(`${prefix}latest_invoice`) && subscription.latest_invoice) {
    subscription.latest_invoice = billing.get(billing.invoices, subscription.latest_invoice, 'invoice');
  }
  return subscription;
}

/**
 * One page of a list, as Stripe pages it: newest first (by `created`, later-made first within a
 * second), `limit` items (10 unless asked, at most `cap`) after the `starting_after` id, and
 * `has_more` when more follow — what the SDK's auto-pagination walks.
 */
function page(items: Json[], params: Json, url: string, cap: number): Json {
  const newestFirst = items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => b.item.created - a.item.created || b.index - a.index)
    .map(({ item }) => item);
  const limit = Math.min(cap, Math.max(1, Number(params.limit ?? 10)));
  const after =
    params.starting_after === undefined ? 0 : newestFirst.findIndex((item) => item.id === params.starting_after) + 1;
  if (params.starting_after !== undefined && after === 0) {
    throw new StripeApiError(400, `No such object: '${params.starting_after}'`);
  }
  const data = newestFirst.slice(after, after + limit);
  return { object: 'list', data, has_more: after + limit < newestFirst.length, url };
}

function listOf(data: Json[], url: string): Json {
  return { object: 'list', data, has_more: false, url };
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, status: number, payload: Json): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(payload));
}
