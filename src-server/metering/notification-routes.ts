import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Notification, NotificationsResponse } from '../../src-shared/api.ts';
import { accountOf } from '../http/context.ts';
import { listNotifications, markNotificationRead } from './notifications.ts';

export const notificationRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, catalog, now } = app.tollgate;

  app.get(
    '/v1/notifications',
    {
      config: { access: 'housekeeping' },
      schema: {
        tags: ['notifications'],
        summary: 'Usage notifications (80 % and 100 % of each monthly limit), newest first',
        response: { 200: NotificationsResponse },
      },
    },
    async (request) => ({ notifications: await listNotifications(db, catalog, accountOf(request).id) }),
  );

  app.post(
    '/v1/notifications/:id/read',
    {
      config: { access: 'housekeeping' },
      schema: {
        tags: ['notifications'],
        summary: 'Mark a notification read',
        params: z.strictObject({ id: z.string().min(1).max(100) }),
        // The body carries nothing; an empty object or none at all is accepted.
        body: z.strictObject({}).nullish(),
        response: { 200: Notification },
      },
    },
    async (request) => markNotificationRead(db, catalog, accountOf(request).id, request.params.id, now()),
  );
};
