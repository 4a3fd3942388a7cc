import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, startTestServer, type TestServer } from '../../support/server.ts';
import { closeAfterEach, eventually, openTestCompanion, outageProxy, tempDir } from './harness.ts';

// The window's "upgrade prompt shown" goes to the server for the vendor's funnel: in the
// background, once per prompt, and never in the user's way — offline it is dropped at once.

const folder = tempDir('tollgate-prompts-');
const closing = closeAfterEach();
let server: TestServer;
let proxy: Awaited<ReturnType<typeof outageProxy>>;

beforeAll(async () => {
  server = await startTestServer();
  proxy = await outageProxy(server.url);
});

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  folder.remove();
});

const promptsOf = (accountId: string) =>
  server.db
    .selectFrom('upgrade_prompts')
    .select(['prompt_key', 'reason'])
    .where('account_id', '=', accountId)
    .orderBy('prompt_key')
    .execute();

describe('upgrade prompts shown', () => {
  it('are reported once each in the background, and dropped without delay while offline', async () => {
    const account = await signUp(server.url);
    const companion = closing(
      await openTestCompanion({ home: join(folder.path, 'home'), serverUrl: proxy.url }),
      (opened) => opened.close(),
    );
    expect((await companion.dispatch('auth.signIn', { email: account.email, password: account.password })).ok).toBe(
      true,
    );

    const full = { promptKey: 'limit:ai_operations:full:2026-03', reason: 'limit_reached' } as const;
    // Answered synchronously: the window never waits for the server.
    const answer = companion.dispatch('prompts.shown', full);
    expect(answer).toEqual({ ok: true, value: {} });
    // Re-rendered, the same prompt is not sent again (and the server would count it once anyway).
    companion.dispatch('prompts.shown', full);
    await eventually(async () => (await promptsOf(account.id)).length === 1);
    expect(await promptsOf(account.id)).toEqual([{ prompt_key: full.promptKey, reason: 'limit_reached' }]);

    closing(proxy, (outage) => outage.up());
    await proxy.down();
    const near = { promptKey: 'limit:data_processing:warning:2026-03', reason: 'limit_near' } as const;
    expect(companion.dispatch('prompts.shown', near)).toEqual({ ok: true, value: {} });
    // Gated decisions still answer from the cached license meanwhile; a sync started after the
    // report fails on the same cut network, so the report has failed by the time it answers.
    expect(await companion.dispatch('gate.check', { feature: 'basic_processing' })).toMatchObject({ ok: true });
    await companion.dispatch('sync.now', {});

    await proxy.up();
    // Dropped, not queued: a full sync once the network is back does not bring it...
    expect(await companion.dispatch('sync.now', {})).toMatchObject({ ok: true });
    expect(await promptsOf(account.id)).toHaveLength(1);
    // ...but the same prompt shown again later is reported then.
    companion.dispatch('prompts.shown', near);
    await eventually(async () => (await promptsOf(account.id)).length === 2);
  });
});
