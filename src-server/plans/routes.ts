import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { PlansResponse } from '../../src-shared/api.ts';
import { plansView } from '../../src-shared/plans-view.ts';

export const planRoutes: FastifyPluginAsyncZod = async (app) => {
  const plans = plansView(app.tollgate.catalog);
  app.get(
    '/v1/plans',
    {
      config: { access: 'guest' },
      schema: {
        tags: ['plans'],
        summary: 'Every tier with its limits, features and prices (public)',
        response: { 200: PlansResponse },
      },
    },
    async () => plans,
  );
};
