import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import type { Catalog } from '../../src-shared/catalog.ts';
import { createImportedAccount } from '../accounts/accounts.ts';
import type { Dialect } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { type HistoryStep, presentStep, subscriptionHistory } from './stripe-history.ts';
import { StripeProvider } from './stripe-provider.ts';
import { type InvoiceRecord, SubscriptionStore } from './subscription-store.ts';

/**
 * `npm run stripe:import`: backfills a Stripe account that billed customers before Tollgate —
 * customers, subscriptions and paid invoices — with Stripe's own dates, so analytics shows the
 * vendor's real history. A pipeline: read everything (the SDK's auto-pagination), plan each
 * subscription's history (stripe-history.ts, pure), then apply it through SubscriptionStore.apply,
 * the path every webhook takes. Every historical step is applied under a stable id, the way a
 * webhook's event id is, and the present state (read again just before it is applied) and the
 * invoices are idempotent by themselves, so a second run changes nothing, a later run catches up
 * with what no webhook delivered, and a webhook about an imported subscription finds it up to date.
 */

export interface ImportContext {
  stripe: Stripe;
  db: Kysely<Database>;
  dialect: Dialect;
  catalog: Catalog;
  pastDueGraceMs: number;
  now: () => number;
  /** One line of progress for the operator (never a key or a customer's card). */
  progress: (line: string) => void;
}

export interface ImportReport {
  customers: number;
  /** Accounts made for customers Tollgate did not know (unclaimed: see createImportedAccount). */
  accountsCreated: number;
  /** Existing accounts with the customer's e-mail, now linked to the customer. */
  accountsLinked: number;
  /** Customers already linked to an account (an earlier import, or a checkout through Tollgate). */
  accountsKnown: number;
  /** Customers without an e-mail: no account can be made for them. */
  customersSkipped: string[];
  subscriptions: number;
  /** Subscriptions left out, and why. */
  subscriptionsSkipped: { id: string; reason: string }[];
  invoices: number;
  /** What this run added to analytics: new subscription events and new invoices. */
  eventsRecorded: number;
  invoicesRecorded: number;
}

/** How often progress is printed while listing. */
const PROGRESS_EVERY = 100;
const ms = (unixSeconds: number) => unixSeconds * 1000;
const idOf = (value: string | { id: string } | null | undefined) => (typeof value === 'string' ? value : value?.id);

export async function importStripeAccount(context: ImportContext): Promise<ImportReport> {
  const { stripe, db, dialect, catalog, progress } = context;
  const store = new SubscriptionStore(db, dialect, catalog, context.now, context.pastDueGraceMs);
  // The provider is used only to read and normalize what Stripe says, exactly as webhooks do.
  const reader = new StripeProvider(stripe, store, catalog, () => '');
  const report: ImportReport = {
    customers: 0,
    accountsCreated: 0,
    accountsLinked: 0,
    accountsKnown: 0,
    customersSkipped: [],
    subscriptions: 0,
    subscriptionsSkipped: [],
    invoices: 0,
    eventsRecorded: 0,
    invoicesRecorded: 0,
  };
  const before = await analyticsRows(db);

  // ── Read ────────────────────────────────────────────────────────────────────────────────────────
  const accounts = new Map<string, string>();
  for await (const customer of stripe.customers.list({ limit: 100 })) {
    report.customers += 1;
    const outcome = await accountFor(db, store, customer);
    if (outcome === 'no-email') report.customersSkipped.push(customer.id);
    else {
      accounts.set(customer.id, outcome.accountId);
      if (outcome.how === 'created') report.accountsCreated += 1;
      else if (outcome.how === 'linked') report.accountsLinked += 1;
      else report.accountsKnown += 1;
    }
    if (report.customers % PROGRESS_EVERY === 0) progress(`customers: ${report.customers} read`);
  }
  progress(`customers: ${report.customers} read`);

  const invoices = new Map<string, InvoiceRecord>();
  const subscriptionOfInvoice = new Map<string, string>();
  for await (const invoice of stripe.invoices.list({ status: 'paid', limit: 100 })) {
    report.invoices += 1;
    const record = await reader.invoiceOf(invoice);
    const subscriptionId = idOf(invoice.parent?.subscription_details?.subscription);
    if (record) invoices.set(record.id, record);
    if (record && subscriptionId) subscriptionOfInvoice.set(record.id, subscriptionId);
    if (report.invoices % PROGRESS_EVERY === 0) progress(`invoices: ${report.invoices} read`);
  }
  // Refunds live on charges, not invoices: read each refunded charge's invoice with its refund.
  for await (const charge of stripe.charges.list({ limit: 100 })) {
    if (charge.amount_refunded === 0) continue;
    const refunded = await reader.invoiceOfCharge(charge.id);
    if (refunded && invoices.has(refunded.id)) invoices.set(refunded.id, refunded);
  }
  const invoicesOf = new Map<string, InvoiceRecord[]>();
  for (const record of invoices.values()) {
    const subscriptionId = subscriptionOfInvoice.get(record.id);
    if (!subscriptionId) continue;
    invoicesOf.set(subscriptionId, [...(invoicesOf.get(subscriptionId) ?? []), record]);
  }
  progress(`invoices: ${report.invoices} read`);

  const histories = new Map<string, { subscriptionId: string; startedAt: number; steps: HistoryStep[] }[]>();
  for await (const subscription of stripe.subscriptions.list({
    status: 'all',
    limit: 100,
    expand: ['data.schedule', 'data.latest_invoice'],
  })) {
    report.subscriptions += 1;
    const accountId = accounts.get(idOf(subscription.customer) as string);
    const current = await reader.subscriptionOf(subscription);
    const steps = accountId
      ? subscriptionHistory(
          { ...current, accountId },
          {
            startedAt: ms(subscription.start_date),
            canceledAt: subscription.canceled_at === null ? null : ms(subscription.canceled_at),
            endedAt: subscription.ended_at === null ? null : ms(subscription.ended_at),
          },
          invoicesOf.get(subscription.id) ?? [],
        )
      : [];
    if (!accountId || steps.length === 0) {
      report.subscriptionsSkipped.push({
        id: subscription.id,
        reason: !accountId
          ? 'its customer has no account (no e-mail)'
          : current.plan === null
            ? 'its price is not one of the catalog’s (tag it with tollgate_tier and tollgate_kind to count it)'
            : 'it was never paid',
      });
    } else {
      const list = histories.get(accountId) ?? [];
      list.push({ subscriptionId: subscription.id, startedAt: ms(subscription.start_date), steps });
      histories.set(accountId, list);
    }
    if (report.subscriptions % PROGRESS_EVERY === 0) progress(`subscriptions: ${report.subscriptions} read`);
  }
  progress(`subscriptions: ${report.subscriptions} read`);

  // ── Apply ───────────────────────────────────────────────────────────────────────────────────────
  let applied = 0;
  for (const [accountId, subscriptions] of histories) {
    // An account's subscriptions in the order they began, each step in its own order: the store
    // dates every event after the account's previous one.
    subscriptions.sort((a, b) => a.startedAt - b.startedAt);
    for (const { subscriptionId, steps } of subscriptions) {
      for (const listed of steps) {
        // The present is read again just before it is applied, as a webhook reads it: the listing
        // may be minutes old, and a webhook may have applied a newer change meanwhile.
        const step =
          listed.key === null
            ? presentStep(await reader.readSubscription(subscriptionId), steps[steps.length - 2]?.at ?? listed.at)
            : listed;
        await store.apply({
          ...(step.key ? { event: { id: `import:${subscriptionId}:${step.key}`, type: 'tollgate.import' } } : {}),
          subscription: { ...step.subscription, accountId },
          occurredAt: step.at,
          imported: true,
        });
      }
    }
    applied += 1;
    if (applied % PROGRESS_EVERY === 0) progress(`accounts: ${applied} of ${histories.size} applied`);
  }
  for (const record of invoices.values()) {
    const accountId = accounts.get(record.customerId);
    if (accountId) await store.apply({ invoice: { ...record, accountId }, imported: true });
  }

  const after = await analyticsRows(db);
  report.eventsRecorded = after.events - before.events;
  report.invoicesRecorded = after.invoices - before.invoices;
  return report;
}

type AccountOutcome = { accountId: string; how: 'known' | 'linked' | 'created' } | 'no-email';

/**
 * The Tollgate account of a Stripe customer: the one already linked to it, else the one with its
 * e-mail (now linked), else a new unclaimed account dated when Stripe created the customer.
 */
async function accountFor(
  db: Kysely<Database>,
  store: SubscriptionStore,
  customer: Stripe.Customer,
): Promise<AccountOutcome> {
  const known = await store.accountOfCustomer('stripe', customer.id);
  if (known) return { accountId: known, how: 'known' };
  const email = customer.email?.trim().toLowerCase();
  if (!email) return 'no-email';
  const created = await createImportedAccount(db, email, ms(customer.created));
  const accountId =
    created ?? (await db.selectFrom('accounts').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
  // A second Stripe customer with the same e-mail keeps the account's first link; its history is
  // still applied to the account, which names the customer of the subscription it has now.
  if ((await store.row(accountId))?.provider_customer_id == null) {
    await store.rememberCustomer(accountId, 'stripe', customer.id);
  }
  return { accountId, how: created ? 'created' : 'linked' };
}

async function analyticsRows(db: Kysely<Database>): Promise<{ events: number; invoices: number }> {
  const count = async (table: 'subscription_events' | 'invoices') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number | string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return { events: await count('subscription_events'), invoices: await count('invoices') };
}
