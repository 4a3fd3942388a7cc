import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { LeaseBody, LeaseResponse } from '../../src-shared/api.ts';
import { accountOf, planOf } from '../http/context.ts';
import { grantLeases } from './leases.ts';

/** Quota leases: the companion renews its device's leases on each sync (leases.ts). */
export const leaseRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, dialect, catalog, now, licenseKey, config } = app.tollgate;
  const store = { db, dialect, catalog, licenseKey };

  app.post(
    '/v1/leases',
    {
      config: { access: 'housekeeping' },
      schema: {
        tags: ['usage'],
        summary: "Renew this device's signed quota leases: units of each limited operation it may spend offline",
        body: LeaseBody,
        response: { 200: LeaseResponse },
      },
    },
    async (request) => {
      const { plan } = await planOf(request);
      return grantLeases(
        store,
        accountOf(request).id,
        plan,
        { deviceId: request.body.deviceId, pending: request.body.pending, ttlMs: config.offlineGraceMs },
        now(),
      );
    },
  );
};
