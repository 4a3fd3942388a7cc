import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mrrCents } from '../../../src-server/payments/mrr.ts';
import type { BillingCycle } from '../../../src-shared/api.ts';
import { defaultCatalog, type TierId } from '../../../src-shared/catalog.ts';
import type { Json } from '../../fake-stripe/billing.ts';
import type { Signature } from '../../fake-stripe/server.ts';
import { testDialects } from '../../support/databases.ts';
import { DAY_S, startWorld, type World } from './world.ts';

/**
 * Webhook chaos: customers live through months of plan changes, cancellations, failed cards,
 * refunds and re-subscriptions in the fake Stripe, and the server hears about it only afterwards —
 * every event shuffled, delivered one to three times, concurrently, mixed with forged and stale
 * deliveries. Whatever the order, the server must end where Stripe is.
 */

const ACCOUNTS = 10;
const MIN_EVENTS = 500;
const CONCURRENCY = 8;

/** A small seeded PRNG (mulberry32) so a failure replays the same story. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Delivery {
  event: Json;
  signature: Signature;
}

for (const dialect of testDialects()) {
  describe(`webhook chaos (${dialect})`, () => {
    let world: World;
    beforeAll(async () => {
      world = await startWorld(dialect);
    });
    afterAll(() => world.close());

    it(`${MIN_EVENTS}+ events shuffled and redelivered: forged and stale refused, the rest applied once`, async () => {
      const rng = random(dialect === 'sqlite' ? 4 : 5);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;
      const { billing } = world.fake;
      const prices = [...billing.prices.values()].filter((price) => price.recurring);
      const accounts: { id: string; customer: string }[] = [];

      for (let index = 0; index < ACCOUNTS; index += 1) {
        const session = await world.signUp(`chaos-${dialect}-${index}@example.com`);
        const checkout = await world.call(session.accessToken, 'POST', '/v1/billing/checkout', {
          tier: pick(['professional', 'enterprise']),
          cycle: pick(['monthly', 'yearly']),
        });
        expect(checkout.status).toBe(200);
        const completed = billing.completeCheckout(checkout.body.sessionId);
        accounts.push({ id: session.account.id, customer: completed.customer });
      }

      // Months of customer behaviour, as the Stripe dashboard and customer portal would cause it.
      while (billing.events.length < MIN_EVENTS) {
        for (const account of accounts) {
          const live = [...billing.subscriptions.values()].find(
            (subscription) => subscription.customer === account.customer && subscription.status !== 'canceled',
          );
          const roll = rng();
          if (!live) {
            if (roll < 0.5) {
              const session = await world.stripe.checkout.sessions.create({
                mode: 'subscription',
                customer: account.customer,
                line_items: [{ price: pick(prices).id, quantity: 1 }],
                subscription_data: { metadata: { account_id: account.id } },
                success_url: 'http://127.0.0.1/done',
              });
              billing.completeCheckout(session.id);
            }
            continue;
          }
          const item = live.items.data[0];
          if (roll < 0.3) {
            await world.stripe.subscriptions.update(live.id, {
              items: [{ id: item.id, price: pick(prices.filter((price) => price.id !== item.price.id)).id }],
              proration_behavior: 'always_invoice',
            });
          } else if (roll < 0.42) {
            await world.stripe.subscriptions.update(live.id, { cancel_at_period_end: !live.cancel_at_period_end });
          } else if (roll < 0.55) {
            if (billing.decliningCustomers.has(account.customer)) billing.decliningCustomers.delete(account.customer);
            else billing.decliningCustomers.add(account.customer);
          } else if (roll < 0.62) {
            const charge = [...billing.charges.values()].find(
              (candidate: Json) =>
                candidate.customer === account.customer && candidate.amount > candidate.amount_refunded,
            );
            if (charge) await world.stripe.refunds.create({ charge: charge.id, amount: Math.ceil(charge.amount / 4) });
          }
        }
        await world.stripe.testHelpers.testClocks.advance(world.clockId, { frozen_time: billing.now + 9 * DAY_S });
      }
      const events = world.fake.drain();
      expect(events.length).toBeGreaterThanOrEqual(MIN_EVENTS);

      const deliveries: Delivery[] = [];
      const forged: Json[] = [];
      for (const event of events) {
        const copies = 1 + Math.floor(rng() * 3);
        for (let copy = 0; copy < copies; copy += 1) deliveries.push({ event, signature: 'valid' });
        if (rng() < 0.1) deliveries.push({ event, signature: 'stale' });
        if (rng() < 0.1) {
          // A forgery: a made-up event (say, "this subscription was deleted") not signed by Stripe.
          const fake = { ...structuredClone(event), id: `evt_forged_${forged.length}` };
          forged.push(fake);
          deliveries.push({ event: fake, signature: 'bad' });
        }
      }
      for (let index = deliveries.length - 1; index > 0; index -= 1) {
        const other = Math.floor(rng() * (index + 1));
        [deliveries[index], deliveries[other]] = [deliveries[other] as Delivery, deliveries[index] as Delivery];
      }

      const outcomes: { signature: Signature; status: number }[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < deliveries.length) {
            const delivery = deliveries[next++] as Delivery;
            const status = await world.fake.deliver(delivery.event, delivery.signature);
            outcomes.push({ signature: delivery.signature, status });
          }
        }),
      );
      expect(outcomes.filter((o) => o.signature === 'valid').every((o) => o.status === 200)).toBe(true);
      expect(outcomes.filter((o) => o.signature !== 'valid').every((o) => o.status === 400)).toBe(true);
      expect(outcomes.filter((o) => o.signature !== 'valid').length).toBeGreaterThan(0);

      // Each real event recorded exactly once; no forged one at all.
      const { db } = world.server;
      const recorded = await db.selectFrom('webhook_events').select('id').execute();
      expect(recorded.map((row) => row.id).sort()).toEqual(events.map((event) => event.id).sort());

      // Every account ends where Stripe is.
      for (const account of accounts) {
        const row = await db
          .selectFrom('subscriptions')
          .selectAll()
          .where('account_id', '=', account.id)
          .executeTakeFirstOrThrow();
        const live = [...billing.subscriptions.values()].find(
          (subscription) => subscription.customer === account.customer && subscription.status !== 'canceled',
        );
        if (!live) {
          expect(row).toMatchObject({ tier: 'free', status: 'active', provider_subscription_id: null });
          continue;
        }
        const item = live.items.data[0];
        const price = item.price as Stripe.Price;
        expect(row).toMatchObject({
          tier: price.metadata.tollgate_tier,
          cycle: price.metadata.tollgate_kind,
          status: live.status,
          cancel_at_period_end: live.cancel_at_period_end ? 1 : 0,
          current_period_end: item.current_period_end * 1000,
          provider_subscription_id: live.id,
        });
      }

      // Every paid invoice recorded once, with its refunds.
      const invoices = await db.selectFrom('invoices').selectAll().execute();
      const paid = [...billing.invoices.values()].filter((invoice) => invoice.status === 'paid');
      expect(invoices.map((invoice) => invoice.id).sort()).toEqual(paid.map((invoice) => invoice.id).sort());
      for (const invoice of paid) {
        const payment = [...billing.invoicePayments.values()].find((candidate) => candidate.invoice === invoice.id);
        const charge = [...billing.charges.values()].find(
          (candidate) => candidate.payment_intent === payment?.payment.payment_intent,
        );
        expect(invoices.find((row) => row.id === invoice.id)).toMatchObject({
          amount_paid_cents: invoice.amount_paid,
          amount_refunded_cents: charge?.amount_refunded ?? 0,
        });
      }

      // The analytics trail replays: in `at` order each change starts where the previous one ended,
      // and the last one leaves the account at its MRR at Stripe now.
      const trail = await db.selectFrom('subscription_events').selectAll().orderBy('at').execute();
      for (const account of accounts) {
        const live = [...billing.subscriptions.values()].find(
          (subscription) => subscription.customer === account.customer && subscription.status !== 'canceled',
        );
        const price = live?.items.data[0].price as Stripe.Price | undefined;
        const paying = live && ['active', 'trialing', 'past_due'].includes(live.status);
        const expected =
          paying && price
            ? mrrCents(
                defaultCatalog,
                price.metadata.tollgate_tier as TierId,
                price.metadata.tollgate_kind as BillingCycle,
              )
            : 0;
        const movements = trail.filter((event) => event.account_id === account.id);
        expect(new Set(movements.map((event) => event.at)).size).toBe(movements.length);
        movements.forEach((event, index) => {
          expect(event.mrr_before_cents).toBe(index === 0 ? 0 : movements[index - 1]?.mrr_after_cents);
        });
        expect(movements.at(-1)?.mrr_after_cents ?? 0).toBe(expected);
      }
    });
  });
}
