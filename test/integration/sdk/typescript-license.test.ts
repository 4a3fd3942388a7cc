import { chmodSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LicenseInvalidError, TollgateClient } from '../../../sdk/typescript/src/index.ts';
import { generateLicenseKeyPair, type LicensePayload, signLicense } from '../../../src-shared/license.ts';
import { setPlan, signUp, startTestServer, type TestServer } from '../../support/server.ts';
import { type CompanionProcess, runTollgate, startHeadless, tempDir } from '../companion/harness.ts';

// `license.get` as a host app sees it: the TypeScript SDK verifies the token with the vendor key
// embedded in it (its default `vendor-keys`), so a genuine companion's license verifies, and a forged
// one — served the way an attacker could, by a fake companion listening on the socket — does not.

const folder = tempDir('tollgate-sdk-license-');
let server: TestServer;
let companion: CompanionProcess;
let genuine: { token: string; license: unknown };
const socket = join(folder.path, 'companion.sock');

beforeAll(async () => {
  server = await startTestServer();
  const account = await signUp(server.url);
  await setPlan(server.db, account.id, { tier: 'professional' });
  const env = { TOLLGATE_HOME: join(folder.path, 'home'), TOLLGATE_SOCKET: socket, TOLLGATE_SERVER_URL: server.url };
  const login = await runTollgate(['login', '--email', account.email], env, `${account.password}\n`);
  expect(login.code, login.stderr).toBe(0);
  companion = await startHeadless(env);
});

afterAll(async () => {
  await companion?.kill('SIGTERM');
  await server?.stop();
  folder.remove();
});

/** A fake companion: answers every license.get with `answer`, on its own socket. */
async function fakeCompanion(path: string, answer: unknown): Promise<Server> {
  const fake = createServer((connection) => {
    let buffer = '';
    connection.setEncoding('utf8');
    connection.on('data', (chunk: string) => {
      const lines = (buffer + chunk).split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const { id } = JSON.parse(line) as { id: number };
        connection.write(`${JSON.stringify({ jsonrpc: '2.0', id, result: answer })}\n`);
      }
    });
  });
  await new Promise<void>((resolve) => fake.listen(path, resolve));
  chmodSync(path, 0o600);
  return fake;
}

async function licenseFrom(answer: unknown) {
  const path = join(folder.path, `fake-${Math.random().toString(36).slice(2)}.sock`);
  const fake = await fakeCompanion(path, answer);
  const client = new TollgateClient({ path, retries: 0 });
  try {
    return await client.license();
  } finally {
    client.close();
    await new Promise((resolve) => fake.close(resolve));
  }
}

describe('the TypeScript SDK verifies license.get with the embedded vendor key', () => {
  it('accepts the genuine companion license', async () => {
    const client = new TollgateClient({ path: socket });
    try {
      const result = await client.license();
      expect(result.claims).toMatchObject({ tier: 'professional', iss: 'tollgate' });
      genuine = { token: result.token, license: result.license };
    } finally {
      client.close();
    }
    // The control: the same answer from a fake socket verifies too, so the refusals below are the token's.
    expect((await licenseFrom(genuine)).claims.tier).toBe('professional');
  });

  it('refuses a token signed by another Ed25519 key, even one that names the vendor key id', async () => {
    const { sub, dev, email, status, access, accessEndsAt, period, usage, limits } = decodeJwt(
      genuine.token,
    ) as unknown as LicensePayload;
    const foreign = await generateLicenseKeyPair();
    const { kid } = JSON.parse(Buffer.from(genuine.token.split('.')[0] as string, 'base64url').toString()) as {
      kid: string;
    };
    const forged = await signLicense(
      {
        sub,
        dev,
        email,
        status,
        access,
        accessEndsAt,
        period,
        usage,
        limits,
        tier: 'enterprise',
        features: ['all_features'],
      },
      { ...foreign.privateJwk, kid },
      { now: Date.now(), offlineGraceSeconds: 30 * 86_400 },
    );
    await expect(licenseFrom({ ...genuine, token: forged })).rejects.toThrow(LicenseInvalidError);
  });

  it('refuses the genuine token with its payload edited', async () => {
    const [header, payload, signature] = genuine.token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const edited = Buffer.from(JSON.stringify({ ...claims, tier: 'enterprise' })).toString('base64url');
    await expect(licenseFrom({ ...genuine, token: `${header}.${edited}.${signature}` })).rejects.toThrow(
      LicenseInvalidError,
    );
  });
});
