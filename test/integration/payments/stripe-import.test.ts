import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { priceLookupKey } from '../../../src-server/payments/catalog-prices.ts';
import type { Json } from '../../fake-stripe/billing.ts';
import { testDialects } from '../../support/databases.ts';
import { request } from '../../support/server.ts';
import { eventually, startTestSmtp, type TestSmtp } from '../outbox/smtp.ts';
import { startWorld, type World } from './world.ts';

/**
 * `npm run stripe:import` against a Stripe account with months of history made before Tollgate
 * existed: the real CLI in its own process, the real SDK, the fake Stripe's list endpoints. Every
 * figure is worked out by hand from the default catalog (professional 49 $/month or 490 $/year —
 * 40.83 $ of MRR —, enterprise 199 $/month plus a 500 $ setup fee); all times are 12:00 UTC unless
 * said otherwise.
 *
 *   Alice  professional monthly from Mar 5; asks to cancel on Apr 15; it ends May 5.
 *   Bruno  enterprise monthly from Mar 20 with the setup fee, refunded on Mar 25; renews the 20th.
 *   Chloe  already signed up to Tollgate (Apr 1); Stripe customer Chloe@Example.com, yearly from Apr 10.
 *   Dan    professional monthly from Apr 25; upgrades to enterprise on May 10 (half a period left:
 *          −24.50 $ + 99.50 $ = 75 $ invoiced); renews May 25.
 *   Frank  professional monthly from May 20 15:00; canceled at once on Jun 10.
 *   Eve    a customer without an e-mail (professional from Apr 1): no account can be made for her.
 *   Hana   from Jun 1 on a 39 $ price the vendor made before Tollgate, unknown to the catalog: she
 *          gets an account, but neither her subscription nor its invoice counts.
 *
 *   MRR at month end   Mar 248.00   Apr 337.83   May 487.83   Jun 438.83
 *   new                Mar 248.00   Apr  89.83   May  49.00
 *   expansion / churn                            May +150.00 / −49.00   Jun −49.00
 *   revenue (net)      Mar 248.00 (49 + 699 − 500 refunded)   Apr 787.00 (49 + 490 + 199 + 49)
 *                      May 522.00 (75 + 199 + 49 + 199)       Jun 0 until Bruno renews on Jun 20
 */

const ADMIN_TOKEN = 'stripe-import-admin-token-0123456789abcdef';
const PASSWORD = 'correct horse battery';
const run = promisify(execFile);
const CLAIM_LINK = /\/claim\?code=([A-Za-z0-9_-]+)/;
const at = (iso: string) => Date.parse(iso) / 1000;

for (const dialect of testDialects()) {
  describe(`npm run stripe:import backfills a Stripe account with its own dates (${dialect})`, () => {
    let world: World;
    let smtp: TestSmtp;
    let secret: string;
    let history: Json[] = [];
    const ids: Record<string, { customer: string; subscription: string }> = {};

    const importCli = (env: Record<string, string> = {}) =>
      run(process.execPath, ['--import', 'tsx', 'src-server/payments/import-cli.ts'], {
        env: {
          ...process.env,
          ...world.server.database.env,
          STRIPE_SECRET_KEY: secret,
          STRIPE_API_BASE: world.fake.url,
          ...env,
        },
      });
    const summary = async (month: string) => {
      const response = await request(world.server.url, 'GET', `/v1/admin/metrics/summary?month=${month}`, undefined, {
        token: ADMIN_TOKEN,
      });
      expect(response.status).toBe(200);
      return response.body;
    };
    const analytics = async () =>
      Object.fromEntries(
        await Promise.all(['2025-03', '2025-04', '2025-05', '2025-06'].map(async (m) => [m, await summary(m)])),
      );
    const eventsOf = async (accountId: string) =>
      (
        await world.server.db
          .selectFrom('subscription_events')
          .select(['kind', 'at', 'mrr_after_cents'])
          .where('account_id', '=', accountId)
          .orderBy('at')
          .execute()
      ).map((row) => `${new Date(Number(row.at)).toISOString()} ${row.kind} ${row.mrr_after_cents}`);
    const accountOf = async (email: string) =>
      world.server.db.selectFrom('accounts').selectAll().where('email', '=', email).executeTakeFirstOrThrow();
    const moveClock = (iso: string) =>
      world.stripe.testHelpers.testClocks.advance(world.clockId, { frozen_time: at(iso) });
    const price = (tier: 'professional' | 'enterprise', kind: 'monthly' | 'yearly' | 'setup_fee') => {
      const found = [...world.fake.billing.prices.values()].find(
        (candidate) => candidate.lookup_key === priceLookupKey(tier, kind),
      );
      if (!found) throw new Error(`the catalog sync made no ${tier} ${kind} price`);
      return found.id as string;
    };
    /** A customer paying through a Stripe Checkout the vendor ran before Tollgate (no Tollgate metadata). */
    const subscribe = async (name: string, email: string | null, prices: string[]) => {
      const customer = await world.stripe.customers.create(email ? { email } : { name });
      const session = await world.stripe.checkout.sessions.create({
        mode: 'subscription',
        customer: customer.id,
        line_items: prices.map((id) => ({ price: id, quantity: 1 })),
        success_url: 'https://vendor.example/thanks',
      });
      const completed = world.fake.billing.completeCheckout(session.id);
      ids[name] = { customer: customer.id, subscription: completed.subscription };
    };

    beforeAll(async () => {
      smtp = await startTestSmtp();
      world = await startWorld(dialect, { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN, TOLLGATE_SMTP_URL: smtp.url });
      secret = world.server.config.stripe.secretKey as string;
      const clock = await world.stripe.testHelpers.testClocks.create({ frozen_time: at('2025-03-05T12:00:00Z') });
      world.clockId = clock.id;
      const { stripe } = world;

      await subscribe('alice', 'alice@example.com', [price('professional', 'monthly')]);
      await moveClock('2025-03-20T12:00:00Z');
      await subscribe('bruno', 'bruno@example.com', [price('enterprise', 'monthly'), price('enterprise', 'setup_fee')]);
      await moveClock('2025-03-25T12:00:00Z');
      const setupCharge = [...world.fake.billing.charges.values()].find(
        (charge) => charge.customer === ids.bruno?.customer,
      );
      expect(setupCharge?.amount).toBe(69900);
      await stripe.refunds.create({ charge: setupCharge?.id, amount: 50000 });
      await moveClock('2025-04-01T12:00:00Z');
      await subscribe('eve', null, [price('professional', 'monthly')]);
      const chloe = await world.signUp('chloe@example.com');
      expect(chloe.account.id).toBeTruthy();
      await moveClock('2025-04-10T12:00:00Z');
      await subscribe('chloe', 'Chloe@Example.com', [price('professional', 'yearly')]);
      await moveClock('2025-04-15T12:00:00Z');
      await stripe.subscriptions.update(ids.alice?.subscription as string, { cancel_at_period_end: true });
      await moveClock('2025-04-25T12:00:00Z');
      await subscribe('dan', 'dan@example.com', [price('professional', 'monthly')]);
      await moveClock('2025-05-10T12:00:00Z');
      const dan = await stripe.subscriptions.retrieve(ids.dan?.subscription as string);
      await stripe.subscriptions.update(dan.id, {
        items: [{ id: dan.items.data[0]?.id, price: price('enterprise', 'monthly') }],
        proration_behavior: 'always_invoice',
      });
      await moveClock('2025-05-20T15:00:00Z');
      await subscribe('frank', 'frank@example.com', [price('professional', 'monthly')]);
      await moveClock('2025-06-01T12:00:00Z');
      const legacy = await stripe.products.create({ name: 'Pro (2023 pricing)' });
      const legacyPrice = await stripe.prices.create({
        product: legacy.id,
        unit_amount: 3900,
        currency: 'usd',
        recurring: { interval: 'month' },
      });
      await subscribe('hana', 'hana@example.com', [legacyPrice.id]);
      await moveClock('2025-06-10T12:00:00Z');
      await stripe.subscriptions.cancel(ids.frank?.subscription as string);
      await moveClock('2025-06-15T12:00:00Z');
      // What Stripe sent while this history happened, held back: delivered after the import.
      history = world.fake.drain();
      expect(history.length).toBeGreaterThan(20);
    });
    afterAll(async () => {
      await world?.close();
      await smtp?.close();
    });
    /** The code of the claim link the server e-mailed to the address (the newest). */
    const claimCodeOf = async (email: string) => {
      const claimMails = () => smtp.received.filter((mail) => mail.to === email && CLAIM_LINK.test(mail.text));
      await eventually(`the claim mail to ${email}`, () => claimMails().length > 0);
      return claimMails().at(-1)?.text.match(CLAIM_LINK)?.[1] as string;
    };

    it('imports customers, subscriptions and invoices with hand-computed MRR, movements and revenue', async () => {
      // Two items a page: every list is walked through `starting_after` until `has_more` is false.
      world.fake.listPageCap = 2;
      const first = await importCli();
      world.fake.listPageCap = 100;
      const pages = (path: string) =>
        world.fake.requests.filter((sent) => sent.method === 'GET' && sent.path === path).length;
      expect(pages('/v1/customers')).toBe(4);
      expect(pages('/v1/subscriptions')).toBe(4);
      expect(pages('/v1/invoices')).toBe(7);
      expect(first.stdout).toContain('customers: 7 read');
      expect(first.stdout).toContain(`skipped    customer ${ids.eve?.customer}: it has no e-mail`);
      expect(first.stdout).toContain(
        'accounts: 5 created (unclaimed), 1 linked by e-mail, 0 already linked, 1 skipped',
      );
      expect(first.stdout).toContain('subscriptions: 5 imported, 2 skipped');
      expect(first.stdout).toContain(
        `skipped    subscription ${ids.hana?.subscription}: its price is not one of the catalog’s`,
      );
      expect(first.stdout).toContain(`skipped    subscription ${ids.eve?.subscription}: its customer has no account`);
      // Alice 3 (start, cancel, end), Bruno 1, Chloe 1, Dan 2 (start, upgrade), Frank 2 (start, end).
      expect(first.stdout).toContain('recorded: 9 subscription events, 10 invoices');
      // This CLI's environment has no SMTP: the vendor is told the customers could not claim yet.
      expect(first.stdout).toContain('TOLLGATE_SMTP_URL is not set: the 5 unclaimed accounts can be claimed only');
      expect(first.stdout + first.stderr).not.toContain(secret);

      const months = await analytics();
      expect(months['2025-03'].mrr).toMatchObject({
        mrrCents: 24800,
        subscribers: 2,
        movements: { newCents: 24800, newAccounts: 2, churnedCents: 0, expansionCents: 0 },
      });
      expect(months['2025-04'].mrr).toMatchObject({
        mrrCents: 33783,
        subscribers: 4,
        movements: { newCents: 8983, newAccounts: 2, churnedCents: 0 },
      });
      expect(months['2025-05'].mrr).toMatchObject({
        mrrCents: 48783,
        subscribers: 4,
        movements: { newCents: 4900, newAccounts: 1, expansionCents: 15000, churnedCents: 4900, netNewCents: 15000 },
      });
      expect(months['2025-06'].mrr).toMatchObject({
        mrrCents: 43883,
        movements: { newCents: 0, churnedCents: 4900, churnedAccounts: 1 },
      });
      expect(months['2025-03'].revenueNetCents).toBe(24800);
      expect(months['2025-04'].revenueNetCents).toBe(78700);
      expect(months['2025-05'].revenueNetCents).toBe(52200);
      expect(months['2025-06'].revenueNetCents).toBe(0);

      const alice = await accountOf('alice@example.com');
      expect(Number(alice.created_at)).toBe(Date.parse('2025-03-05T12:00:00Z'));
      expect(await eventsOf(alice.id)).toEqual([
        '2025-03-05T12:00:00.000Z start 4900',
        '2025-04-15T12:00:00.000Z cancel 4900',
        '2025-05-05T12:00:00.000Z back_to_free 0',
      ]);
      expect(await eventsOf((await accountOf('dan@example.com')).id)).toEqual([
        '2025-04-25T12:00:00.000Z start 4900',
        '2025-05-10T12:00:00.000Z upgrade 19900',
      ]);
      // History is not news: nothing was queued to e-mail customers or the vendor's webhooks.
      const outbox = await world.server.db
        .selectFrom('outbox_messages')
        .select('event_type')
        .where('account_id', 'in', [alice.id, (await accountOf('bruno@example.com')).id])
        .execute();
      expect(outbox).toEqual([]);
    });

    it('a second run records nothing and leaves every figure as it was', async () => {
      const before = await analytics();
      const second = await importCli();
      expect(second.stdout).toContain(
        'accounts: 0 created (unclaimed), 0 linked by e-mail, 6 already linked, 1 skipped',
      );
      expect(second.stdout).toContain('recorded: 0 subscription events, 0 invoices');
      expect(await analytics()).toEqual(before);
    });

    it('webhooks arriving after the import — the held-back history, then a renewal — are not counted twice', async () => {
      const before = await analytics();
      const countEvents = async () =>
        Number(
          (
            await world.server.db
              .selectFrom('subscription_events')
              .select((eb) => eb.fn.countAll<number | string>().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      const events = await countEvents();
      for (const event of history) expect(await world.fake.deliver(event)).toBe(200);
      expect(await analytics()).toEqual(before);
      expect(await countEvents()).toBe(events);

      // Bruno renews on Jun 20: the renewal's invoice is June's revenue, once; his MRR is unchanged.
      await world.advanceTo(at('2025-06-21T12:00:00Z'));
      const june = await summary('2025-06');
      expect(june.revenueNetCents).toBe(19900);
      expect(june.mrr).toEqual(before['2025-06'].mrr);
      expect(await countEvents()).toBe(events);
    });

    it('an imported customer claims the account through the e-mailed link; sign-up alone opens nothing', async () => {
      const bruno = await accountOf('bruno@example.com');
      expect(Number(bruno.created_at)).toBe(Date.parse('2025-03-20T12:00:00Z'));
      // No password opens an unclaimed account.
      for (const password of ['', PASSWORD, 'x']) {
        const response = await world.call(null, 'POST', '/v1/auth/sign-in', { email: 'bruno@example.com', password });
        expect(response.status).not.toBe(200);
      }
      // Whoever signs up with the e-mail gets no session: the link goes to Bruno's mailbox.
      const signUp = await world.call(null, 'POST', '/v1/auth/sign-up', {
        email: 'bruno@example.com',
        password: 'whoever typed this e-mail',
      });
      expect(signUp.status).toBe(202);
      expect(signUp.body).toMatchObject({ code: 'ACCOUNT_CLAIM_SENT' });
      expect(signUp.body.detail).toContain('a subscription to the Enterprise plan');
      expect(signUp.body.accessToken).toBeUndefined();
      const code = await claimCodeOf('bruno@example.com');
      const claimed = await world.call(null, 'POST', '/v1/auth/claim', { code, password: PASSWORD });
      expect(claimed.status).toBe(200);
      expect(claimed.body.account.id).toBe(bruno.id);
      expect((await world.me(claimed.body.accessToken)).subscription).toMatchObject({
        tier: 'enterprise',
        cycle: 'monthly',
      });
      // Once claimed, the e-mail is taken like any other: nobody can claim it a second time.
      const again = await world.call(null, 'POST', '/v1/auth/sign-up', {
        email: 'bruno@example.com',
        password: 'another long password',
      });
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('EMAIL_TAKEN');
      expect(
        (await world.call(null, 'POST', '/v1/auth/claim', { code, password: 'another long password' })).status,
      ).toBe(400);
      expect((await world.signIn('bruno@example.com')).account.id).toBe(bruno.id);

      // Racing claims with Alice's code: exactly one wins, and only its password opens the account.
      expect(
        (await world.call(null, 'POST', '/v1/auth/sign-up', { email: 'alice@example.com', password: PASSWORD })).status,
      ).toBe(202);
      const aliceCode = await claimCodeOf('alice@example.com');
      const passwords = ['first racing password', 'second racing password', 'third racing password'];
      const claims = await Promise.all(
        passwords.map((password) => world.call(null, 'POST', '/v1/auth/claim', { code: aliceCode, password })),
      );
      expect(claims.map((claim) => claim.status).sort()).toEqual([200, 400, 400]);
      const winner = passwords[claims.findIndex((claim) => claim.status === 200)];
      for (const password of passwords) {
        const signIn = await world.call(null, 'POST', '/v1/auth/sign-in', { email: 'alice@example.com', password });
        expect(signIn.status).toBe(password === winner ? 200 : 401);
      }

      // Chloe had signed up before the import: same account, same password, now on her yearly plan.
      const chloe = await world.signIn('chloe@example.com');
      expect((await world.me(chloe.accessToken)).subscription).toMatchObject({ tier: 'professional', cycle: 'yearly' });
      const taken = await world.call(null, 'POST', '/v1/auth/sign-up', {
        email: 'chloe@example.com',
        password: 'an attacker’s password',
      });
      expect(taken.status).toBe(409);
      expect(smtp.received.filter((mail) => mail.to === 'chloe@example.com' && CLAIM_LINK.test(mail.text))).toEqual([]);
    });

    it('run again after changes no webhook delivered, it catches up with Stripe’s dates and nothing else', async () => {
      // Chloe asks to cancel on Jun 23 and Dan renews on Jun 25 while no webhook reaches Tollgate.
      await moveClock('2025-06-23T12:00:00Z');
      await world.stripe.subscriptions.update(ids.chloe?.subscription as string, { cancel_at_period_end: true });
      await moveClock('2025-06-26T12:00:00Z');
      expect(world.fake.drain().map((event) => event.type)).toContain('invoice.paid');
      const before = await summary('2025-06');

      const catchUp = await importCli();
      expect(catchUp.stdout).toContain('recorded: 1 subscription events, 1 invoices');
      expect(await eventsOf((await accountOf('chloe@example.com')).id)).toEqual([
        '2025-04-10T12:00:00.000Z start 4083',
        '2025-06-23T12:00:00.000Z cancel 4083',
      ]);
      const june = await summary('2025-06');
      expect(june.revenueNetCents).toBe(19900 + 19900);
      expect(june.mrr).toEqual(before.mrr);
    });

    it('exits non-zero with a clear message on a bad key or an unreachable Stripe, never printing the key', async () => {
      const badKey = 'sk_test_not_this_accounts_key_4242';
      const refused = await importCli({ STRIPE_SECRET_KEY: badKey }).then(
        () => null,
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      expect(refused?.code).toBe(1);
      expect(refused?.stderr).toContain('Stripe refused STRIPE_SECRET_KEY');
      expect(`${refused?.stdout}${refused?.stderr}`).not.toContain(badKey);

      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const unreachable = await importCli({ STRIPE_API_BASE: `http://127.0.0.1:${port}` }).then(
        () => null,
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      expect(unreachable?.code).toBe(1);
      expect(unreachable?.stderr).toContain('Stripe could not be reached');
      expect(`${unreachable?.stdout}${unreachable?.stderr}`).not.toContain(secret);
    });
  });
}
