import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { renderDocsPage } from './docs-page.ts';

/** /openapi.json (generated from the route schemas), the /docs page and a health check. */
export const docsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());

  let page: string | undefined;
  app.get('/docs', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => {
    page ??= renderDocsPage(app.swagger() as Parameters<typeof renderDocsPage>[0]);
    return reply.type('text/html; charset=utf-8').send(page);
  });

  app.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['operations'],
        summary: 'Liveness: answers while the process serves',
        response: { 200: z.object({ ok: z.boolean() }) },
      },
    },
    async () => ({ ok: true }),
  );
};
