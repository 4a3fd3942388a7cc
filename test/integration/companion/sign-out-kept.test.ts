import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostClient } from '../../../src-main/host-client.ts';
import { setPlan, signUp, startTestServer, type TestServer } from '../../support/server.ts';
import { type CompanionEnv, outageProxy, runTollgate, serverUsedOf, startHeadless, tempDir } from './harness.ts';

// `tollgate logout` with usage the server has not counted yet: the user is told it is kept on this
// computer for the account, and it reaches that account once it signs in again. All through the
// real `tollgate` processes a user runs.

const folder = tempDir('tollgate-sign-out-');
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

describe('tollgate logout', () => {
  it('says how many usage records it keeps for the account, and they are sent when it signs in again', async () => {
    const account = await signUp(server.url);
    await setPlan(server.db, account.id, { tier: 'professional' });
    const env: CompanionEnv = {
      TOLLGATE_HOME: join(folder.path, 'home'),
      TOLLGATE_SOCKET: join(folder.path, 'host.sock'),
      TOLLGATE_SERVER_URL: proxy.url,
    };
    const login = await runTollgate(['login', '--email', account.email], env, `${account.password}\n`);
    expect(login.stdout).toContain(`Signed in as ${account.email}`);

    // Offline, a host app spends two units (the quota lease covers them), then the companion stops.
    await proxy.down();
    const companion = await startHeadless(env);
    try {
      const host = await HostClient.connect(env.TOLLGATE_SOCKET);
      for (let n = 0; n < 2; n += 1) {
        const answer = await host.call('usage.consume', { operation: 'ai_operations', units: 1 });
        expect(answer.decision.allowed).toBe(true);
      }
      host.close();
    } finally {
      await companion.kill('SIGTERM');
    }

    const logout = await runTollgate(['logout'], env);
    expect(logout.code).toBe(0);
    expect(logout.stdout).toContain(
      'Signed out. 2 usage records from this account are kept on this computer and will be sent when it signs in again.',
    );
    const json = await runTollgate(['logout', '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ signedOut: true });
    expect(await serverUsedOf(account, 'ai_operations')).toBe(0);

    // Back online and signed in again: the kept records reach their account.
    await proxy.up();
    const again = await runTollgate(['login', '--email', account.email], env, `${account.password}\n`);
    expect(again.stdout).toContain(`Signed in as ${account.email}`);
    expect(await serverUsedOf(account, 'ai_operations')).toBe(2);
  });
});
