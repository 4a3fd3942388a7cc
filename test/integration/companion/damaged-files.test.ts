import { chmodSync, chownSync, cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostClient } from '../../../src-main/host-client.ts';
import { setPlan, signUp, startTestServer, type TestAccount, type TestServer } from '../../support/server.ts';
import {
  bundleCli,
  closeAfterEach,
  openTestCompanion,
  outageProxy,
  serverUsedOf,
  startHeadless,
  tempDir,
} from './harness.ts';

// Damaged and unreadable files in the data folder, as a user meets them: the companion runs as an
// ordinary user (nobody), the settings file is broken on disk, and the real process must say which
// file, what is wrong and what to do, grant nothing, and keep the usage journal.

const folder = tempDir('tollgate-damaged-');
const closing = closeAfterEach();
let server: TestServer;
let proxy: Awaited<ReturnType<typeof outageProxy>>;
let cli: Awaited<ReturnType<typeof bundleCli>>;
let account: TestAccount;
let genuineHome: string;
const NOBODY = 65534;
const NOGROUP = 65534;

beforeAll(async () => {
  [server, cli] = await Promise.all([startTestServer(), bundleCli()]);
  proxy = await outageProxy(server.url);
  account = await signUp(server.url);
  await setPlan(server.db, account.id, { tier: 'professional' });
  // A signed-in Professional companion that recorded two units offline.
  genuineHome = join(folder.path, 'genuine');
  const companion = await openTestCompanion({ home: genuineHome, serverUrl: proxy.url });
  expect((await companion.dispatch('auth.signIn', { email: account.email, password: account.password })).ok).toBe(true);
  await proxy.down();
  expect(await companion.dispatch('usage.consume', { operation: 'ai_operations', units: 2 })).toMatchObject({
    value: { decision: { allowed: true } },
  });
  await companion.close();
  // Both made 0700 by mkdtemp: nobody must reach its data folder and the companion it runs.
  chmodSync(folder.path, 0o755);
  chmodSync(dirname(cli.bin), 0o755);
});

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  cli?.remove();
  folder.remove();
});

let copies = 0;
/** A copy of the genuine data folder owned by nobody, with its settings file replaced by `damage`. */
function damagedCopy(damage: (settingsFile: string) => void): string {
  const home = join(folder.path, `copy-${++copies}`);
  cpSync(genuineHome, home, { recursive: true });
  for (const name of ['', ...readdirSync(home)]) chownSync(join(home, name), NOBODY, NOGROUP);
  damage(join(home, 'companion.json'));
  return home;
}

async function startAsNobody(home: string) {
  await proxy.down();
  const env = {
    TOLLGATE_HOME: home,
    TOLLGATE_SOCKET: join(home, 'companion.sock'),
    TOLLGATE_SERVER_URL: proxy.url,
    HOME: home,
  };
  const child = closing(await startHeadless(env, cli.bin, 'nobody'), (running) => running.kill('SIGTERM'));
  const host = closing(await HostClient.connect(env.TOLLGATE_SOCKET), (client) => client.close());
  return { child, host };
}

/** Nothing granted, the problem shown; then the journal's two units still reach the server once. */
async function expectSafeStart(home: string, problem: RegExp) {
  const { child, host } = await startAsNobody(home);
  expect(child.output()).toMatch(problem);
  expect(child.output()).not.toMatch(/\n\s+at /); // no stack trace
  expect(await host.call('gate.check', { feature: 'basic_processing' })).toMatchObject({
    allowed: false,
    code: 'NOT_SIGNED_IN',
  });
  expect((await host.call('license.get')).license).toMatchObject({ status: 'none' });
  await child.kill('SIGTERM');

  await proxy.up();
  const companion = closing(await openTestCompanion({ home, serverUrl: proxy.url }), (opened) => opened.close());
  expect(companion.state.getState().sync.pendingEvents).toBe(0); // signed out: none of anyone's yet
  expect((await companion.dispatch('auth.signIn', { email: account.email, password: account.password })).ok).toBe(true);
  expect(await companion.dispatch('sync.now', {})).toEqual({ ok: true, value: { status: 'idle' } });
  expect(companion.state.getState().usage.operations.ai_operations).toMatchObject({ pending: 0, serverUsed: 2 });
  // The journal was read whole: nothing in it is reported damaged.
  expect(companion.state.getState().dataProblems.join('\n')).not.toMatch(/usage journal/);
  await companion.close();
}

describe('a damaged or unreadable settings file', () => {
  it('not JSON: names the file, says it is not JSON, starts signed out, keeps the journal', async () => {
    const home = damagedCopy((file) => writeFileSync(file, '{ "session": '));
    await expectSafeStart(home, /settings file .*companion\.json is not valid JSON .*moved to .*sign in again/s);
    // Every copy holds the same two units: the server has them, once.
    expect(await serverUsedOf(account, 'ai_operations')).toBe(2);
    const aside = readdirSync(home).find((name) => name.startsWith('companion.damaged-'));
    expect(readFileSync(join(home, aside as string), 'utf8')).toBe('{ "session": ');
  });

  it('empty: names the file and says it is empty', async () => {
    const home = damagedCopy((file) => writeFileSync(file, ''));
    await expectSafeStart(home, /settings file .*companion\.json is empty/);
    // Every copy holds the same two units: the server has them, once.
    expect(await serverUsedOf(account, 'ai_operations')).toBe(2);
  });

  it('unreadable by the user running the companion: names the file and the reason', async () => {
    const home = damagedCopy((file) => {
      chownSync(file, 0, 0);
      chmodSync(file, 0o600);
    });
    await expectSafeStart(home, /settings file .*companion\.json cannot be read \(EACCES\)/);
    // Every copy holds the same two units: the server has them, once.
    expect(await serverUsedOf(account, 'ai_operations')).toBe(2);
  });

  it('an unreadable journal stops the companion with what to do, and changes nothing', async () => {
    const home = damagedCopy(() => undefined);
    const journal = join(home, 'usage-journal.tsv');
    chownSync(journal, 0, 0);
    chmodSync(journal, 0o600);
    const content = readFileSync(journal, 'utf8');
    await expect(startAsNobody(home)).rejects.toThrow(
      /usage journal in .* cannot be used \(EACCES.*usage-journal\.tsv.*\).*chmod u\+rw/s,
    );
    expect(readFileSync(journal, 'utf8')).toBe(content);
  });
});
