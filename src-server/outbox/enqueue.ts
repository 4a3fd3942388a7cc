import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { periodOf } from '../../src-shared/period.ts';
import type { Dialect } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { compiledOnce, type StatementRunner, type Steps, slot, statement } from '../db/statements.ts';

/**
 * Writing an event into the outbox, inside the transaction of the change it reports (so the event
 * exists exactly when the change does: a rollback takes both, a crash after commit loses neither).
 * The worker (worker.ts) sends what this writes. Written as statement steps so the metering hot
 * path (statements.ts) and ordinary Kysely transactions (`transactionRunner`) share it.
 */

/** Events sent to the vendor's webhook endpoints (docs/webhooks.md). */
const WEBHOOK_EVENT_TYPES = [
  'customer.created',
  'subscription.changed',
  'usage.threshold_reached',
  'trial.ending',
  'device.activated',
  'device.released',
] as const;
type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Events that email the customer (email.ts renders them). */
const EMAIL_EVENT_TYPES = [
  'usage.threshold_reached',
  'subscription.changed',
  'payment.failed',
  // The one-time link that claims an imported account (accounts/claims.ts); e-mail only.
  'account.claim',
] as const;
export type EmailEventType = (typeof EMAIL_EVENT_TYPES)[number];

type OutboxEventType = WebhookEventType | EmailEventType;

export interface OutboxEvent {
  accountId: string;
  type: OutboxEventType;
  /** What happened (the threshold crossed, the plan before and after, the portal link…). */
  data: Record<string, unknown>;
  now: number;
}

interface MessageInsert {
  id: string;
  eventId: string;
  accountId: string;
  channel: 'email' | 'webhook';
  type: string;
  sequence: number;
  payload: string;
  now: number;
}

interface SubscriptionState {
  tier: string;
  status: string;
  cycle: string | null;
  current_period_end: number | null;
  cancel_at_period_end: number;
  pending_tier: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

function compileOutboxStatements(db: Kysely<Database>, _dialect: Dialect) {
  return {
    nextSequence: statement<{ accountId: string }, { last_sequence: number }>(
      db
        .insertInto('outbox_sequences')
        .values({ account_id: slot((a: { accountId: string }) => a.accountId), last_sequence: 1 })
        .onConflict((oc) =>
          oc.column('account_id').doUpdateSet({ last_sequence: sql<number>`outbox_sequences.last_sequence + 1` }),
        )
        .returning('last_sequence'),
    ),
    account: statement<{ accountId: string }, { email: string; created_at: number }>(
      db
        .selectFrom('accounts')
        .select(['email', 'created_at'])
        .where(
          'id',
          '=',
          slot((a: { accountId: string }) => a.accountId),
        ),
    ),
    subscription: statement<{ accountId: string }, SubscriptionState>(
      db
        .selectFrom('subscriptions')
        .select(['tier', 'status', 'cycle', 'current_period_end', 'cancel_at_period_end', 'pending_tier'])
        .where(
          'account_id',
          '=',
          slot((a: { accountId: string }) => a.accountId),
        ),
    ),
    trial: statement<{ accountId: string }, { tier: string; ends_at: number }>(
      db
        .selectFrom('account_trials')
        .select(['tier', 'ends_at'])
        .where(
          'account_id',
          '=',
          slot((a: { accountId: string }) => a.accountId),
        ),
    ),
    usage: statement<{ accountId: string; period: string }, { operation: string; used: number; reserved: number }>(
      db
        .selectFrom('usage_counters')
        .select(['operation', 'used', 'reserved'])
        .where(
          'account_id',
          '=',
          slot((a: { accountId: string }) => a.accountId),
        )
        .where(
          'period',
          '=',
          slot((a: { period: string }) => a.period),
        ),
    ),
    email: statement<MessageInsert>(
      db.insertInto('outbox_messages').values({
        id: slot((m: MessageInsert) => m.id),
        event_id: slot((m: MessageInsert) => m.eventId),
        account_id: slot((m: MessageInsert) => m.accountId),
        channel: 'email',
        event_type: slot((m: MessageInsert) => m.type),
        endpoint_id: null,
        sequence: slot((m: MessageInsert) => m.sequence),
        payload_json: slot((m: MessageInsert) => m.payload),
        status: 'pending',
        attempts: 0,
        next_attempt_at: slot((m: MessageInsert) => m.now),
        lease_until: 0,
        created_at: slot((m: MessageInsert) => m.now),
      }),
    ),
    // One delivery per live endpoint, fanned out in the same statement.
    webhooks: statement<MessageInsert>(
      // INSERT … SELECT matches columns by position: this list is the select's order.
      db
        .insertInto('outbox_messages')
        .columns([
          'id',
          'event_id',
          'account_id',
          'channel',
          'event_type',
          'endpoint_id',
          'sequence',
          'payload_json',
          'status',
          'attempts',
          'next_attempt_at',
          'lease_until',
          'created_at',
        ])
        .expression(
          db
            .selectFrom('webhook_endpoints')
            .select([
              sql<string>`${slot((m: MessageInsert) => m.id)} || webhook_endpoints.id`.as('id'),
              sql<string>`${slot((m: MessageInsert) => m.eventId)}`.as('event_id'),
              sql<string>`${slot((m: MessageInsert) => m.accountId)}`.as('account_id'),
              sql<string>`'webhook'`.as('channel'),
              sql<string>`${slot((m: MessageInsert) => m.type)}`.as('event_type'),
              'webhook_endpoints.id as endpoint_id',
              sql<number>`${slot((m: MessageInsert) => m.sequence)}`.as('sequence'),
              sql<string>`${slot((m: MessageInsert) => m.payload)}`.as('payload_json'),
              sql<string>`'pending'`.as('status'),
              sql<number>`0`.as('attempts'),
              sql<number>`${slot((m: MessageInsert) => m.now)}`.as('next_attempt_at'),
              sql<number>`0`.as('lease_until'),
              sql<number>`${slot((m: MessageInsert) => m.now)}`.as('created_at'),
            ])
            .where('webhook_endpoints.deleted_at', 'is', null),
        ),
    ),
  };
}

/**
 * Writes one event: gives it the customer's next sequence number, snapshots the customer's whole
 * current state (read after taking the sequence, whose row lock orders concurrent events of one
 * customer, so a higher sequence never carries an older state), then an email row when the event
 * emails and one delivery per live webhook endpoint when it is a webhook event.
 */
export function* enqueueEvent(runner: StatementRunner, event: OutboxEvent): Steps<void> {
  const s = compiledOnce(runner, compileOutboxStatements);
  const args = { accountId: event.accountId };
  const [seq] = (yield runner.rows(s.nextSequence, args)) as { last_sequence: number }[];
  const sequence = Number(seq?.last_sequence ?? 1);
  const eventId = `evt_${randomUUID()}`;
  const base = { eventId, accountId: event.accountId, type: event.type, sequence, now: event.now };
  if ((EMAIL_EVENT_TYPES as readonly string[]).includes(event.type)) {
    yield runner.changes(s.email, {
      ...base,
      id: `eml_${randomUUID()}`,
      channel: 'email',
      payload: JSON.stringify(event.data),
    });
  }
  if (!(WEBHOOK_EVENT_TYPES as readonly string[]).includes(event.type)) return;
  const [account] = (yield runner.rows(s.account, args)) as { email: string; created_at: number }[];
  const [subscription] = (yield runner.rows(s.subscription, args)) as SubscriptionState[];
  const [trial] = (yield runner.rows(s.trial, args)) as { tier: string; ends_at: number }[];
  const period = periodOf(event.now);
  const usage = (yield runner.rows(s.usage, { ...args, period })) as {
    operation: string;
    used: number;
    reserved: number;
  }[];
  const body = {
    id: eventId,
    type: event.type,
    created: new Date(event.now).toISOString(),
    account_id: event.accountId,
    sequence,
    data: event.data,
    state: {
      customer: { id: event.accountId, email: account?.email ?? null, created: iso(account?.created_at ?? null) },
      subscription: subscription
        ? {
            tier: subscription.tier,
            status: subscription.status,
            cycle: subscription.cycle,
            current_period_end: iso(subscription.current_period_end),
            cancel_at_period_end: Number(subscription.cancel_at_period_end) === 1,
            pending_tier: subscription.pending_tier,
          }
        : null,
      // The trial giving the account its tier now (an ended one is no longer state).
      trial:
        trial && Number(trial.ends_at) > event.now ? { tier: trial.tier, ends_at: iso(Number(trial.ends_at)) } : null,
      usage: {
        period,
        operations: Object.fromEntries(
          usage.map((u) => [u.operation, { used: Number(u.used), reserved: Number(u.reserved) }]),
        ),
      },
    },
  };
  yield runner.changes(s.webhooks, {
    ...base,
    id: `whd_${eventId.slice(4)}_`,
    channel: 'webhook',
    payload: JSON.stringify(body),
  });
}
