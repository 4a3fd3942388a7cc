import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type Stripe from 'stripe';
import { z } from 'zod';
import {
  CancelResponse,
  ChangePlanBody,
  ChangePlanResponse,
  CheckoutBody,
  CheckoutResponse,
  PortalBody,
  PortalResponse,
  type Subscription,
} from '../../src-shared/api.ts';
import { checkoutReturnLink, PORTAL_RETURN_LINK } from '../../src-shared/app-links.ts';
import { findTier } from '../../src-shared/catalog.ts';
import type { SubscriptionRow } from '../db/schema.ts';
import { accountOf } from '../http/context.ts';
import { ApiError } from '../http/errors.ts';
import { webhookEvents } from '../http/metrics.ts';
import { entitledPlan, subscriptionView } from '../plans/subscriptions.ts';
import { KeyedQueue } from './keyed-queue.ts';
import { htmlPage, localPages } from './local-pages.ts';
import { LocalProvider } from './local-provider.ts';
import { classifyPlanChange } from './plan-change.ts';
import type { PaymentProvider } from './provider.ts';
import { providerCall } from './provider-call.ts';
import { createStripeClient } from './stripe-client.ts';
import { StripeProvider } from './stripe-provider.ts';
import { type BillingEffect, SubscriptionStore } from './subscription-store.ts';
import { donePage } from './test-checkout-page.ts';

/**
 * Billing routes (checkout, portal, plan change, cancel/resume), the Stripe webhook, and the local
 * provider's test pages (local-pages.ts). The provider is config.payments: Stripe (STRIPE_SECRET_KEY), the local
 * test provider (only when TOLLGATE_PAYMENTS=local), or none — then every billing action answers
 * PAYMENTS_DISABLED, so a server nobody configured never hands out paid plans.
 */

/** Stripe's own default: a signature older than five minutes is a replay. */
const WEBHOOK_TOLERANCE_SECONDS = 300;
const WEBHOOK_BODY_LIMIT = 1024 * 1024;
const LOCAL_SWEEP_MS = 60_000;
const TestRenewalsBody = z.object({ fail: z.boolean() }).strict();
export const paymentsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { config, db, dialect, catalog, now } = app.tollgate;
  const store = new SubscriptionStore(db, dialect, catalog, now, config.pastDueGraceMs);
  const stripe =
    config.payments === 'stripe' && config.stripe.secretKey
      ? createStripeClient(config.stripe.secretKey, config.stripe.apiBase ?? undefined)
      : null;
  const stripeProvider = stripe ? new StripeProvider(stripe, store, catalog, () => config.publicUrl) : null;
  const localProvider =
    config.payments === 'local' ? new LocalProvider(store, catalog, () => config.publicUrl, now) : null;
  const configured: PaymentProvider | null = stripeProvider ?? localProvider;
  const providerName = configured?.name ?? 'none';
  app.tollgate.paymentProvider = configured;
  const provider = (): PaymentProvider => {
    if (configured) return configured;
    throw new ApiError(
      'PAYMENTS_DISABLED',
      'This server is not configured to take payments. Its operator sets STRIPE_SECRET_KEY (and ' +
        'STRIPE_WEBHOOK_SECRET) for Stripe, or TOLLGATE_PAYMENTS=local for the fake test checkout on a ' +
        'local development server (docs/stripe.md).',
    );
  };
  if (localProvider) {
    app.log.warn(
      'TOLLGATE_PAYMENTS=local: payments are FAKE — the test checkout grants paid plans without charging anything',
    );
  } else if (!configured) {
    app.log.warn('payments are disabled (no STRIPE_SECRET_KEY, TOLLGATE_PAYMENTS unset): checkout is refused');
  }

  const rowOf = async (accountId: string): Promise<SubscriptionRow> => {
    let row = await store.row(accountId);
    if (row && localProvider) {
      await localProvider.advanceDuePeriods(row);
      row = await store.row(accountId);
    }
    if (!row) throw new ApiError('NOT_FOUND', 'This account has no subscription record.');
    return row;
  };
  const view = (row: SubscriptionRow): Subscription =>
    subscriptionView(row, entitledPlan(catalog, row, now(), config.pastDueGraceMs));
  const live = (row: SubscriptionRow) => row.provider_subscription_id !== null && row.tier !== 'free';

  const guarded = <T>(request: FastifyRequest, work: () => Promise<T>): Promise<T> =>
    providerCall(request.log, providerName, work);

  app.post(
    '/v1/billing/checkout',
    {
      config: { access: 'housekeeping' },
      schema: {
        tags: ['billing'],
        summary: 'Start a checkout for a plan (custom: contact sales)',
        body: CheckoutBody,
        response: { 200: CheckoutResponse },
      },
    },
    async (request) => {
      const account = accountOf(request);
      const { tier, cycle } = request.body;
      const chosen = findTier(catalog, tier);
      if (chosen.prices === 'negotiated') {
        return {
          kind: 'contact_sales' as const,
          message: `${chosen.name} plans are negotiated: contact sales for a quote and a contract.`,
        };
      }
      if (chosen.id === 'free' || chosen.prices.monthly_cents === 0) {
        throw new ApiError('BAD_REQUEST', 'The free tier needs no checkout; cancel the paid plan instead.');
      }
      const row = await rowOf(account.id);
      if (live(row)) {
        throw new ApiError(
          'BAD_REQUEST',
          'This account already has a subscription: change its plan with POST /v1/billing/change-plan.',
        );
      }
      const returnTo = request.body.returnTo ?? 'browser';
      const session = await guarded(request, () => provider().checkout(account, row, { tier, cycle }, returnTo));
      // The funnel's "checkout started" step (docs/analytics.md).
      await db
        .insertInto('checkout_starts')
        .values({
          session_id: session.sessionId,
          account_id: account.id,
          tier,
          cycle,
          provider: providerName,
          started_at: now(),
        })
        .onConflict((conflict) => conflict.column('session_id').doNothing())
        .execute();
      return { kind: 'checkout' as const, url: session.url, sessionId: session.sessionId };
    },
  );

  app.post(
    '/v1/billing/portal',
    {
      config: { access: 'housekeeping' },
      schema: {
        tags: ['billing'],
        summary: 'Open the billing portal',
        // Nullish: a POST without a body (null to Fastify) stays valid, as it was before returnTo.
        body: PortalBody.nullish(),
        response: { 200: PortalResponse },
      },
    },
    async (request) => {
      const account = accountOf(request);
      const row = await rowOf(account.id);
      const returnTo = request.body?.returnTo ?? 'browser';
      return guarded(request, () => provider().portal(account, row, returnTo));
    },
  );

  app.post(
    '/v1/billing/change-plan',
    {
      config: { access: 'housekeeping' },
      schema: {
        tags: ['billing'],
        summary: 'Change plan: upgrades now (prorated), downgrades at the end of the paid period',
        body: ChangePlanBody,
        response: { 200: ChangePlanResponse },
      },
    },
    async (request) => {
      const account = accountOf(request);
      const plan = request.body;
      const row = await rowOf(account.id);
      if (!live(row) || row.cycle === null) {
        throw new ApiError('BAD_REQUEST', 'There is no paid subscription to change: start one with checkout.');
      }
      const target = findTier(catalog, plan.tier);
      if (target.prices === 'negotiated') {
        throw new ApiError('BAD_REQUEST', `${target.name} plans are negotiated: contact sales.`);
      }
      if (target.id === 'free') {
        throw new ApiError('BAD_REQUEST', 'To go back to free, cancel: the plan ends with the paid period.');
      }
      const change = classifyPlanChange(catalog, { tier: row.tier as typeof plan.tier, cycle: row.cycle }, plan);
      await guarded(request, () => provider().changePlan(account, row, plan, change));
      return { effective: change.effective, subscription: view(await rowOf(account.id)) };
    },
  );

  const cancelRoute = (path: string, cancel: boolean, summary: string) =>
    app.post(
      path,
      {
        config: { access: 'housekeeping' },
        schema: { tags: ['billing'], summary, response: { 200: CancelResponse } },
      },
      async (request) => {
        const account = accountOf(request);
        const row = await rowOf(account.id);
        if (!live(row)) throw new ApiError('BAD_REQUEST', 'There is no paid subscription to cancel or resume.');
        await guarded(request, () => provider().setCancelAtPeriodEnd(account, row, cancel));
        return { subscription: view(await rowOf(account.id)) };
      },
    );
  cancelRoute('/v1/billing/cancel', true, 'Cancel at the end of the paid period');
  cancelRoute('/v1/billing/resume', false, 'Keep renewing: undo a scheduled cancel');

  app.get('/billing/done', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const query = request.query as { checkout?: string; portal?: string; app?: string; session?: string };
    const message =
      query.checkout === 'success'
        ? 'Payment received. Your plan updates in the app within a few seconds; you can close this window.'
        : query.checkout === 'canceled'
          ? 'Checkout canceled: nothing was charged. You can close this window.'
          : 'You can close this window and return to the app.';
    const outcome = query.checkout === 'success' ? 'success' : query.checkout === 'canceled' ? 'cancel' : null;
    const appLink =
      query.app !== '1'
        ? null
        : outcome
          ? checkoutReturnLink(outcome, query.session ?? null)
          : query.portal === 'closed'
            ? PORTAL_RETURN_LINK
            : null;
    return htmlPage(reply, donePage(message, localProvider !== null, appLink));
  });

  if (stripe && stripeProvider) {
    await app.register(async (scope) => stripeWebhookRoute(scope, stripe, stripeProvider, store));
  }
  if (localProvider) {
    await app.register(async (scope) => localPages(scope, localProvider));
    // The test card's switch, so past due and recovery can be tried without Stripe.
    app.post(
      '/v1/billing/test-renewals',
      {
        config: { access: 'housekeeping' },
        schema: {
          tags: ['billing'],
          summary: 'Local test provider only: decline this account’s renewals (fail: true) or pay again (false)',
          body: TestRenewalsBody,
          response: { 200: CancelResponse },
        },
      },
      async (request) => {
        const account = accountOf(request);
        await localProvider.setRenewalsFail(await rowOf(account.id), request.body.fail);
        return { subscription: view(await rowOf(account.id)) };
      },
    );
    const sweep = setInterval(() => {
      void sweepLocal(localProvider, store, now()).catch((error: unknown) =>
        app.log.error({ err: error }, 'renewing local test subscriptions failed'),
      );
    }, LOCAL_SWEEP_MS);
    sweep.unref();
    app.addHook('onClose', async () => clearInterval(sweep));
  }

  async function sweepLocal(local: LocalProvider, subscriptions: SubscriptionStore, at: number): Promise<void> {
    const due = await db
      .selectFrom('subscriptions')
      .select('account_id')
      .where('provider', '=', 'local')
      .where('current_period_end', '<=', at)
      .execute();
    for (const { account_id } of due) {
      const row = await subscriptions.row(account_id);
      if (row) await local.advanceDuePeriods(row);
    }
  }
};

/** The Stripe webhook, in its own scope: its body must reach the signature check byte for byte. */
async function stripeWebhookRoute(
  scope: FastifyInstance,
  stripe: Stripe,
  provider: StripeProvider,
  store: SubscriptionStore,
): Promise<void> {
  const { webhookSecret } = scope.tollgate.config.stripe;
  const queue = new KeyedQueue();
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_request, body, done) =>
    done(null, body),
  );
  if (!webhookSecret) scope.log.warn('STRIPE_WEBHOOK_SECRET is not set: Stripe webhooks will be refused');

  scope.post(
    '/v1/webhooks/stripe',
    {
      config: { access: 'public' },
      schema: {
        tags: ['billing'],
        summary: 'Stripe webhook endpoint (Stripe-Signature verified on the raw body; 400 when it fails)',
      },
    },
    async (request) => {
      if (!webhookSecret) throw new ApiError('UNAVAILABLE', 'Webhooks are not configured (STRIPE_WEBHOOK_SECRET).');
      const signature = request.headers['stripe-signature'];
      if (!Buffer.isBuffer(request.body) || typeof signature !== 'string') {
        throw new ApiError('BAD_REQUEST', 'Expected a Stripe-signed body and a Stripe-Signature header.');
      }
      let event: Stripe.Event;
      try {
        event = stripe.webhooks.constructEvent(request.body, signature, webhookSecret, WEBHOOK_TOLERANCE_SECONDS);
      } catch {
        throw new ApiError('BAD_REQUEST', 'The Stripe signature does not match, or is older than five minutes.');
      }
      if (await store.isKnownEvent(event.id)) {
        webhookEvents.inc({ type: event.type, result: 'duplicate' });
        return { received: true, duplicate: true };
      }
      const outcome = await queue.run(StripeProvider.customerOf(event), async () => {
        // Checked again in the queue: a redelivery that arrived meanwhile must not re-read and re-apply.
        if (await store.isKnownEvent(event.id)) return 'duplicate';
        let effect: BillingEffect;
        try {
          effect = await provider.effectOf(event);
        } catch (error) {
          const failure = error as { type?: string; code?: string; requestId?: string };
          request.log.error(
            { stripeEvent: event.id, type: failure.type, code: failure.code, requestId: failure.requestId },
            'reading Stripe for a webhook failed',
          );
          // Not stored: Stripe retries a failed delivery, and the retry reads again.
          webhookEvents.inc({ type: event.type, result: 'failed' });
          throw new ApiError('UNAVAILABLE', 'Stripe could not be read to apply this event; it will be retried.');
        }
        return store.apply(effect);
      });
      request.log.info({ stripeEvent: event.id, type: event.type, outcome }, 'stripe webhook');
      webhookEvents.inc({ type: event.type, result: outcome });
      return { received: true, duplicate: outcome === 'duplicate' };
    },
  );
}
