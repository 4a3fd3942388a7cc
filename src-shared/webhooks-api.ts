import { z } from 'zod';

/**
 * The admin API of outbound webhooks and the delivery log (/v1/admin/webhooks/…, admin token), for
 * the server's routes and the dashboard's customer page. docs/webhooks.md describes the deliveries.
 */

export const WebhookEndpointBody = z.object({
  /** http:// or https:// only. */
  url: z.string().min(1).max(2000),
  description: z.string().max(200).optional(),
});

const WebhookEndpoint = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  createdAt: z.string(),
});

/** The answer to registering: the only time the signing secret is shown. */
export const CreatedWebhookEndpoint = WebhookEndpoint.extend({ secret: z.string() });

export const WebhookEndpointList = z.object({ endpoints: z.array(WebhookEndpoint) });

export const WebhookDelivery = z.object({
  id: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  accountId: z.string(),
  /** Null for an email (the log lists both channels). */
  endpointId: z.string().nullable(),
  channel: z.enum(['email', 'webhook']),
  sequence: z.number().int(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  lastError: z.string().nullable(),
  lastStatusCode: z.number().int().nullable(),
  replayOf: z.string().nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
  /** The exact JSON body sent (webhooks) or the email's data. */
  payload: z.unknown(),
});

export const DeliveryQuery = z.object({
  accountId: z.string().optional(),
  endpointId: z.string().optional(),
  channel: z.enum(['email', 'webhook']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const DeliveryList = z.object({ deliveries: z.array(WebhookDelivery) });
