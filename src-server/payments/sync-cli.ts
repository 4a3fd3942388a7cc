import { ConfigError, loadConfig } from '../config.ts';
import { syncCatalogToStripe } from './stripe-catalog.ts';
import { createStripeClient } from './stripe-client.ts';

/**
 * `npm run stripe:sync`: creates or updates the catalog's Products and Prices in the Stripe account
 * of STRIPE_SECRET_KEY (TOLLGATE_CATALOG names a vendor catalog). Safe to run any number of times.
 */
async function main(): Promise<number> {
  const config = loadConfig();
  if (!config.stripe.secretKey) {
    console.error('STRIPE_SECRET_KEY is not set: there is no Stripe account to sync the catalog to.');
    return 2;
  }
  const stripe = createStripeClient(config.stripe.secretKey, config.stripe.apiBase ?? undefined);
  const report = await syncCatalogToStripe(stripe, config.catalog);
  for (const key of report.created) console.log(`created    ${key}`);
  for (const key of report.replaced) console.log(`replaced   ${key} (old price archived)`);
  for (const key of report.unchanged) console.log(`unchanged  ${key}`);
  console.log(
    `${report.created.length} created, ${report.replaced.length} replaced, ${report.unchanged.length} unchanged`,
  );
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Stripe's messages never carry the full key; print the message only, not request details.
    console.error(error instanceof ConfigError ? error.message : `catalog sync failed: ${(error as Error).message}`);
    process.exitCode = 1;
  },
);
