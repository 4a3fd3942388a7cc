import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LicenseQuery, LicenseResponse } from '../../src-shared/api.ts';
import { publicJwks } from '../../src-shared/license.ts';
import { accountOf, planOf } from '../http/context.ts';
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
        summary: 'A signed license (EdDSA JWS) for this account and device',
        querystring: LicenseQuery,
        response: { 200: LicenseResponse },
      },
    },
    async (request) => issueLicense(app.tollgate, accountOf(request), await planOf(request), request.query.deviceId),
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
