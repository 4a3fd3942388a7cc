import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defaultSocketPath,
  ERROR_CLASSES,
  REASON_CODES as SDK_REASON_CODES,
  TollgateClient,
} from '../../../sdk/typescript/src/index.ts';
import { defaultSocketPath as companionSocketPath } from '../../../src-main/host-socket.ts';
import { contract, LicenseChanged, type MethodName, methodsOn, RPC_ERRORS } from '../../../src-shared/contract.ts';
import { REASON_CODES } from '../../../src-shared/decisions.ts';
import { signUp } from '../../support/server.ts';
import { runTollgate, startHeadless, tempDir } from '../companion/harness.ts';
import { readVectors, runVectors } from './typescript-runner.ts';
import { openWorld, SOCKET_PATH_CASES, VECTORS_PATH, type World } from './world.ts';

// The TypeScript SDK (sdk/typescript) through the conformance vectors, in this process, against a
// real companion and server. Every answer is also checked against the companion's contract schemas,
// so the SDK's own wire types cannot drift from what the companion sends.

let world: World;

beforeAll(async () => {
  world = await openWorld();
});

afterAll(async () => {
  await world?.close();
});

describe('the TypeScript host SDK', () => {
  it('passes the conformance vectors', async () => {
    const schemaProblems: string[] = [];
    const vectors = readVectors(VECTORS_PATH);
    const report = await runVectors(vectors, {
      env: world.env,
      trigger: (name) => world.trigger(name),
      onResult(method, result) {
        const entry = contract[method as MethodName];
        if (!entry) return;
        const parsed = entry.result.safeParse(result);
        if (!parsed.success) schemaProblems.push(`${method}: ${parsed.error.message}`);
      },
      onLicenseChanged(change) {
        const parsed = LicenseChanged.safeParse(change);
        if (!parsed.success) schemaProblems.push(`license.changed: ${parsed.error.message}`);
      },
    });
    const failures = report.filter((line) => line.startsWith('FAIL'));
    expect(failures, report.join('\n')).toEqual([]);
    expect(report).toHaveLength(vectors.steps.length);
    expect(schemaProblems).toEqual([]);
    // The retried consume reached the fake companion twice, with one key.
    expect(world.fakeConsumeKeys).toHaveLength(2);
    expect(new Set(world.fakeConsumeKeys).size).toBe(1);
  });

  it('looks for the socket where the companion listens', () => {
    for (const { env, platform } of SOCKET_PATH_CASES) {
      expect(defaultSocketPath(env, platform, '/home/ada')).toBe(companionSocketPath(env, platform, '/home/ada'));
    }
  });

  it('knows every reason code, and the vectors reach each one a host can get', () => {
    expect([...SDK_REASON_CODES]).toEqual([...REASON_CODES]);
    for (const code of REASON_CODES) if (code !== 'OK') expect(ERROR_CLASSES[code], code).toBeDefined();
    const vectors = readFileSync(VECTORS_PATH, 'utf8');
    // No host method takes a project size (gate.check is by feature), so SIZE_LIMIT_EXCEEDED never reaches a host.
    for (const code of REASON_CODES.filter((c) => c !== 'SIZE_LIMIT_EXCEEDED')) {
      expect(vectors, code).toContain(`"denial": "${code}"`.replace('"denial": "OK"', '"code": "OK"'));
    }
  });

  it('calls every host method of the contract, and meets every JSON-RPC error a companion can send', () => {
    const vectors = readVectors(VECTORS_PATH);
    const called = new Set<string>();
    const errors = new Set<string>();
    const visit = (step: Record<string, unknown>) => {
      if (typeof step.call === 'string') called.add(step.call);
      if (typeof step.error === 'string') errors.add(step.error);
      if (step.subscribe === true) called.add('license.subscribe');
      if (typeof step.license === 'string') called.add('license.get');
      if (Array.isArray(step.pipeline)) for (const call of step.pipeline) visit(call as Record<string, unknown>);
    };
    for (const step of vectors.steps) visit(step);
    const hostMethods = methodsOn('host');
    expect(hostMethods).toContain('devices.list');
    for (const method of hostMethods) expect(called, method).toContain(method);
    // Each JSON-RPC error code has its typed error, and a step that expects it.
    const rpcErrorCodes: Record<number, string> = {
      [RPC_ERRORS.parseError]: 'PARSE_ERROR',
      [RPC_ERRORS.invalidRequest]: 'INVALID_REQUEST',
      [RPC_ERRORS.methodNotFound]: 'METHOD_NOT_FOUND',
      [RPC_ERRORS.invalidParams]: 'INVALID_PARAMS',
      [RPC_ERRORS.internalError]: 'INTERNAL',
    };
    for (const [rpc, code] of Object.entries(rpcErrorCodes)) {
      expect(ERROR_CLASSES[code], code).toBeDefined();
      expect(errors, `${rpc} → ${code}`).toContain(code);
    }
  });

  it('talks to a `tollgate --headless` process as a host app would', async () => {
    const folder = tempDir('tollgate-sdk-headless-');
    const account = await signUp(world.serverUrl);
    const env = {
      TOLLGATE_HOME: join(folder.path, 'home'),
      TOLLGATE_SOCKET: join(folder.path, 'companion.sock'),
      TOLLGATE_SERVER_URL: world.serverUrl,
    };
    const login = await runTollgate(['login', '--email', account.email], env, `${account.password}\n`);
    expect(login.code, login.stderr).toBe(0);
    const companion = await startHeadless(env);
    const client = new TollgateClient({ path: env.TOLLGATE_SOCKET, keys: world.jwks as JSONWebKeySet });
    try {
      expect(await client.gateCheck('basic_processing')).toEqual({ allowed: true, code: 'OK' });
      const first = await client.usageConsume('ai_operations', 1, { idempotencyKey: 'headless-job-0001' });
      const again = await client.usageConsume('ai_operations', 1, { idempotencyKey: 'headless-job-0001' });
      expect(first).toMatchObject({ decision: { allowed: true, remaining: 5 }, replayed: false });
      expect(again).toMatchObject({ replayed: true });
      const { claims } = await client.license();
      expect(claims).toMatchObject({ sub: account.id, tier: 'free' });
    } finally {
      client.close();
      await companion.kill('SIGTERM');
      folder.remove();
    }
  });
});
