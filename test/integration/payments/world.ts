import type Stripe from 'stripe';
import { expect } from 'vitest';
import { loadConfig } from '../../../src-server/config.ts';
import { syncCatalogToStripe } from '../../../src-server/payments/stripe-catalog.ts';
import { createStripeClient } from '../../../src-server/payments/stripe-client.ts';
import type { MeResponse, Session } from '../../../src-shared/api.ts';
import { type FakeStripe, startFakeStripe } from '../../fake-stripe/server.ts';
import type { TestDialect } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

/**
 * A billing server wired to a fresh fake Stripe: the server's clock is the fake's test clock, so
 * advancing the clock moves both (renewals, retries and the past-due grace alike).
 */

const STRIPE_SECRET = 'sk_test_fake';
const WEBHOOK_SECRET = 'whsec_fake_signing_secret';
export const DAY_S = 86_400;

// biome-ignore lint/suspicious/noExplicitAny: responses are asserted on field by field.
type Reply = { status: number; body: any };

export interface World {
  server: TestServer;
  fake: FakeStripe;
  /** The test's own client, as the Stripe dashboard or a customer would act. */
  stripe: Stripe;
  clockId: string;
  call(token: string | null, method: string, path: string, body?: unknown): Promise<Reply>;
  signUp(email: string): Promise<Session>;
  signIn(email: string): Promise<Session>;
  me(token: string): Promise<MeResponse>;
  /** A new account that checked out `tier` monthly and paid (its webhooks delivered). */
  subscribed(email: string, tier: 'professional' | 'enterprise'): Promise<Session>;
  /** Moves the fake's test clock (and the server's clock) forward, then delivers what happened. */
  advanceDays(days: number): Promise<void>;
  /** The same, to a moment given in Unix seconds. */
  advanceTo(unixSeconds: number): Promise<void>;
  close(): Promise<void>;
}

const PASSWORD = 'correct horse battery';

export async function startWorld(dialect: TestDialect, env: Record<string, string> = {}): Promise<World> {
  const fake = await startFakeStripe({ apiKey: STRIPE_SECRET, webhookSecret: WEBHOOK_SECRET });
  const stripe = createStripeClient(STRIPE_SECRET, fake.url);
  await syncCatalogToStripe(stripe, loadConfig({}).catalog);
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: fake.billing.now });
  const server = await startTestServer({
    dialect,
    env: {
      TOLLGATE_PAST_DUE_GRACE_DAYS: '7',
      STRIPE_SECRET_KEY: STRIPE_SECRET,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_BASE: fake.url,
      ...env,
    },
    now: () => fake.billing.now * 1000,
  });
  fake.webhookUrl = `${server.url}/v1/webhooks/stripe`;

  const call: World['call'] = async (token, method, path, body) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };

  const world: World = {
    server,
    fake,
    stripe,
    clockId: clock.id,
    call,
    async signUp(email) {
      const response = await call(null, 'POST', '/v1/auth/sign-up', { email, password: PASSWORD });
      expect(response.status).toBe(201);
      return response.body as Session;
    },
    async signIn(email) {
      const response = await call(null, 'POST', '/v1/auth/sign-in', { email, password: PASSWORD });
      expect(response.status).toBe(200);
      return response.body as Session;
    },
    async me(token) {
      const response = await call(token, 'GET', '/v1/me');
      expect(response.status).toBe(200);
      return response.body as MeResponse;
    },
    async subscribed(email, tier) {
      const session = await world.signUp(email);
      const checkout = await call(session.accessToken, 'POST', '/v1/billing/checkout', { tier, cycle: 'monthly' });
      expect(checkout.status).toBe(200);
      fake.billing.completeCheckout(checkout.body.sessionId);
      expect((await fake.flush()).every((status) => status === 200)).toBe(true);
      return session;
    },
    advanceDays(days) {
      return world.advanceTo(fake.billing.now + days * DAY_S);
    },
    async advanceTo(unixSeconds) {
      await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: unixSeconds });
      const statuses = await fake.flush();
      expect(statuses.every((status) => status === 200)).toBe(true);
    },
    async close() {
      await server.stop();
      await fake.close();
    },
  };
  return world;
}
