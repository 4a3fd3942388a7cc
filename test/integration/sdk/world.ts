import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Companion } from '../../../src-main/companion.ts';
import type { HostSocketServer } from '../../../src-main/host-socket.ts';
import { defaultCatalog, findTier } from '../../../src-shared/catalog.ts';
import { generateLicenseKeyPair, publicJwks, signLicense } from '../../../src-shared/license.ts';
import vendor from '../../../vendor.config.json' with { type: 'json' };
import { request, setPlan, signUp, startTestServer, type TestAccount, type TestServer } from '../../support/server.ts';
import { listenHostSocket, openTestCompanion, outageProxy, tempDir } from '../companion/harness.ts';

/**
 * The world the conformance vectors (sdk/conformance/vectors.json) run in: a real billing server, a
 * real companion (in this process, so the driver can move its clock and restart it) on a real host
 * socket, a network that can be cut, and a fake companion for the failures a real one never makes.
 */

const ROOT = join(import.meta.dirname, '..', '..', '..');
export const VECTORS_PATH = join(ROOT, 'sdk', 'conformance', 'vectors.json');
const DAY = 86_400_000;

/** Environments for socket discovery: each SDK must find the path the companion listens on. */
export const SOCKET_PATH_CASES: Array<{ env: Record<string, string>; platform: NodeJS.Platform }> = [
  { env: { TOLLGATE_SOCKET: '/tmp/override.sock', XDG_RUNTIME_DIR: '/run/user/1000' }, platform: 'linux' },
  { env: { XDG_RUNTIME_DIR: '/run/user/1000' }, platform: 'linux' },
  { env: {}, platform: 'linux' },
  { env: {}, platform: 'darwin' },
  { env: { TOLLGATE_SOCKET: '/tmp/override.sock' }, platform: 'win32' },
];

export interface Vectors {
  steps: Array<Record<string, unknown> & { name: string }>;
}

export interface World {
  env: Record<string, string>;
  /** The billing server, directly (the world's companion reaches it through a cuttable proxy). */
  serverUrl: string;
  /** The server's JWKS (what a vendor pins) and a JWKS no license was signed with. */
  jwks: { keys: unknown[] };
  wrongJwks: { keys: unknown[] };
  socketPath: string;
  fakeSocketPath: string;
  trigger(name: string): Promise<void>;
  /** What the fake companion saw: the idempotency keys of every consume, in order. */
  fakeConsumeKeys: string[];
  close(): Promise<void>;
}

export async function openWorld(): Promise<World> {
  const folder = tempDir('tollgate-sdk-');
  const server: TestServer = await startTestServer();
  const proxy = await outageProxy(server.url);
  const socketPath = join(folder.path, 'companion.sock');
  const fakeSocketPath = join(folder.path, 'fake.sock');
  const home = join(folder.path, 'home');
  let offset = 0;
  const clock = () => Date.now() + offset;
  const wrongKey = (await generateLicenseKeyPair()).publicJwk;

  let companion: Companion;
  let host: HostSocketServer;
  let account: TestAccount | null = null;
  let restarting: Promise<void> = Promise.resolve();

  const open = async (publicKey?: unknown) => {
    companion = await openTestCompanion({
      home,
      serverUrl: proxy.url,
      clock,
      ...(publicKey ? { licenseKeys: publicKey as never } : {}),
    });
    host = await listenHostSocket(companion, socketPath);
  };
  const stop = async () => {
    await host.close();
    await companion.close();
  };
  await open();

  const sync = async () => {
    const outcome = await companion.dispatch('sync.now', {});
    if (!outcome.ok) throw new Error(`sync failed: ${outcome.error.message}`);
  };
  const plan = async (patch: Record<string, unknown>) => {
    if (!account) throw new Error('sign in first');
    await setPlan(server.db, account.id, { tier: 'professional', patch });
    await sync();
  };

  const triggers: Record<string, () => Promise<void>> = {
    'sign-in': async () => {
      account = await signUp(server.url);
      const signedIn = await companion.dispatch('auth.signIn', { email: account.email, password: account.password });
      if (!signedIn.ok) throw new Error(signedIn.error.message);
    },
    'plan:professional': () => plan({ status: 'active', cancel_at_period_end: 0, current_period_end: null }),
    'plan:canceled': () => plan({ status: 'canceled' }),
    'plan:ended': () => plan({ status: 'active', cancel_at_period_end: 1, current_period_end: Date.now() - 60_000 }),
    offline: async () => {
      await proxy.down();
      await companion.dispatch('sync.now', {});
    },
    online: async () => {
      await proxy.up();
      await sync();
    },
    'clock:+8d': async () => {
      offset += 8 * DAY;
    },
    'clock:-2d': async () => {
      offset = -2 * DAY;
    },
    'clock:now': async () => {
      offset = 0;
    },
    'restart:wrong-key': async () => {
      await stop();
      await open({ keys: [wrongKey] });
    },
    // The user releases this computer from the account (the window of another device, or the API).
    'device:released': async () => {
      if (!account) throw new Error('sign in first');
      const listed = await account.get<{ devices: { deviceId: string }[] }>('/v1/devices');
      const mine = listed.body.devices[0];
      if (!mine) throw new Error(`no device to release: ${JSON.stringify(listed.body)}`);
      const path = `/v1/devices/${encodeURIComponent(mine.deviceId)}`;
      const released = await request(server.url, 'DELETE', path, undefined, { token: account.token });
      if (released.status >= 300) throw new Error(`release: ${released.status}`);
      await sync();
    },
    // Another computer signs in and takes the plan's only device place.
    'device:taken': async () => {
      if (!account) throw new Error('sign in first');
      const taken = await account.get('/v1/license?deviceId=another-computer-0001&deviceName=Other');
      if (taken.status !== 200) throw new Error(`the other computer got ${taken.status}`);
    },
    // The user signs in on this computer again, choosing it over the released state.
    'sign-in:again': async () => {
      if (!account) throw new Error('sign in first');
      const signedIn = await companion.dispatch('auth.signIn', { email: account.email, password: account.password });
      if (!signedIn.ok) throw new Error(signedIn.error.message);
    },
    // Down now, back in a moment: the client must reconnect with backoff on its own.
    'restart:slow': async () => {
      await stop();
      restarting = new Promise((resolve) => setTimeout(resolve, 300)).then(() => open());
    },
  };

  const fake = await fakeCompanion(fakeSocketPath, await forgedLicense());
  const jwks = (await fetch(`${server.url}/.well-known/jwks.json`).then((r) => r.json())) as { keys: unknown[] };
  return {
    serverUrl: server.url,
    env: {
      TOLLGATE_SOCKET: socketPath,
      TOLLGATE_CONFORMANCE_FAKE_SOCKET: fakeSocketPath,
      TOLLGATE_CONFORMANCE_VECTORS: VECTORS_PATH,
      TOLLGATE_CONFORMANCE_JWKS: JSON.stringify(jwks),
      TOLLGATE_CONFORMANCE_WRONG_JWKS: JSON.stringify(publicJwks(wrongKey)),
    },
    jwks,
    wrongJwks: publicJwks(wrongKey) as { keys: unknown[] },
    socketPath,
    fakeSocketPath,
    fakeConsumeKeys: fake.consumeKeys,
    async trigger(name) {
      await restarting;
      const run = triggers[name];
      if (!run) throw new Error(`unknown trigger ${name}`);
      await run();
    },
    async close() {
      await restarting.catch(() => undefined);
      await fake.close();
      await stop().catch(() => undefined);
      await proxy.close();
      await server.stop();
      folder.remove();
    },
  };
}

/**
 * What an attacker's program on the host socket would hand out: an Enterprise license signed by a
 * key of its own under the vendor's key id (vendor.config.json), with a view that claims it is valid.
 */
async function forgedLicense(): Promise<{ token: string; license: Record<string, unknown> }> {
  const attacker = await generateLicenseKeyPair();
  const kid = vendor.licenseKeys.keys[0]?.kid;
  const enterprise = findTier(defaultCatalog, 'enterprise');
  const now = Date.now();
  const token = await signLicense(
    {
      sub: 'account-of-the-attacker',
      dev: 'this-device',
      email: 'attacker@example.test',
      tier: 'enterprise',
      status: 'active',
      access: true,
      accessEndsAt: null,
      features: enterprise.features,
      limits: enterprise.limits,
      period: new Date(now).toISOString().slice(0, 7),
      usage: {},
    },
    { ...attacker.privateJwk, kid },
    { now, offlineGraceSeconds: 30 * 86_400 },
  );
  const license = {
    status: 'valid',
    problem: null,
    tier: 'enterprise',
    subscriptionStatus: 'active',
    features: enterprise.features,
    limits: enterprise.limits,
    issuedAt: now,
    offlineValidUntil: now + 30 * DAY,
    accessEndsAt: null,
  };
  return { token, license };
}

/** How many `fake_together_<i>_of_<n>` requests must arrive before the fake answers any of them. */
const TOGETHER = /^fake_together_(\d+)_of_(\d+)$/;

/**
 * A companion that misbehaves on request: gate.check's feature (or consume's operation) says how.
 * `license.get` answers with `forged`.
 */
async function fakeCompanion(
  path: string,
  forged: { token: string; license: Record<string, unknown> },
): Promise<{ consumeKeys: string[]; close(): Promise<void> }> {
  const consumeKeys: string[] = [];
  const sockets = new Set<Socket>();
  // Pipelined requests held until the whole group is in: only a client that had them all in flight
  // at once gets answers (else its requests time out). Answered last first, so only ids match them.
  const held: Array<{ index: number; reply: () => void }> = [];
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const lines = createInterface({ input: socket });
    lines.on('line', (line) => {
      const request = JSON.parse(line) as { id: number; method: string; params: Record<string, unknown> };
      const reply = (body: Record<string, unknown>) =>
        socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: request.id, ...body })}\n`);
      if (request.method === 'license.get') return reply({ result: forged });
      if (request.method === 'usage.consume') {
        const key = String(request.params.idempotencyKey);
        const seen = consumeKeys.includes(key);
        consumeKeys.push(key);
        if (!seen) socket.destroy();
        else reply({ result: { decision: { allowed: true, code: 'OK' }, idempotencyKey: key, replayed: true } });
        return;
      }
      const together = TOGETHER.exec(String(request.params.feature));
      if (together) {
        const index = Number(together[1]);
        held.push({ index, reply: () => reply({ result: { allowed: true, code: 'OK', limit: index } }) });
        if (held.length < Number(together[2])) return;
        for (const each of held.splice(0).sort((a, b) => b.index - a.index)) each.reply();
        return;
      }
      switch (request.params.feature) {
        case 'fake_ok':
          return reply({ result: { allowed: true, code: 'OK' } });
        case 'fake_not_json':
          return socket.write(`{"jsonrpc":"2.0","id":${request.id},"result":\n`);
        case 'fake_bad_shape':
          return reply({ result: { allowed: 'yes', code: 'OK' } });
        case 'fake_error_without_code':
          return reply({ error: { message: 'no code' } });
        case 'fake_usage_not_recorded':
          return reply({
            error: { code: -32000, message: 'The disk is full.', data: { code: 'USAGE_NOT_RECORDED' } },
          });
        case 'fake_parse_error':
          return reply({ error: { code: -32700, message: 'Parse error' } });
        case 'fake_invalid_request':
          return reply({ error: { code: -32600, message: 'Invalid request' } });
        case 'fake_internal':
          return reply({ error: { code: -32603, message: 'Internal error' } });
        case 'fake_silent':
          return;
        case 'fake_drop_always':
          return socket.destroy();
        default:
          return reply({ error: { code: -32601, message: 'Unknown method' } });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    consumeKeys,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A runner's output with what broke first: a CI summary shows only a failure's first line, and that
 * line should name the step that failed, or, when the runner died without a FAIL line (a crash, the
 * watchdog), how it ended and the first lines it wrote to stderr, not the first step that passed.
 */
function failuresFirst(output: string, ended: string, stderr: string): string {
  const failed = output.split('\n').filter((line) => line.startsWith('FAIL '));
  const crash = stderr
    .split('\n')
    .filter((line) => line.trim())
    .slice(0, 2);
  const head = failed.length
    ? failed.join(' | ')
    : `${ended}, no FAIL line${crash.length ? `: ${crash.join(' | ')}` : ''}`;
  return `${head}\n--- full output:\n${output}`;
}

/**
 * Runs a child-process runner: answers its `@do` lines with the world's triggers and resolves with
 * its exit code and everything it printed.
 */
export function runChild(
  command: string,
  args: string[],
  world: World,
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number | null; output: string; report: string }> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...world.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let stderr = '';
    let watchdog = false;
    const timer = setTimeout(() => {
      watchdog = true;
      child.kill('SIGKILL');
    }, 110_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      stderr += chunk.toString();
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      output += `${line}\n`;
      if (!line.startsWith('@do ')) return;
      world.trigger(line.slice(4).trim()).then(
        () => child.stdin?.write('ok\n'),
        (error: Error) => child.stdin?.write(`error ${error.message.replaceAll('\n', ' ')}\n`),
      );
    });
    child.on('error', (error) => {
      output += `${error.message}\n`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ended = watchdog ? 'killed after 110 s without finishing' : `exited with ${code ?? signal}`;
      resolve({ code, output, report: failuresFirst(output, ended, stderr) });
    });
  });
}
