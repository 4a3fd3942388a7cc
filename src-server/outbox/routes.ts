import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Selectable } from 'kysely';
import { z } from 'zod';
import {
  CreatedWebhookEndpoint,
  DeliveryList,
  DeliveryQuery,
  WebhookDelivery,
  WebhookEndpointBody,
  WebhookEndpointList,
} from '../../src-shared/webhooks-api.ts';
import { actingAdministrator } from '../admin/admins.ts';
import { recordAudit } from '../admin/audit.ts';
import { Reason } from '../admin/route-parts.ts';
import { newId } from '../db/ids.ts';
import type { Database } from '../db/schema.ts';
import { inTransaction } from '../db/transactions.ts';
import { ApiError } from '../http/errors.ts';
import { withoutSecrets } from './email.ts';
import { isWebhookUrl, newEndpointSecret } from './signature.ts';

/**
 * The vendor's webhook endpoints and the delivery log (emails and webhooks) under
 * /v1/admin/webhooks. Registering, deleting and replaying need the `owner` role, and a replay is
 * an audit entry of its own. A replay sends a delivery's exact body again as a new
 * delivery (same event id and sequence, so a receiver that already has it can tell).
 */

type MessageRow = Selectable<Database['outbox_messages']>;
const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

function deliveryView(row: MessageRow): z.infer<typeof WebhookDelivery> {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    accountId: row.account_id,
    endpointId: row.endpoint_id,
    channel: row.channel,
    sequence: Number(row.sequence),
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    lastError: row.last_error,
    lastStatusCode: row.last_status_code,
    replayOf: row.replay_of,
    createdAt: iso(row.created_at) as string,
    deliveredAt: iso(row.delivered_at),
    payload: JSON.parse(withoutSecrets(row.event_type, row.payload_json)),
  };
}

const IdParams = z.object({ id: z.string().max(200) });

export const outboxRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, now } = app.tollgate;
  const route = (summary: string) => ({ tags: ['admin'], summary });

  app.post(
    '/v1/admin/webhooks/endpoints',
    {
      config: { access: 'admin' },
      schema: {
        ...route('Register a webhook endpoint (the signing secret is shown in this answer only)'),
        body: WebhookEndpointBody,
        response: { 201: CreatedWebhookEndpoint },
      },
    },
    async (request, reply) => {
      actingAdministrator(request);
      const { url, description } = request.body;
      if (!isWebhookUrl(url)) {
        throw new ApiError('WEBHOOK_URL_NOT_ALLOWED', `"${url.slice(0, 100)}" is not an http:// or https:// URL.`);
      }
      const row = {
        id: newId('we'),
        url,
        secret: newEndpointSecret(),
        description: description ?? null,
        created_at: now(),
        deleted_at: null,
      };
      await db.insertInto('webhook_endpoints').values(row).execute();
      return reply.code(201).send({
        id: row.id,
        url,
        description: row.description,
        createdAt: iso(row.created_at) as string,
        secret: row.secret,
      });
    },
  );

  app.get(
    '/v1/admin/webhooks/endpoints',
    {
      config: { access: 'admin' },
      schema: { ...route('List webhook endpoints'), response: { 200: WebhookEndpointList } },
    },
    async () => {
      const rows = await db
        .selectFrom('webhook_endpoints')
        .select(['id', 'url', 'description', 'created_at'])
        .where('deleted_at', 'is', null)
        .orderBy('created_at')
        .execute();
      return {
        endpoints: rows.map((r) => ({
          id: r.id,
          url: r.url,
          description: r.description,
          createdAt: iso(r.created_at) as string,
        })),
      };
    },
  );

  app.delete(
    '/v1/admin/webhooks/endpoints/:id',
    {
      config: { access: 'admin' },
      schema: { ...route('Delete a webhook endpoint: its pending deliveries are not sent'), params: IdParams },
    },
    async (request, reply) => {
      actingAdministrator(request);
      const result = await db
        .updateTable('webhook_endpoints')
        .set({ deleted_at: now() })
        .where('id', '=', request.params.id)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) throw new ApiError('WEBHOOK_ENDPOINT_NOT_FOUND');
      return reply.code(204).send();
    },
  );

  app.get(
    '/v1/admin/webhooks/deliveries',
    {
      config: { access: 'admin' },
      schema: {
        ...route('The delivery log (webhooks and emails), newest first; filter by customer or endpoint'),
        querystring: DeliveryQuery,
        response: { 200: DeliveryList },
      },
    },
    async (request) => {
      const { accountId, endpointId, channel, limit } = request.query;
      let query = db.selectFrom('outbox_messages').selectAll();
      if (accountId) query = query.where('account_id', '=', accountId);
      if (endpointId) query = query.where('endpoint_id', '=', endpointId);
      if (channel) query = query.where('channel', '=', channel);
      const rows = await query.orderBy('created_at', 'desc').orderBy('sequence', 'desc').limit(limit).execute();
      return { deliveries: rows.map(deliveryView) };
    },
  );

  app.post(
    '/v1/admin/webhooks/deliveries/:id/replay',
    {
      config: { access: 'admin' },
      schema: {
        ...route('Send a delivery again (its exact body, as a new delivery in the log)'),
        params: IdParams,
        // A bodyless POST (as automation sends it) is read as null.
        body: z.object({ reason: Reason.optional() }).nullish(),
        response: { 201: WebhookDelivery },
      },
    },
    async (request, reply) => {
      const administrator = actingAdministrator(request);
      const original = await db
        .selectFrom('outbox_messages')
        .selectAll()
        .where('id', '=', request.params.id)
        .executeTakeFirst();
      if (!original) throw new ApiError('DELIVERY_NOT_FOUND');
      if (original.event_type === 'account.claim') {
        throw new ApiError(
          'BAD_REQUEST',
          'A claim e-mail is never sent again: its link is kept only until it is sent. The customer signs up again with the e-mail to get a new one.',
        );
      }
      const at = now();
      const replay: MessageRow = {
        ...original,
        id: newId(original.channel === 'email' ? 'eml' : 'whd'),
        status: 'pending',
        attempts: 0,
        next_attempt_at: at,
        lease_owner: null,
        lease_until: 0,
        last_error: null,
        last_status_code: null,
        replay_of: original.id,
        created_at: at,
        delivered_at: null,
      };
      await inTransaction(db, async (trx) => {
        await trx.insertInto('outbox_messages').values(replay).execute();
        await recordAudit(
          trx,
          {
            administrator,
            accountId: original.account_id,
            action: 'delivery.replay',
            reason: request.body?.reason ?? `replay of ${original.event_type}`,
            before: { deliveryId: original.id, status: original.status },
            after: { deliveryId: replay.id, status: replay.status },
          },
          at,
        );
      });
      return reply.code(201).send(deliveryView(replay));
    },
  );
};
