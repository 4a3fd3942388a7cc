/**
 * The outbox tables (migration 007_outbox). Times are UTC ms. A row of outbox_messages is one
 * message to send — an email to the account's address or one webhook delivery to one endpoint —
 * written in the same transaction as the event it reports, and sent by the worker (worker.ts).
 */

type OutboxChannel = 'email' | 'webhook';
/** `pending` until sent; `delivered` once the receiver accepted it; `failed` after three days of retries. */
type OutboxStatus = 'pending' | 'delivered' | 'failed';

interface WebhookEndpointsTable {
  id: string;
  /** http:// or https:// only (checked when registered and again before each send). */
  url: string;
  /** The HMAC key (`whsec_…`), shown once when the endpoint is registered. */
  secret: string;
  description: string | null;
  created_at: number;
  /** Set when the owner removes it: its pending deliveries are no longer sent. */
  deleted_at: number | null;
}

interface OutboxSequencesTable {
  account_id: string;
  /** The last sequence number given to one of this customer's events. */
  last_sequence: number;
}

interface OutboxMessagesTable {
  id: string;
  /** The event's id (`evt_…`): the same in the email, every endpoint's delivery and any replay. */
  event_id: string;
  account_id: string;
  channel: OutboxChannel;
  event_type: string;
  endpoint_id: string | null;
  /** The customer's sequence number of the event (strictly increasing per account). */
  sequence: number;
  /** Webhook: the exact JSON body sent. Email: the template's data. */
  payload_json: string;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: number;
  /** Which worker holds the row and until when; another worker may take it once the lease ran out. */
  lease_owner: string | null;
  lease_until: number;
  last_error: string | null;
  last_status_code: number | null;
  /** The delivery this one replays (an admin's replay from the log). */
  replay_of: string | null;
  created_at: number;
  delivered_at: number | null;
}

export interface OutboxTables {
  webhook_endpoints: WebhookEndpointsTable;
  outbox_sequences: OutboxSequencesTable;
  outbox_messages: OutboxMessagesTable;
}
