import { ConfigError, loadConfig } from '../config.ts';
import { createDatabase } from '../db/connection.ts';
import { createStripeClient } from './stripe-client.ts';
import { importStripeAccount } from './stripe-import.ts';

/**
 * `npm run stripe:import`: backfills the Stripe account of STRIPE_SECRET_KEY — customers,
 * subscriptions, paid invoices, with Stripe's own dates — into the configured database
 * (TOLLGATE_DATABASE_URL or TOLLGATE_DATA_DIR). Safe to run any number of times, and while the
 * server runs (docs/stripe.md, "Moving an existing Stripe account to Tollgate").
 */
async function main(): Promise<number> {
  const config = loadConfig();
  if (!config.stripe.secretKey) {
    console.error('STRIPE_SECRET_KEY is not set: there is no Stripe account to import from.');
    return 2;
  }
  const stripe = createStripeClient(config.stripe.secretKey, config.stripe.apiBase ?? undefined);
  const database = await createDatabase(config);
  try {
    const report = await importStripeAccount({
      stripe,
      db: database.db,
      dialect: database.dialect,
      catalog: config.catalog,
      pastDueGraceMs: config.pastDueGraceMs,
      now: Date.now,
      progress: (line) => console.log(line),
    });
    for (const id of report.customersSkipped) console.log(`skipped    customer ${id}: it has no e-mail`);
    for (const { id, reason } of report.subscriptionsSkipped) console.log(`skipped    subscription ${id}: ${reason}`);
    console.log(
      `accounts: ${report.accountsCreated} created (unclaimed), ${report.accountsLinked} linked by e-mail, ` +
        `${report.accountsKnown} already linked, ${report.customersSkipped.length} skipped`,
    );
    console.log(
      `subscriptions: ${report.subscriptions - report.subscriptionsSkipped.length} imported, ` +
        `${report.subscriptionsSkipped.length} skipped; invoices: ${report.invoices} read`,
    );
    console.log(`recorded: ${report.eventsRecorded} subscription events, ${report.invoicesRecorded} invoices`);
    if (!config.outbox.smtpUrl && report.accountsCreated > 0) {
      console.log(
        `TOLLGATE_SMTP_URL is not set: the ${report.accountsCreated} unclaimed accounts can be claimed only through a link ` +
          'e-mailed to their address, so set it on the server before customers sign up (docs/operations.md, "Email and webhooks").',
      );
    }
    console.log(
      'Once Stripe sends webhooks to /v1/webhooks/stripe, run the import once more: it records only what happened in between.',
    );
    return 0;
  } finally {
    await database.destroy();
  }
}

/** What went wrong, in words an operator can act on; never Stripe's raw text about the key. */
function failureMessage(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  const stripeError = error as { type?: string; message?: string };
  switch (stripeError.type) {
    case 'StripeAuthenticationError':
      return 'Stripe refused STRIPE_SECRET_KEY: check that it is a secret key (sk_live_… or sk_test_…) of the account to import.';
    case 'StripePermissionError':
      return 'STRIPE_SECRET_KEY may not read this account: a restricted key needs read access to customers, subscriptions, invoices, charges and prices.';
    case 'StripeConnectionError':
      return 'Stripe could not be reached (network, proxy or STRIPE_API_BASE): the import stopped. Run it again once Stripe answers; nothing is counted twice.';
  }
  return `import failed: ${stripeError.message ?? String(error)}`;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(failureMessage(error));
    process.exitCode = 1;
  },
);
