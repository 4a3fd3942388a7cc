import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostClient } from '../../../src-main/host-client.ts';
import { setPlan, signUp, startTestServer, type TestServer } from '../../support/server.ts';
import {
  bundleCli,
  type CompanionEnv,
  closeAfterEach,
  eventually,
  openTestCompanion,
  outageProxy,
  requireFaketime,
  runTollgate,
  startHeadless,
  tempDir,
} from './harness.ts';

// The trusted clock, attacked the way a user does it: the real companion process (`tollgate
// --headless`, the CLI's code) is run with its clock really turned (libfaketime), restarted between
// clock changes, and asked through its host socket; the billing server is out of reach behind a
// proxy whose network is cut, or replaced by a fake server of the user's own on loopback.

const DAY = 86_400_000;
const ROOT = join(import.meta.dirname, '..', '..', '..');
const folder = tempDir('tollgate-time-');
const closing = closeAfterEach();
let server: TestServer;
let proxy: Awaited<ReturnType<typeof outageProxy>>;
let cli: Awaited<ReturnType<typeof bundleCli>>;

beforeAll(async () => {
  [server, cli] = await Promise.all([startTestServer(), bundleCli()]);
  proxy = await outageProxy(server.url);
});

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  cli?.remove();
  folder.remove();
});

/** A data folder signed in (`tollgate login`, through the proxy) to a new Professional account. */
async function professionalSignedIn(name: string): Promise<CompanionEnv> {
  const account = await signUp(server.url);
  await setPlan(server.db, account.id, { tier: 'professional' });
  const env: CompanionEnv = {
    TOLLGATE_HOME: join(folder.path, name),
    TOLLGATE_SOCKET: join(folder.path, `${name}.sock`),
    TOLLGATE_SERVER_URL: proxy.url,
    TOLLGATE_SYNC_RETRY_MAX_MS: '300',
  };
  await proxy.up();
  const login = await runTollgate(['login', '--email', account.email], env, `${account.password}\n`, cli.bin);
  expect(login.stdout).toMatch(/professional tier/);
  expect(login.code).toBe(0);
  return env;
}

/** `tollgate --headless` with this clock (a faketime offset, or the real one), and a host app on its socket. */
async function companionAt(env: CompanionEnv, clock?: string) {
  // Fails the test (never skips it) without libfaketime: the clock would not really turn.
  if (clock) requireFaketime();
  const child = closing(await startHeadless(env, cli.bin, undefined, clock), (running) => running.kill('SIGTERM'));
  const host = closing(await HostClient.connect(env.TOLLGATE_SOCKET), (client) => client.close());
  return {
    gate: (feature = 'compliance_check') => host.call('gate.check', { feature }),
    license: async () => (await host.call('license.get')).license,
    async stop() {
      host.close();
      await child.kill('SIGTERM');
    },
  };
}

/** The settings file as the user sees it (conf nests `time.highWater` under `time`). */
function settingsOf(env: CompanionEnv): {
  license?: { token?: string };
  time?: { highWater?: { at: number } };
} & Record<string, unknown> {
  return JSON.parse(readFileSync(join(env.TOLLGATE_HOME, 'companion.json'), 'utf8'));
}

/** Runs 8 days ahead, offline: the grace is over, and the companion has seen that time. */
async function eightDaysAheadOffline(env: CompanionEnv): Promise<number> {
  await proxy.down();
  const ahead = await companionAt(env, '+8d');
  expect(await ahead.gate()).toMatchObject({ allowed: false, code: 'OFFLINE_GRACE_EXPIRED' });
  expect(await ahead.gate('basic_processing')).toMatchObject({ allowed: false, code: 'OFFLINE_GRACE_EXPIRED' });
  await ahead.stop();
  const mark = settingsOf(env).time?.highWater?.at ?? 0;
  expect(mark).toBeGreaterThan(Date.now() + 7.9 * DAY);
  return mark;
}

describe('the clock turned for real', () => {
  it('8 days ahead → OFFLINE_GRACE_EXPIRED; back to today → CLOCK_TAMPERED; time record deleted → refused until the server answers; online → OK', async () => {
    const env = await professionalSignedIn('turned');

    // The control: 6 days ahead is inside the 7-day offline grace.
    await proxy.down();
    const inside = await companionAt(env, '+6d');
    expect(await inside.gate()).toEqual({ allowed: true, code: 'OK' });
    await inside.stop();

    await eightDaysAheadOffline(env);

    // Back to today: behind the time the companion has seen, so the cached license is not honoured.
    const today = await companionAt(env);
    expect(await today.gate()).toMatchObject({ allowed: false, code: 'CLOCK_TAMPERED' });
    expect(await today.license()).toMatchObject({
      status: 'invalid',
      problem: { code: 'CLOCK_TAMPERED', message: expect.stringMatching(/clock is earlier/) },
    });
    await today.stop();

    // The user deletes the time record: still refused, because now nobody knows the time.
    const settings = settingsOf(env);
    expect(settings.time?.highWater).toBeDefined();
    delete settings.time;
    writeFileSync(join(env.TOLLGATE_HOME, 'companion.json'), JSON.stringify(settings));
    const deleted = await companionAt(env);
    expect(await deleted.gate()).toMatchObject({ allowed: false, code: 'CLOCK_TAMPERED' });
    expect(await deleted.license()).toMatchObject({
      problem: { code: 'CLOCK_TAMPERED', message: expect.stringMatching(/record of the time is missing/) },
    });

    // The server answers again: it confirms the time, and the plan is back.
    await proxy.up();
    await eventually(async () => {
      const gate = await deleted.gate();
      return gate.allowed && gate;
    }, 60_000);
    expect(await deleted.gate()).toEqual({ allowed: true, code: 'OK' });
    expect(settingsOf(env).time?.highWater?.at).toBeLessThan(Date.now() + DAY);
  });
});

describe('a fake billing server on loopback', () => {
  it('replaying the genuine license with its old time does not clear CLOCK_TAMPERED; the genuine server does', async () => {
    const env = await professionalSignedIn('impersonated');
    // What the attacker captures: the genuine license the real server gave this data folder.
    const token = settingsOf(env).license?.token ?? '';
    expect(decodeJwt(token)).toMatchObject({ tier: 'professional', nonce: expect.any(String) });
    const tokenFile = join(folder.path, 'captured-license.txt');
    writeFileSync(tokenFile, token);

    const mark = await eightDaysAheadOffline(env);
    const today = await companionAt(env);
    expect(await today.gate()).toMatchObject({ allowed: false, code: 'CLOCK_TAMPERED' });
    await today.stop();

    // The user's own server: passes everything through to the real one, but answers the license
    // request with the captured token and says, there and in /v1/me, that it is still then.
    const fake = closing(await startImpersonator(server.url, tokenFile), (running) => running.stop());
    const fooled = await companionAt({ ...env, TOLLGATE_SERVER_URL: fake.url });
    // The companion has dealt with the replayed license once it asks the fake anything after it.
    await eventually(async () => /served GET \/v1\/license\n[\s\S]*served /.test(fake.output()), 60_000);
    expect(fake.output()).toMatch(/served GET \/v1\/me/);
    expect(await fooled.gate()).toMatchObject({ allowed: false, code: 'CLOCK_TAMPERED' });
    expect(await fooled.license()).toMatchObject({ status: 'invalid', problem: { code: 'CLOCK_TAMPERED' } });
    await fooled.stop();
    expect(settingsOf(env).time?.highWater?.at).toBeGreaterThanOrEqual(mark);
    // What the window shows of it: a sync problem saying the answer was a replay, and where to look.
    const window = await openTestCompanion({ home: env.TOLLGATE_HOME, serverUrl: fake.url });
    try {
      expect(await window.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'error' } });
      expect(window.state.getState()).toMatchObject({
        sync: { status: 'error', lastError: expect.stringMatching(/replayed copy.*TOLLGATE_SERVER_URL/) },
        standing: { code: 'CLOCK_TAMPERED' },
      });
    } finally {
      await window.close();
    }

    // The genuine server (through the proxy, its network back) confirms the time.
    await proxy.up();
    const genuine = await companionAt(env);
    await eventually(async () => {
      const gate = await genuine.gate();
      return gate.allowed && gate;
    }, 60_000);
    expect(await genuine.gate()).toEqual({ allowed: true, code: 'OK' });
    expect(settingsOf(env).time?.highWater?.at).toBeLessThan(Date.now() + DAY);
  });
});

/** test/support/impersonator.ts as its own process, resolved once it listens. */
async function startImpersonator(target: string, tokenFile: string) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'test', 'support', 'impersonator.ts')],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', IMPERSONATE_TARGET: target, IMPERSONATE_TOKEN_FILE: tokenFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const url = await eventually(async () => /impersonating on (http:\/\/\S+)/.exec(output)?.[1], 60_000).catch(
    (error: Error) => {
      child.kill('SIGKILL');
      throw new Error(`the fake server did not start (${error.message}):\n${output}`);
    },
  );
  return {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
