import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { type AddressInfo, createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { Companion, type CompanionOptions } from '../../../src-main/companion.ts';
import { HostSocketServer } from '../../../src-main/host-socket.ts';
import { plaintextCipher } from '../../../src-main/secrets.ts';
import { openNodeStore } from '../../../src-main/settings-store.ts';
import { MeResponse } from '../../../src-shared/api.ts';
import vendorFile from '../../../vendor.config.json' with { type: 'json' };
import type { TestAccount } from '../../support/server.ts';

/** What the companion builds in from vendor.config.json: the pinned license keys and the app id. */
export const VENDOR_TRUST = { licenseKeys: vendorFile.licenseKeys, appId: vendorFile.appId };

/** A temp folder that a test owns and removes. */
export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Registers an afterEach that closes what a test opened (last opened, first closed), pass or fail,
 * so one failing test cannot leak a companion, socket or process into the next. Call it once at
 * the top of a test file; use the function it returns on each thing opened.
 */
export function closeAfterEach(): <T>(opened: T, close: (opened: T) => unknown) => T {
  const closers: Array<() => unknown> = [];
  afterEach(async () => {
    for (let close = closers.pop(); close; close = closers.pop()) await close();
  });
  return (opened, close) => {
    closers.push(() => close(opened));
    return opened;
  };
}

/** What the server counted of `operation` this period, read from /v1/me through its schema. */
export async function serverUsedOf(account: TestAccount, operation: string): Promise<number> {
  const me = MeResponse.parse((await account.get('/v1/me')).body);
  return me.usage.operations[operation]?.used ?? 0;
}

/** A companion in-process, as `tollgate --headless` builds it, with its world overridable. */
export function openTestCompanion(options: Partial<CompanionOptions> & { home: string; serverUrl: string }) {
  return Companion.open({ openStore: openNodeStore, cipher: plaintextCipher, ...VENDOR_TRUST, ...options });
}

export async function listenHostSocket(companion: Companion, path: string): Promise<HostSocketServer> {
  return HostSocketServer.listen({
    path,
    dispatch: (method, params) => companion.dispatch(method, params),
    state: companion.state,
  });
}

/** A client that speaks raw lines, for feeding the socket what a well-behaved SDK never would. */
export class RawClient {
  private buffer = '';
  private lines: string[] = [];
  private waiters: Array<(line: string) => void> = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      const parts = (this.buffer + chunk).split('\n');
      this.buffer = parts.pop() ?? '';
      for (const line of parts) {
        const waiter = this.waiters.shift();
        if (waiter) waiter(line);
        else this.lines.push(line);
      }
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }

  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  write(text: string): Promise<void> {
    return new Promise((resolve) => this.socket.write(text, () => resolve()));
  }

  nextLine(timeoutMs = 10_000): Promise<unknown> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(JSON.parse(line));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer from the companion')), timeoutMs);
      this.waiters.push((next) => {
        clearTimeout(timer);
        resolve(JSON.parse(next));
      });
    });
  }

  async request(method: string, params: unknown, id: number | string = 1): Promise<unknown> {
    await this.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    return this.nextLine();
  }

  close(): void {
    this.socket.destroy();
  }
}

// ── The companion as a real process, as a user runs it ─────────────────────────────────────────

const ROOT = join(import.meta.dirname, '..', '..', '..');
const TOLLGATE_BIN = join(ROOT, 'bin', 'tollgate.mjs');

export interface CompanionEnv {
  TOLLGATE_HOME: string;
  TOLLGATE_SOCKET: string;
  TOLLGATE_SERVER_URL: string;
  [name: string]: string;
}

/** Runs one `tollgate …` command to completion (`bin`: the bundled CLI of `bundleCli`). */
export function runTollgate(
  args: string[],
  env: CompanionEnv,
  input?: string,
  bin = TOLLGATE_BIN,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdin.end(input ?? '');
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface CompanionProcess {
  pid: number;
  output(): string;
  /** SIGKILL (a crash) or SIGTERM (a clean stop); resolves when the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * The CLI bundled into one file (same code as bin/tollgate.mjs, without compiling TypeScript at
 * every start): the crash test restarts the companion dozens of times.
 */
export async function bundleCli(): Promise<{ bin: string; remove(): void }> {
  const { build } = await import('esbuild');
  // Its real path: cli.ts runs main() only when argv[1] is its own file, and node_modules may be a
  // symlink (a git worktree sharing a checkout's), which import.meta.filename resolves.
  const dir = realpathSync(mkdtempSync(join(ROOT, 'node_modules', '.tollgate-test-cli-')));
  const bin = join(dir, 'tollgate.mjs');
  await build({
    entryPoints: [join(ROOT, 'src-main', 'cli.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile: bin,
    logLevel: 'warning',
  });
  return { bin, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts `tollgate --headless` and resolves once its host socket answers. `asUser`: run it as that
 * user (tests run as root; a file a user cannot read is only unreadable to someone else).
 * `faketime`: run it under libfaketime with that clock (`'+8d'`: the whole process, Date.now()
 * included, lives 8 days ahead; see `requireFaketime`).
 */
export async function startHeadless(
  env: CompanionEnv,
  bin = TOLLGATE_BIN,
  asUser?: string,
  faketime?: string,
): Promise<CompanionProcess> {
  const command = asUser
    ? ['setpriv', `--reuid=${asUser}`, `--regid=${asUser === 'nobody' ? 'nogroup' : asUser}`, '--clear-groups']
    : [];
  const child: ChildProcess = spawn(
    command[0] ?? process.execPath,
    [...command.slice(1), ...(asUser ? [process.execPath] : []), bin, '--headless'],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ...env,
        ...(faketime ? fakeClock(faketime) : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`companion did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Host socket:')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`companion exited (${code}) before listening:\n${output}`));
    });
  });
  return {
    pid: child.pid as number,
    output: () => output,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/**
 * The environment that runs a process under libfaketime (Debian package `faketime`, which .ci/run
 * installs) at `offset` (`'+8d'`, `'-2h'`): what the `faketime -f` wrapper sets, given straight
 * to the process so that its pid and signals are the companion's own (the wrapper forks).
 * `$LIB` is the dynamic loader's own token (lib/x86_64-linux-gnu on Debian), as the wrapper uses it.
 */
function fakeClock(offset: string): Record<string, string> {
  return { LD_PRELOAD: '/usr/$LIB/faketime/libfaketime.so.1', FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' };
}

/**
 * Checks that libfaketime is here and really moves a Node process's clock: throws, never skips,
 * when it does not — a clock test that quietly ran on the real clock would prove nothing.
 */
export function requireFaketime(): void {
  const DAY = 86_400_000;
  const before = Date.now();
  const run = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(Date.now()))'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...fakeClock('+8d') },
  });
  const shifted = Number(run.stdout) - before;
  if (run.status !== 0 || !(shifted > 7.9 * DAY && shifted < 8.1 * DAY)) {
    throw new Error(
      "libfaketime did not move Node's clock 8 days ahead, so the clock tests cannot turn the companion's clock: " +
        `install it (apt-get install faketime; .ci/run does). Node printed ${JSON.stringify(run.stdout)}, ${run.stderr}`,
    );
  }
}

/** Polls until `check` returns a truthy value (or throws after the timeout). */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A TCP proxy in front of the billing server whose "network" can be cut: while down it stops
 * listening (connections are refused) and drops every open connection, as with a cable pulled.
 * The server itself keeps running.
 */
export async function outageProxy(targetUrl: string) {
  const target = new URL(targetUrl);
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const dropAll = () => {
    for (const socket of open) socket.destroy();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    async down() {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      dropAll();
      await closed;
    },
    async up() {
      if (server.listening) return;
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    async close() {
      dropAll();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Opens the --web link once, as the browser does: the session cookie its one-time code buys. */
export async function webSessionCookie(pageUrl: string): Promise<string> {
  const answer = await fetch(pageUrl, { redirect: 'manual' });
  const session = answer.headers.getSetCookie().find((cookie) => cookie.startsWith('tollgate_web='));
  if (answer.status !== 303 || !session) throw new Error(`the --web link gave no session (${answer.status})`);
  return session.split(';')[0] as string;
}
