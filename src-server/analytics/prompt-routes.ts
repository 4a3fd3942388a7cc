import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { UpgradePromptBody, UpgradePromptResponse } from '../../src-shared/api.ts';
import { accountOf } from '../http/context.ts';

/**
 * The companion's report that it showed an upgrade prompt: the funnel step no server-side event
 * records. Idempotent per (account, prompt key), so a report resent after a lost answer is counted
 * once; dated by the server's clock when it arrives (the companion sends it as the prompt appears
 * and drops it when offline, so arrival is showing, and a device's clock is not trusted).
 */
export const upgradePromptRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, now } = app.tollgate;

  app.post(
    '/v1/upgrade-prompts',
    {
      config: { access: 'housekeeping' },
      schema: {
        tags: ['analytics'],
        summary: 'The companion showed an upgrade prompt (the funnel’s “prompt shown” step); once per prompt key',
        body: UpgradePromptBody,
        response: { 200: UpgradePromptResponse },
      },
    },
    async (request) => {
      const account = accountOf(request);
      const inserted = await db
        .insertInto('upgrade_prompts')
        .values({
          account_id: account.id,
          prompt_key: request.body.promptKey,
          reason: request.body.reason,
          shown_at: now(),
        })
        .onConflict((conflict) => conflict.columns(['account_id', 'prompt_key']).doNothing())
        .executeTakeFirst();
      return { recorded: Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0 };
    },
  );
};
