import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostClient } from '../../../src-main/host-client.ts';
import type { LicenseChanged } from '../../../src-shared/contract.ts';
import { setPlan, signUp, startTestServer, type TestAccount, type TestServer } from '../../support/server.ts';
import {
  type CompanionEnv,
  type CompanionProcess,
  eventually,
  runTollgate,
  serverUsedOf,
  startHeadless,
  tempDir,
} from './harness.ts';

// A real billing server, a real `tollgate` process, and a host app talking to it over the socket.

const folder = tempDir('tollgate-companion-');
let server: TestServer;
let account: TestAccount;
let env: CompanionEnv;
let companion: CompanionProcess;
let host: HostClient;

beforeAll(async () => {
  server = await startTestServer();
  account = await signUp(server.url);
  env = {
    TOLLGATE_HOME: join(folder.path, 'home'),
    TOLLGATE_SOCKET: join(folder.path, 'companion.sock'),
    TOLLGATE_SERVER_URL: server.url,
    TOLLGATE_SYNC_INTERVAL_MS: '300',
  };
  const login = await runTollgate(['login', '--email', account.email], env, `${account.password}\n`);
  expect(login.stderr).toBe('');
  expect(login.stdout).toContain(`Signed in as ${account.email} — free tier`);
  companion = await startHeadless(env);
  host = await HostClient.connect(env.TOLLGATE_SOCKET);
});

afterAll(async () => {
  host?.close();
  await companion?.kill('SIGTERM');
  await server?.stop();
  folder.remove();
});

const serverUsed = () => serverUsedOf(account, 'ai_operations');

describe('the companion with a real server', () => {
  it('answers gates from the plan, with the cheapest upgrade when it says no', async () => {
    expect(await host.call('gate.check', { feature: 'basic_processing' })).toEqual({ allowed: true, code: 'OK' });
    expect(await host.call('gate.check', { feature: 'compliance_check' })).toMatchObject({
      allowed: false,
      code: 'FEATURE_NOT_IN_PLAN',
      upgrade: { tier: 'professional', name: 'Professional', monthlyPriceCents: 4900 },
    });
  });

  it('hands out the signed license, which a host verifies with the published key', async () => {
    const { token, license } = await host.call('license.get');
    expect(license).toMatchObject({ status: 'valid', tier: 'free' });
    const jwks = (await fetch(`${server.url}/.well-known/jwks.json`).then((r) => r.json())) as { keys: [] };
    const { payload } = await jwtVerify(token as string, createLocalJWKSet(jwks), { algorithms: ['EdDSA'] });
    expect(payload).toMatchObject({ sub: account.id, tier: 'free' });
  });

  it('consumes to the limit, then says LIMIT_REACHED with the upgrade; the server agrees on the count', async () => {
    for (let n = 0; n < 5; n += 1) {
      const outcome = await host.call('usage.consume', { operation: 'ai_operations' });
      expect(outcome.decision).toMatchObject({ allowed: true, code: 'OK', limit: 5, remaining: 5 - n });
    }
    const refused = await host.call('usage.consume', { operation: 'ai_operations' });
    expect(refused).toMatchObject({
      idempotencyKey: null,
      decision: {
        allowed: false,
        code: 'LIMIT_REACHED',
        limit: 5,
        remaining: 0,
        upgrade: { tier: 'professional', monthlyPriceCents: 4900, yearlyPriceCents: 49000 },
      },
    });
    expect(await host.call('usage.check', { operation: 'ai_operations', units: 1 })).toMatchObject({
      allowed: false,
      code: 'LIMIT_REACHED',
    });
    await eventually(async () => (await serverUsed()) === 5);
    const usage = await eventually(async () => {
      const view = await host.call('usage.get');
      return view.operations.ai_operations?.pending === 0 && view;
    });
    expect(usage.operations.ai_operations).toMatchObject({ serverUsed: 5, pending: 0, limit: 5 });
    expect(await serverUsed()).toBe(5);
  });

  it('does not count a repeated idempotency key twice', async () => {
    const first = await host.call('usage.consume', {
      operation: 'data_processing',
      idempotencyKey: 'host-job-000001',
    });
    const again = await host.call('usage.consume', {
      operation: 'data_processing',
      idempotencyKey: 'host-job-000001',
    });
    expect(first).toMatchObject({ replayed: false, decision: { allowed: true } });
    expect(again).toMatchObject({ replayed: true, idempotencyKey: 'host-job-000001' });
    await eventually(async () => {
      return (await serverUsedOf(account, 'data_processing')) === 1;
    });
  });

  it('answers the Python client of docs/host-ipc.md, run as written', async () => {
    const docs = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'host-ipc.md'), 'utf8');
    const example = /## Python[\s\S]*?```python\n([\s\S]*?)```/.exec(docs)?.[1];
    expect(example).toContain('companion.call("gate.check"');
    const run = spawnSync('python3', ['-'], {
      input: example,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, TOLLGATE_SOCKET: env.TOLLGATE_SOCKET },
    });
    expect(run.stderr).toBe('');
    // Still on free, with this period's AI operations used up by the tests above.
    expect(run.stdout).toBe('Needs Professional - FEATURE_NOT_IN_PLAN\nFalse 0\n');
  });

  it('tells subscribed hosts when the plan changes, and decides by the new plan', async () => {
    const changes: LicenseChanged[] = [];
    await host.onLicenseChanged((change) => changes.push(change));
    await setPlan(server.db, account.id, { tier: 'professional' });
    const change = await eventually(async () => changes.find((c) => c.effectiveTier === 'professional'));
    expect(change.license).toMatchObject({ status: 'valid', tier: 'professional' });
    expect(await host.call('gate.check', { feature: 'compliance_check' })).toEqual({ allowed: true, code: 'OK' });
    expect((await host.call('usage.consume', { operation: 'ai_operations' })).decision).toMatchObject({
      allowed: true,
      limit: 100,
      remaining: 95,
    });
  });

  it('runs the documented CLI commands against the running companion', async () => {
    const denied = await runTollgate(['gate', 'check', 'sso'], env);
    expect(denied.code).toBe(3);
    expect(denied.stdout).toContain('denied: feature sso: FEATURE_NOT_IN_PLAN — upgrade to Enterprise');
    const consumed = await runTollgate(['usage', 'consume', 'ai_operations', '2', '--json'], env);
    expect(consumed.code).toBe(0);
    expect(JSON.parse(consumed.stdout)).toMatchObject({ decision: { allowed: true }, replayed: false });
    const status = await runTollgate(['status'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('professional tier, license valid');
    expect(status.stdout).toMatch(/AI operations \(ai_operations\): 8 of 100/);
  });

  it('refuses a second companion on the same data folder, with a clear message', async () => {
    const second = await runTollgate(['--headless'], env);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/Another Tollgate companion \(pid \d+\) already owns/);
    const login = await runTollgate(['login', '--email', account.email], { ...env, TOLLGATE_PASSWORD: 'x' });
    expect(login.code).toBe(1);
    expect(login.stderr).toContain('Stop it first');
    // The first one is unaffected.
    expect(await host.call('gate.check', { feature: 'basic_processing' })).toMatchObject({ allowed: true });
  });
});
