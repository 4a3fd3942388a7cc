import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import { z } from 'zod';
import { migrations } from '../db/migrations/index.ts';
import { renderDocsPage } from './docs-page.ts';
import { ApiError } from './errors.ts';

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

  const migrator = new Migrator({ db: app.tollgate.db, provider: { getMigrations: async () => migrations } });
  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['operations'],
        summary: 'Readiness: the database answers and every migration has run (503 otherwise, and while stopping)',
        response: { 200: z.object({ ok: z.boolean() }) },
      },
    },
    async () => {
      try {
        await sql`select 1`.execute(app.tollgate.db);
      } catch (error) {
        throw new ApiError('UNAVAILABLE', `The database does not answer: ${(error as Error).message}`);
      }
      const pending = (await migrator.getMigrations()).filter((migration) => migration.executedAt === undefined);
      if (pending.length > 0) {
        const names = pending.map((migration) => migration.name).join(', ');
        throw new ApiError('UNAVAILABLE', `Migrations not applied yet: ${names}.`);
      }
      return { ok: true };
    },
  );
};
