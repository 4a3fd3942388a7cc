import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BRANDING_FILE } from '../../../src-main/branding.ts';
import type { Companion } from '../../../src-main/companion.ts';
import { MeResponse } from '../../../src-shared/api.ts';
import type { TierId } from '../../../src-shared/catalog.ts';
import { setPlan, signUp, startTestServer, type TestAccount, type TestServer } from '../../support/server.ts';
import { closeAfterEach, openTestCompanion, tempDir } from './harness.ts';

// A real billing server and in-process companions: what the window is told about branding, the
// hourly API calls and a checkout, from configuration and the server alone.

const folder = tempDir('tollgate-white-label-');
let server: TestServer;
const closing = closeAfterEach();

beforeAll(async () => {
  server = await startTestServer({ env: { TOLLGATE_PAYMENTS: 'local' } });
});

afterAll(async () => {
  await server?.stop();
  folder.remove();
});

async function signedIn(name: string, tier: TierId): Promise<{ companion: Companion; account: TestAccount }> {
  const account = await signUp(server.url);
  if (tier !== 'free') await setPlan(server.db, account.id, { tier });
  const home = join(folder.path, name);
  const companion = closing(await openTestCompanion({ home, serverUrl: server.url }), (opened) => opened.close());
  const answer = await companion.dispatch('auth.signIn', { email: account.email, password: account.password });
  expect(answer.ok).toBe(true);
  return { companion, account };
}

describe('white label from configuration', () => {
  it('shows the configured name to an enterprise (white_label) account and Tollgate to a free one', async () => {
    const branding = { productName: 'Acme Studio', accentColor: '#0b6e4f', logoUrl: 'https://cdn.acme.example/l.png' };
    for (const name of ['enterprise', 'free']) {
      mkdirSync(join(folder.path, name), { recursive: true });
      writeFileSync(join(folder.path, name, BRANDING_FILE), JSON.stringify(branding));
    }
    const enterprise = await signedIn('enterprise', 'enterprise');
    const free = await signedIn('free', 'free');
    expect(enterprise.companion.state.getState().branding).toEqual(branding);
    expect(free.companion.state.getState().branding).toMatchObject({ productName: 'Tollgate', logoUrl: null });

    // The plan lapses to free on the server: the next sync takes the white label away.
    await setPlan(server.db, enterprise.account.id, { tier: 'free' });
    await enterprise.companion.dispatch('sync.now', {});
    expect(enterprise.companion.state.getState().branding.productName).toBe('Tollgate');
  });
});

describe('API calls this hour', () => {
  it('reports the metered calls the rate limiter counted, on the server and in the companion', async () => {
    const { companion, account } = await signedIn('api-calls', 'free');
    expect(companion.state.getState().usage.apiCalls).toEqual({
      limit: 10,
      windowSeconds: 3600,
      used: 0,
      resetsAt: null,
    });
    for (let n = 0; n < 3; n += 1) {
      const consumed = await account.post('/v1/usage/consume', {
        operation: 'ai_operations',
        units: 1,
        idempotencyKey: `api-call-${n}-${account.id}`,
      });
      expect(consumed.status).toBe(200);
    }
    const me = MeResponse.parse((await account.get('/v1/me')).body);
    expect(me.usage.apiCalls).toMatchObject({ limit: 10, windowSeconds: 3600, used: 3 });
    const resetsAt = Date.parse(me.usage.apiCalls.resetsAt ?? '');
    expect(resetsAt).toBeGreaterThan(Date.now());
    expect(resetsAt).toBeLessThanOrEqual(Date.now() + 3600_000);

    await companion.dispatch('sync.now', {});
    expect(companion.state.getState().usage.apiCalls).toMatchObject({ limit: 10, used: 3 });
  });
});

describe('checkout completion', () => {
  it('moves a waiting checkout to completed when a sync shows the plan it was for', async () => {
    const { companion, account } = await signedIn('checkout', 'free');
    const started = await companion.dispatch('billing.checkout', { tier: 'professional', cycle: 'yearly' });
    expect(started).toMatchObject({ ok: true, value: { kind: 'checkout' } });
    expect(companion.state.getState().checkout).toMatchObject({ status: 'waiting', tier: 'professional' });

    // What the payment provider's webhook does, minus the provider: the subscription moves.
    await setPlan(server.db, account.id, { tier: 'professional', patch: { cycle: 'monthly' } });
    await companion.dispatch('sync.now', {});
    expect(companion.state.getState().checkout.status).toBe('waiting');
    await setPlan(server.db, account.id, { tier: 'professional', patch: { cycle: 'yearly' } });
    await companion.dispatch('sync.now', {});
    expect(companion.state.getState().checkout).toEqual({
      status: 'completed',
      tier: 'professional',
      cycle: 'yearly',
      error: null,
    });
  });
});
