import { statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Companion } from '../../../src-main/companion.ts';
import { type HostSocketServer, MAX_LINE_LENGTH, SocketInUse } from '../../../src-main/host-socket.ts';
import { RPC_ERRORS } from '../../../src-shared/contract.ts';
import { listenHostSocket, openTestCompanion, RawClient, tempDir } from './harness.ts';

// The host socket takes frames from any local program. Whatever arrives, it answers with JSON-RPC
// errors on that connection only, never crashes, and every other client keeps getting answers.

const home = tempDir('tollgate-fuzz-');
const socketPath = join(home.path, 'run', 'companion.sock');
let companion: Companion;
let host: HostSocketServer;
let canary: RawClient;

beforeAll(async () => {
  // No server: nothing here needs one, and an unreachable server must not matter to the socket.
  companion = await openTestCompanion({ home: join(home.path, 'data'), serverUrl: 'http://127.0.0.1:9' });
  host = await listenHostSocket(companion, socketPath);
  canary = await RawClient.connect(socketPath);
});

afterAll(async () => {
  canary?.close();
  await host?.close();
  await companion?.close();
  home.remove();
});

/** The well-behaved client still gets the right answer. */
async function expectCanaryServed(id: number) {
  expect(await canary.request('gate.check', { feature: 'sso' }, id)).toEqual({
    jsonrpc: '2.0',
    id,
    result: { allowed: false, code: 'NOT_SIGNED_IN' },
  });
}

type Answer = { jsonrpc: string; id: unknown; result?: unknown; error?: { code: number; data?: { code?: string } } };

describe('host socket under hostile input', () => {
  it('is a 0600 socket in a 0700 folder, and refuses a second companion on the same path', async () => {
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
    expect(statSync(join(home.path, 'run')).mode & 0o777).toBe(0o700);
    await expect(listenHostSocket(companion, socketPath)).rejects.toBeInstanceOf(SocketInUse);
    await expectCanaryServed(1);
  });

  it('answers invalid JSON with a parse error and keeps the connection', async () => {
    const client = await RawClient.connect(socketPath);
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 200 }).filter((text) => {
          if (text.includes('\n') || text.trim() === '') return false;
          try {
            JSON.parse(text);
            return false;
          } catch {
            return true;
          }
        }),
        async (garbage) => {
          await client.write(`${garbage}\n`);
          const answer = (await client.nextLine()) as Answer;
          expect(answer).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: RPC_ERRORS.parseError } });
        },
      ),
      { numRuns: 150 },
    );
    expect(await client.request('gate.check', { feature: 'x' }, 7)).toMatchObject({
      id: 7,
      result: { allowed: false },
    });
    client.close();
    await expectCanaryServed(2);
  });

  it('answers any JSON value that is not a good request with a JSON-RPC error', async () => {
    const client = await RawClient.connect(socketPath);
    const methods = fc.constantFrom(
      'gate.check',
      'usage.consume',
      'usage.check',
      'license.get',
      'state.get',
      'auth.signIn',
      'nope',
      '__proto__',
      'constructor',
      'gate.check\u0000',
    );
    const request = fc.record(
      {
        jsonrpc: fc.oneof(fc.constant('2.0'), fc.constant('1.0'), fc.integer()),
        id: fc.oneof(fc.integer(), fc.string({ maxLength: 10 })),
        method: fc.oneof(methods, fc.string({ maxLength: 20 }), fc.integer()),
        params: fc.oneof(
          fc.constant(undefined),
          fc.anything({ maxDepth: 2 }),
          fc.record({ feature: fc.anything({ maxDepth: 1 }) }),
          fc.record({ operation: fc.string(), units: fc.oneof(fc.integer(), fc.double(), fc.string()) }),
        ),
      },
      { requiredKeys: ['id'] },
    );
    await fc.assert(
      fc.asyncProperty(request, async (message) => {
        await client.write(`${JSON.stringify(message)}\n`);
        const answer = (await client.nextLine()) as Answer;
        expect(answer.jsonrpc).toBe('2.0');
        const wellFormed =
          message.jsonrpc === '2.0' &&
          typeof message.method === 'string' &&
          ['number', 'string'].includes(typeof message.id);
        if (wellFormed) expect(answer.id).toBe(message.id);
        if (!('result' in answer)) {
          expect([
            RPC_ERRORS.invalidRequest,
            RPC_ERRORS.methodNotFound,
            RPC_ERRORS.invalidParams,
            RPC_ERRORS.domainError,
          ]).toContain(answer.error?.code);
        } else {
          // Only real host methods with valid params get results.
          expect(['gate.check', 'usage.consume', 'usage.check', 'license.get']).toContain(message.method);
        }
      }),
      { numRuns: 300 },
    );
    client.close();
    await expectCanaryServed(3);
  });

  it('names the failure precisely: unknown method, renderer-only method, wrong params', async () => {
    const client = await RawClient.connect(socketPath);
    expect(await client.request('usage.explode', {}, 1)).toMatchObject({
      id: 1,
      error: { code: RPC_ERRORS.methodNotFound },
    });
    expect(await client.request('auth.signIn', { email: 'a@b.co', password: 'x' }, 2)).toMatchObject({
      id: 2,
      error: { code: RPC_ERRORS.methodNotFound },
    });
    expect(await client.request('usage.consume', { operation: 'ai_operations', units: -4 }, 3)).toMatchObject({
      id: 3,
      error: { code: RPC_ERRORS.invalidParams, data: { code: 'INVALID_PARAMS' } },
    });
    expect(await client.request('gate.check', [1, 2], 4)).toMatchObject({
      id: 4,
      error: { code: RPC_ERRORS.invalidParams },
    });
    // A batch gets one answer per request, notifications none.
    await client.write(
      `${JSON.stringify([
        { jsonrpc: '2.0', id: 'a', method: 'gate.check', params: { feature: 'sso' } },
        { jsonrpc: '2.0', method: 'gate.check', params: { feature: 'sso' } },
        { jsonrpc: '2.0', id: 'b', method: 'nope' },
      ])}\n`,
    );
    const batch = (await client.nextLine()) as Answer[];
    expect(batch.map((answer) => answer.id)).toEqual(['a', 'b']);
    client.close();
  });

  it('gives every answer its own request id, though the same gate decision answers them all', async () => {
    const client = await RawClient.connect(socketPath);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
        async (id) => {
          // As the id travels: JSON has no -0.
          const sent = JSON.parse(JSON.stringify(id)) as string | number;
          expect(await client.request('gate.check', { feature: 'sso' }, sent)).toEqual({
            jsonrpc: '2.0',
            id: sent,
            result: { allowed: false, code: 'NOT_SIGNED_IN' },
          });
        },
      ),
      { numRuns: 200 },
    );
    client.close();
  });

  it('reassembles requests split into arbitrary pieces', async () => {
    const client = await RawClient.connect(socketPath);
    let id = 100;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 12 }), async (cuts) => {
        id += 1;
        const frame = `${JSON.stringify({ jsonrpc: '2.0', id, method: 'gate.check', params: { feature: 'sso' } })}\n`;
        let offset = 0;
        for (const cut of cuts) {
          if (offset >= frame.length) break;
          await client.write(frame.slice(offset, offset + cut));
          offset += cut;
        }
        if (offset < frame.length) await client.write(frame.slice(offset));
        expect(await client.nextLine()).toMatchObject({ id, result: { code: 'NOT_SIGNED_IN' } });
      }),
      { numRuns: 100 },
    );
    client.close();
  });

  it('refuses a line longer than the limit, then serves the same connection again', async () => {
    const client = await RawClient.connect(socketPath);
    await client.write(
      `{"jsonrpc":"2.0","id":1,"method":"gate.check","params":{"feature":"${'x'.repeat(MAX_LINE_LENGTH + 10)}`,
    );
    expect(await client.nextLine()).toMatchObject({ id: null, error: { code: RPC_ERRORS.invalidRequest } });
    await client.write(`${'y'.repeat(300_000)}"}}\n`);
    expect(await client.request('gate.check', { feature: 'sso' }, 2)).toMatchObject({
      id: 2,
      result: { allowed: false },
    });
    // A long line that arrives whole (and is under the limit) is just a request with bad params.
    expect(await client.request('gate.check', { feature: 'f'.repeat(500_000) }, 3)).toMatchObject({
      id: 3,
      error: { code: RPC_ERRORS.invalidParams },
    });
    client.close();
    await expectCanaryServed(4);
  });

  it('survives 1,000 clients connecting and dropping, some mid-frame', async () => {
    const before = host.connectionCount;
    const drops = Array.from(
      { length: 1000 },
      (_, n) =>
        new Promise<void>((resolve) => {
          const socket = createConnection(socketPath);
          socket.on('error', () => resolve());
          socket.on('close', () => resolve());
          socket.on('connect', () => {
            if (n % 3 === 0) socket.write('{"jsonrpc":"2.0","id":1,"method":"gate.ch');
            if (n % 3 === 1) socket.write('{"jsonrpc":"2.0","id":1,"method":"usage.get"}\n');
            socket.destroy();
          });
        }),
    );
    await Promise.all(drops);
    await expectCanaryServed(5);
    await expect.poll(() => host.connectionCount, { timeout: 15_000 }).toBe(before);
  });
});
