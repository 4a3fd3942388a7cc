import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Catalog } from '../../src-shared/catalog.ts';
import type { Dialect } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { type EmailSender, messageIdOf, renderEmail, withoutSecrets } from './email.ts';
import type { EmailEventType } from './enqueue.ts';
import { isWebhookUrl, SIGNATURE_HEADER, signatureHeader } from './signature.ts';

/**
 * The outbox worker: claims due rows with a lease, sends each (email or webhook), and records the
 * outcome. Delivery is at least once: a process killed after sending and before recording leaves
 * the row pending, and once its lease runs out another worker (or the restarted one) sends it again
 * — with the same Message-ID / event id, so the receiver can drop the duplicate. Two processes on
 * one database never hold the same row: the claim is one UPDATE guarded by the lease (and on
 * PostgreSQL `FOR UPDATE SKIP LOCKED`, so claimers do not queue behind each other).
 */

type OutboxRow = Selectable<Database['outbox_messages']>;

const POLL_MS = 500;
const BATCH = 20;
const WEBHOOK_TIMEOUT_MS = 10_000;
const FIRST_RETRY_MS = 30_000;
const MAX_RETRY_MS = 6 * 3600_000;
/** Retries stop three days after the event. */
const GIVE_UP_AFTER_MS = 3 * 24 * 3600_000;

/**
 * When to try again after `attempts` failed tries: exponential from 30 s, capped at 6 h, with
 * "equal jitter" (half fixed, half random) so many failing deliveries do not retry in lockstep;
 * null once three days have passed since the event.
 */
export function nextAttemptAt(createdAt: number, attempts: number, now: number, random = Math.random): number | null {
  const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));
  const at = Math.round(now + base / 2 + random() * (base / 2));
  return at - createdAt > GIVE_UP_AFTER_MS ? null : at;
}

export interface OutboxWorkerOptions {
  db: Kysely<Database>;
  dialect: Dialect;
  catalog: Catalog;
  now: () => number;
  /** Null: email rows wait (unsent, never lost) until TOLLGATE_SMTP_URL is configured. */
  email: EmailSender | null;
  publicUrl: () => string;
  leaseMs: number;
  log: { warn(object: object, message: string): void };
}

export class OutboxWorker {
  private readonly owner = `wrk_${randomUUID()}`;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly options: OutboxWorkerOptions) {}

  start(): void {
    this.schedule(0);
  }

  /** Stops polling and waits for the deliveries in flight to be sent and recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .catch((error: unknown) => this.options.log.warn({ err: error }, 'outbox delivery round failed'))
        .finally(() => {
          this.running = null;
          this.schedule(POLL_MS);
        });
    }, delay);
    // Never keeps a test or a stopping server alive.
    this.timer.unref();
  }

  /** Claims what is due and sends it; resolves when every claimed row is recorded. */
  async runOnce(): Promise<void> {
    const rows = await this.claim();
    await Promise.all(rows.map((row) => this.deliver(row)));
  }

  private async claim(): Promise<OutboxRow[]> {
    const { db, dialect, now, leaseMs, email } = this.options;
    const at = now();
    let due = db
      .selectFrom('outbox_messages')
      .select('id')
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', at)
      .where('lease_until', '<=', at)
      .orderBy('next_attempt_at')
      .limit(BATCH);
    if (!email) due = due.where('channel', '!=', 'email');
    if (dialect === 'postgres') due = due.forUpdate().skipLocked();
    return db
      .updateTable('outbox_messages')
      .set({ lease_owner: this.owner, lease_until: at + leaseMs })
      .where('id', 'in', due)
      .where('lease_until', '<=', at)
      .returningAll()
      .execute();
  }

  private async deliver(row: OutboxRow): Promise<void> {
    let failure: { error: string; statusCode: number | null; permanent?: boolean } | null;
    try {
      failure = row.channel === 'email' ? await this.sendEmail(row) : await this.sendWebhook(row);
    } catch (error) {
      failure = { error: (error as Error).message, statusCode: null };
    }
    const { db, now } = this.options;
    const at = now();
    const mine = db.updateTable('outbox_messages').where('id', '=', row.id).where('lease_owner', '=', this.owner);
    if (!failure) {
      await mine
        .set({
          status: 'delivered',
          delivered_at: at,
          attempts: row.attempts + 1,
          lease_until: 0,
          last_error: null,
          payload_json: withoutSecrets(row.event_type, row.payload_json),
        })
        .execute();
      return;
    }
    const attempts = row.attempts + 1;
    const next = failure.permanent ? null : nextAttemptAt(row.created_at, attempts, at);
    await mine
      .set({
        attempts,
        status: next === null ? 'failed' : 'pending',
        ...(next === null ? { payload_json: withoutSecrets(row.event_type, row.payload_json) } : {}),
        next_attempt_at: next ?? at,
        lease_until: 0,
        last_error: failure.error.slice(0, 500),
        last_status_code: failure.statusCode,
      })
      .execute();
  }

  private async sendEmail(row: OutboxRow): Promise<null | { error: string; statusCode: null; permanent: boolean }> {
    const { db, catalog, email, publicUrl } = this.options;
    const account = await db.selectFrom('accounts').select('email').where('id', '=', row.account_id).executeTakeFirst();
    if (!account) return { error: 'the account no longer exists', statusCode: null, permanent: true };
    const { subject, text } = renderEmail(catalog, row.event_type as EmailEventType, JSON.parse(row.payload_json));
    await (email as EmailSender).send({
      messageId: messageIdOf(row.id, publicUrl()),
      to: account.email,
      subject,
      text,
    });
    return null;
  }

  private async sendWebhook(
    row: OutboxRow,
  ): Promise<null | { error: string; statusCode: number | null; permanent?: boolean }> {
    const { db, now } = this.options;
    const endpoint = await db
      .selectFrom('webhook_endpoints')
      .select(['url', 'secret', 'deleted_at'])
      .where('id', '=', row.endpoint_id as string)
      .executeTakeFirst();
    if (!endpoint || endpoint.deleted_at !== null) {
      return { error: 'the endpoint was deleted', statusCode: null, permanent: true };
    }
    if (!isWebhookUrl(endpoint.url)) return { error: 'not an http(s) URL', statusCode: null, permanent: true };
    const body = row.payload_json;
    const response = await fetch(endpoint.url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Tollgate-Webhooks/1',
        [SIGNATURE_HEADER]: signatureHeader(endpoint.secret, body, Math.floor(now() / 1000)),
        'tollgate-event-id': row.event_id,
        'tollgate-delivery-id': row.id,
      },
      body,
    });
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 300) return null;
    return { error: `the endpoint answered ${response.status}`, statusCode: response.status };
  }
}
