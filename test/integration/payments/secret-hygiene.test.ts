import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncCatalogToStripe } from '../../../src-server/payments/stripe-catalog.ts';
import { createStripeClient } from '../../../src-server/payments/stripe-client.ts';
import { defaultCatalog } from '../../../src-shared/catalog.ts';
import { type FakeStripe, startFakeStripe } from '../../fake-stripe/server.ts';
import { request, signUp } from '../../support/server.ts';

/**
 * The Stripe secret key (and webhook secret) never leave the server: not in a response, not in a
 * log line at the most verbose level, not in anything the companion is built from.
 */

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SECRET_KEY = 'sk_test_fake_leak_check';
const WEBHOOK_SECRET = 'whsec_fake_leak_check';

describe('Stripe secrets stay on the server', () => {
  let fake: FakeStripe;
  let child: ChildProcess;
  let output = '';
  let url = '';
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-secrets-'));

  beforeAll(async () => {
    fake = await startFakeStripe({ apiKey: SECRET_KEY, webhookSecret: WEBHOOK_SECRET });
    await syncCatalogToStripe(createStripeClient(SECRET_KEY, fake.url), defaultCatalog);
    child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src-server', 'cli.ts')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        TOLLGATE_PORT: '0',
        TOLLGATE_DATA_DIR: dataDir,
        TOLLGATE_LOG_LEVEL: 'trace',
        STRIPE_SECRET_KEY: SECRET_KEY,
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_API_BASE: fake.url,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    url = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const match = /listening on (http:\/\/\S+)/.exec(output);
        if (match?.[1]) {
          clearInterval(timer);
          resolve(match[1]);
        }
      }, 50);
      child.once('exit', () => {
        clearInterval(timer);
        reject(new Error(`server exited before listening:\n${output}`));
      });
    });
    fake.webhookUrl = `${url}/v1/webhooks/stripe`;
  });

  afterAll(async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is in no response and no log line, through checkout, webhooks, plan changes and failures', async () => {
    const seen: string[] = [];
    const remember = <T extends { status: number; headers: Headers; body: unknown }>(response: T): T => {
      seen.push(JSON.stringify(response.body), JSON.stringify([...response.headers.entries()]));
      return response;
    };
    const account = await signUp(url);
    const checkout = remember(await account.post('/v1/billing/checkout', { tier: 'professional', cycle: 'monthly' }));
    fake.billing.completeCheckout(checkout.body.sessionId);
    expect(await fake.flush()).toEqual([200, 200, 200]);
    remember(await account.get('/v1/me'));
    remember(await account.post('/v1/billing/portal', {}));
    remember(await account.post('/v1/billing/change-plan', { tier: 'enterprise', cycle: 'yearly' }));
    remember(await account.post('/v1/billing/cancel'));
    const forged = remember(
      await request(url, 'POST', '/v1/webhooks/stripe', undefined, {
        raw: '{"id":"evt_forged","type":"customer.subscription.deleted"}',
        headers: { 'stripe-signature': 't=1,v1=deadbeef' },
      }),
    );
    expect(forged.status).toBe(400);
    // Stripe unreachable: failures are reported and logged without the request's credentials, and
    // a webhook that could not be applied answers 503 so that Stripe delivers it again.
    const subscription = fake.billing.sessions.get(checkout.body.sessionId)?.subscription as string;
    fake.billing.trialWillEnd(subscription);
    const [pending] = fake.drain();
    await fake.close();
    const down = remember(await account.post('/v1/billing/portal', {}));
    expect(down.status).toBe(503);
    expect(await fake.deliver(pending!)).toBe(503);
    const openapi = remember(await request(url, 'GET', '/openapi.json'));
    expect(Object.keys(openapi.body.paths)).toEqual(
      expect.arrayContaining(['/v1/billing/checkout', '/v1/billing/change-plan', '/v1/webhooks/stripe']),
    );
    expect(Object.keys(openapi.body.paths)).not.toContain('/billing/test-checkout/{id}');

    expect((await account.get('/v1/me')).body.subscription.tier).toBe('enterprise');
    expect(output).toContain('stripe webhook');
    for (const secret of [SECRET_KEY, WEBHOOK_SECRET]) {
      expect(seen.join('\n')).not.toContain(secret);
      expect(output).not.toContain(secret);
    }
  });

  it('is in nothing the companion is built from (sources, and the build output when present)', () => {
    const files = (path: string): string[] =>
      statSync(path).isDirectory() ? readdirSync(path).flatMap((name) => files(join(path, name))) : [path];
    // The companion's build output; out/server is the billing server's own (scripts/build-server.mjs).
    const built = ['out/main', 'out/preload', 'out/renderer', 'out/web', 'out/companion.js'];
    const companion = ['src-main', 'src-renderer', 'src-shared', ...built]
      .map((dir) => join(ROOT, dir))
      .filter((dir) => existsSync(dir))
      .flatMap(files);
    expect(companion.length).toBeGreaterThan(0);
    const leaking = companion.filter((path) => /STRIPE_SECRET_KEY|sk_(test|live)_/.test(readFileSync(path, 'latin1')));
    expect(leaking).toEqual([]);
  });
});
