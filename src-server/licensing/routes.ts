import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LicenseQuery, LicenseResponse } from '../../src-shared/api.ts';
import { suggestDeviceUpgrade } from '../../src-shared/decisions.ts';
import { publicJwks } from '../../src-shared/license.ts';
import { activateDevice } from '../devices/registry.ts';
import { deviceStore } from '../devices/routes.ts';
import { accountOf, planOf } from '../http/context.ts';
import { ApiError } from '../http/errors.ts';
import { issueLicense } from './issuer.ts';

const Jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });

export const licenseRoutes: FastifyPluginAsyncZod = async (app) => {
  const { publicJwk, alsoPublished = [] } = app.tollgate.licenseKey;
  const jwks = publicJwks(publicJwk, ...alsoPublished);

  app.get(
    '/v1/license',
    {
      config: { access: 'housekeeping' },
      schema: {
        tags: ['license'],
        summary: 'A signed license (EdDSA JWS) for this account and device; activates the device',
        description:
          'The first request from a device activates it (409 DEVICE_LIMIT_REACHED, listing the active ' +
          'devices and the cheapest tier that allows more, when the plan has no room); every later ' +
          'one marks it seen. A device the user released gets 409 DEVICE_RELEASED until it asks with ' +
          '`reactivate=true`. `nonce`, a fresh random value per request, is signed into the license as ' +
          "its `nonce` claim: the companion takes the license's `iat` as the time now only from a " +
          'license carrying the nonce it just sent (an unsigned `serverTime` can be replayed).',
        querystring: LicenseQuery,
        response: { 200: LicenseResponse },
      },
    },
    async (request) => {
      const account = accountOf(request);
      const accountPlan = await planOf(request);
      const { query } = request;
      const activation = await activateDevice(
        deviceStore(app.tollgate),
        account.id,
        accountPlan.plan.limits.max_devices,
        {
          deviceId: query.deviceId,
          name: query.deviceName ?? 'Unnamed device',
          os: query.os ?? '',
          appVersion: query.appVersion ?? '',
        },
        { now: app.tollgate.now(), reactivate: query.reactivate === 'true' },
      );
      if (activation.outcome === 'released') throw new ApiError('DEVICE_RELEASED');
      if (activation.outcome === 'limit_reached') {
        const limit = accountPlan.plan.limits.max_devices;
        const upgrade = suggestDeviceUpgrade(app.tollgate.catalog, activation.active.length, accountPlan.plan.tier);
        throw new ApiError(
          'DEVICE_LIMIT_REACHED',
          `The plan allows ${limit} device${limit === 1 ? '' : 's'} and all are in use: release one of them${upgrade ? ` or upgrade to ${upgrade.name}` : ''}.`,
          { limit, devices: activation.active, ...(upgrade ? { upgrade } : {}) },
        );
      }
      return issueLicense(app.tollgate, account, accountPlan, query.deviceId, query.nonce);
    },
  );

  app.get(
    '/.well-known/jwks.json',
    {
      config: { access: 'public' },
      schema: {
        tags: ['license'],
        summary: 'The public keys licenses are signed with (JWKS): the signing key first, then any rotating in or out',
        response: { 200: Jwks },
      },
    },
    async (_request, reply) => {
      // Public and stable: caches may keep it for an hour.
      reply.header('cache-control', 'public, max-age=3600');
      return jwks;
    },
  );
};
