import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { priceLookupKey } from '../../../src-server/payments/catalog-prices.ts';
import { syncCatalogToStripe } from '../../../src-server/payments/stripe-catalog.ts';
import { createStripeClient } from '../../../src-server/payments/stripe-client.ts';
import { defaultCatalog, parseCatalog } from '../../../src-shared/catalog.ts';
import { type FakeStripe, startFakeStripe } from '../../fake-stripe/server.ts';

const SECRET = 'sk_test_fake';
const run = promisify(execFile);

describe('catalog → Stripe sync (real SDK against the fake Stripe)', () => {
  let fake: FakeStripe;
  beforeEach(async () => {
    fake = await startFakeStripe({ apiKey: SECRET, webhookSecret: 'whsec_fake' });
  });
  afterEach(() => fake.close());

  it('creates the products and prices once, found again by lookup key; a second run changes nothing', async () => {
    const stripe = createStripeClient(SECRET, fake.url);
    const first = await syncCatalogToStripe(stripe, defaultCatalog);
    expect(first.created).toHaveLength(5);
    expect([...fake.billing.products.keys()].sort()).toEqual([
      'tollgate_enterprise',
      'tollgate_enterprise_setup',
      'tollgate_professional',
    ]);
    const enterpriseSetup = [...fake.billing.prices.values()].find(
      (price) => price.lookup_key === priceLookupKey('enterprise', 'setup_fee'),
    );
    expect(enterpriseSetup).toMatchObject({ unit_amount: 50000, type: 'one_time', recurring: null });

    const second = await syncCatalogToStripe(stripe, defaultCatalog);
    expect(second).toEqual({ created: [], replaced: [], unchanged: first.created });
    expect(fake.billing.prices.size).toBe(5);
    const posts = fake.requests.filter((request) => request.method === 'POST');
    expect(posts.length).toBeGreaterThan(0);
    expect(posts.every((request) => request.idempotencyKey)).toBe(true);
  });

  it('a changed price makes a new Price that takes the lookup key; the old one is archived', async () => {
    const stripe = createStripeClient(SECRET, fake.url);
    await syncCatalogToStripe(stripe, defaultCatalog);
    const data = structuredClone(defaultCatalog);
    const pro = data.tiers.find((tier) => tier.id === 'professional');
    if (!pro || pro.prices === 'negotiated') throw new Error('the default catalog sells professional');
    pro.prices.monthly_cents = 5900;
    const report = await syncCatalogToStripe(stripe, parseCatalog(data));
    expect(report.replaced).toEqual(['tollgate_professional_monthly']);
    const monthly = [...fake.billing.prices.values()].filter((price) => price.recurring?.interval === 'month');
    const current = monthly.find((price) => price.lookup_key === 'tollgate_professional_monthly');
    expect(current).toMatchObject({ unit_amount: 5900, active: true });
    expect(monthly.find((price) => price.unit_amount === 4900)).toMatchObject({ active: false, lookup_key: null });
  });

  it('npm run stripe:sync does it from the environment and never prints the secret key', async () => {
    const env = { ...process.env, STRIPE_SECRET_KEY: SECRET, STRIPE_API_BASE: fake.url };
    const first = await run(process.execPath, ['--import', 'tsx', 'src-server/payments/sync-cli.ts'], { env });
    expect(first.stdout).toContain('5 created, 0 replaced, 0 unchanged');
    const second = await run(process.execPath, ['--import', 'tsx', 'src-server/payments/sync-cli.ts'], { env });
    expect(second.stdout).toContain('0 created, 0 replaced, 5 unchanged');
    expect(first.stdout + first.stderr + second.stdout + second.stderr).not.toContain(SECRET);
  });
});
