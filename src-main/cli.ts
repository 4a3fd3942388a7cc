import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Companion } from './companion.ts';
import { type CompanionConfig, resolveConfig } from './config.ts';
import { HostClient, HostError } from './host-client.ts';
import { defaultSocketPath, HostSocketServer } from './host-socket.ts';
import { CompanionAlreadyRunning } from './owner-lock.ts';
import { ensureRendererBuild, REPO_ROOT } from './renderer-build.ts';
import { plaintextCipher } from './secrets.ts';
import { openNodeStore } from './settings-store.ts';
import { startWebServer } from './web-server.ts';

/**
 * `tollgate`, the companion's command line (package bin; `npm run companion -- …` in a checkout).
 * Exit codes: 0 done/allowed, 1 error, 3 denied by the plan (gate check, usage consume).
 */

const USAGE = `Usage: tollgate [command] [options]

  tollgate                         open the companion window (Electron; --web when Electron is missing)
  tollgate --headless              run without a window: host socket only
  tollgate --web [--open]          run with the UI in the browser (loopback HTTP)
  tollgate login --email E         sign in; the password is read from stdin or TOLLGATE_PASSWORD
  tollgate logout                  sign out on this device
  tollgate status                  plan, license and usage (from the running companion, or the data folder)
  tollgate gate check FEATURE      may the plan use FEATURE? (exit 0 yes, 3 no)
  tollgate usage consume OP [N]    record N units of OP if the plan allows (exit 0 yes, 3 no)

Options:
  --server URL     billing server (or TOLLGATE_SERVER_URL; default http://127.0.0.1:8787)
  --home DIR       data folder (or TOLLGATE_HOME; default: Electron's userData folder)
  --json           machine-readable output
Environment: TOLLGATE_SOCKET (host socket path), TOLLGATE_LICENSE_KEY (pinned license key, JWK/JWKS JSON).`;

const EXIT_DENIED = 3;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: 'string' },
      home: { type: 'string' },
      email: { type: 'string' },
      headless: { type: 'boolean' },
      web: { type: 'boolean' },
      open: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const config = resolveConfig(values);
  const [command, ...rest] = positionals;
  const print = (human: string, data: unknown) => console.log(values.json ? JSON.stringify(data) : human);

  if (values.headless) return runCompanion(config, 'headless', false);
  if (values.web) return runCompanion(config, 'web', values.open ?? false);
  switch (command) {
    case undefined:
      return openElectronOrWeb(config);
    case 'login':
      return login(config, values.email);
    case 'logout':
      return withCompanion(config, async (companion) => {
        await companion.dispatch('auth.signOut', {});
        print('Signed out.', { signedOut: true });
        return 0;
      });
    case 'status':
      return status(config, print);
    case 'gate':
      if (rest[0] !== 'check' || !rest[1]) return usageError('tollgate gate check FEATURE');
      return askCompanion(print, async (client) => {
        const decision = await client.call('gate.check', { feature: rest[1] as string });
        print(describeDecision(`feature ${rest[1]}`, decision), decision);
        return decision.allowed ? 0 : EXIT_DENIED;
      });
    case 'usage': {
      const units = rest[2] === undefined ? 1 : Number(rest[2]);
      if (rest[0] !== 'consume' || !rest[1] || !Number.isInteger(units)) {
        return usageError('tollgate usage consume OPERATION [UNITS]');
      }
      return askCompanion(print, async (client) => {
        const outcome = await client.call('usage.consume', { operation: rest[1] as string, units });
        print(describeDecision(`${units} × ${rest[1]}`, outcome.decision), outcome);
        return outcome.decision.allowed ? 0 : EXIT_DENIED;
      });
    }
    default:
      return usageError(USAGE);
  }
}

function usageError(text: string): number {
  console.error(`Usage: ${text}`);
  return 1;
}

function describeDecision(
  subject: string,
  decision: { allowed: boolean; code: string; remaining?: number; upgrade?: { name: string } },
) {
  const remaining = decision.remaining === undefined ? '' : ` (${decision.remaining} left before this)`;
  const upgrade = decision.upgrade ? ` — upgrade to ${decision.upgrade.name} to allow it` : '';
  return decision.allowed ? `allowed: ${subject}${remaining}` : `denied: ${subject}: ${decision.code}${upgrade}`;
}

async function openCompanion(config: CompanionConfig): Promise<Companion> {
  return Companion.open({
    home: config.home,
    serverUrl: config.serverUrl,
    openStore: openNodeStore,
    // Outside Electron there is no OS keychain binding: tokens are stored as plaintext, and we say so.
    cipher: plaintextCipher,
    ...(config.publicKey ? { publicKey: config.publicKey } : {}),
    timing: config.timing,
  });
}

/** Runs a one-shot command on the data folder; refuses while a running companion owns it. */
async function withCompanion(config: CompanionConfig, work: (companion: Companion) => Promise<number>) {
  let companion: Companion;
  try {
    companion = await openCompanion(config);
  } catch (error) {
    if (error instanceof CompanionAlreadyRunning) {
      console.error(`${error.message}\nStop it first (it holds the session), then run this command again.`);
      return 1;
    }
    throw error;
  }
  try {
    return await work(companion);
  } finally {
    await companion.close();
  }
}

async function readPassword(): Promise<string> {
  if (process.env.TOLLGATE_PASSWORD) return process.env.TOLLGATE_PASSWORD;
  if (process.stdin.isTTY) process.stderr.write('Password: ');
  const lines = createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

async function login(config: CompanionConfig, email: string | undefined): Promise<number> {
  if (!email) return usageError('tollgate login --email EMAIL   (password from stdin or TOLLGATE_PASSWORD)');
  const password = await readPassword();
  if (!password) {
    console.error('No password: pipe it on stdin or set TOLLGATE_PASSWORD.');
    return 1;
  }
  return withCompanion(config, async (companion) => {
    const signedIn = await companion.dispatch('auth.signIn', { email, password });
    if (!signedIn.ok) {
      console.error(`Sign-in failed: ${signedIn.error.message} (${signedIn.error.code})`);
      return 1;
    }
    const state = companion.state.getState();
    console.log(`Signed in as ${email} — ${state.effectiveTier} tier (${state.standing.message})`);
    if (state.tokenStorage === 'plaintext') {
      console.log(`Warning: no OS keychain here; the session is stored unencrypted in ${config.home}.`);
    }
    return 0;
  });
}

async function askCompanion(
  print: (human: string, data: unknown) => void,
  work: (client: HostClient) => Promise<number>,
): Promise<number> {
  let client: HostClient;
  try {
    client = await HostClient.connect();
  } catch {
    print(`No companion is running on ${defaultSocketPath()}. Start one: tollgate --headless`, {
      error: 'COMPANION_NOT_RUNNING',
    });
    return 1;
  }
  try {
    return await work(client);
  } catch (error) {
    if (error instanceof HostError) {
      print(`error: ${error.message} (${error.reason ?? error.rpcCode})`, {
        error: error.reason,
        message: error.message,
      });
      return 1;
    }
    throw error;
  } finally {
    client.close();
  }
}

async function status(config: CompanionConfig, print: (human: string, data: unknown) => void): Promise<number> {
  try {
    const client = await HostClient.connect();
    try {
      const [license, usage] = await Promise.all([client.call('license.get'), client.call('usage.get')]);
      print(describeStatus(license.license.tier, license.license.status, usage, 'running companion'), {
        source: 'companion',
        license: license.license,
        usage,
      });
    } finally {
      client.close();
    }
    return 0;
  } catch {
    // No companion answering: read the data folder ourselves (verified, offline).
  }
  return withCompanion(config, async (companion) => {
    const state = companion.state.getState();
    const who = state.account ? state.account.email : 'not signed in';
    print(describeStatus(state.effectiveTier, state.license.status, state.usage, `data folder, ${who}`), {
      source: 'data-folder',
      account: state.account,
      effectiveTier: state.effectiveTier,
      standing: state.standing,
      license: state.license,
      usage: state.usage,
      pendingEvents: state.sync.pendingEvents,
      tokenStorage: state.tokenStorage,
    });
    return 0;
  });
}

function describeStatus(
  tier: string | null,
  license: string,
  usage: {
    period: string;
    operations: Record<string, { label: string; serverUsed: number; pending: number; limit: number }>;
  },
  source: string,
): string {
  const lines = [`Tollgate (${source}): ${tier ?? 'free'} tier, license ${license}, period ${usage.period}`];
  for (const [operation, view] of Object.entries(usage.operations)) {
    const limit = view.limit === -1 ? 'unlimited' : String(view.limit);
    lines.push(
      `  ${view.label} (${operation}): ${view.serverUsed + view.pending} of ${limit}, ${view.pending} not yet synced`,
    );
  }
  return lines.join('\n');
}

/** Headless and web modes: the companion, its host socket, and (web) the UI over loopback HTTP. */
async function runCompanion(config: CompanionConfig, mode: 'headless' | 'web', open: boolean): Promise<number> {
  let companion: Companion;
  let socket: HostSocketServer;
  try {
    companion = await openCompanion(config);
  } catch (error) {
    if (error instanceof CompanionAlreadyRunning) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
  try {
    socket = await HostSocketServer.listen({
      path: defaultSocketPath(),
      dispatch: (method, params) => companion.dispatch(method, params),
      state: companion.state,
    });
  } catch (error) {
    await companion.close();
    console.error((error as Error).message);
    return 1;
  }
  companion.start();
  const web =
    mode === 'web'
      ? await startWebServer({
          staticDir: await ensureRendererBuild(),
          dispatch: (method, params) => companion.dispatch(method, params),
          state: companion.state,
        })
      : null;
  const state = companion.state.getState();
  console.log(
    `Tollgate companion (${mode}) — ${state.account ? `signed in as ${state.account.email}` : 'not signed in'}, ` +
      `server ${config.serverUrl}`,
  );
  console.log(`Host socket: ${socket.path}`);
  if (state.tokenStorage === 'plaintext' && state.account) {
    console.log('Warning: no OS keychain here; the session is stored unencrypted in the data folder.');
  }
  if (web) {
    console.log(`Open the companion: ${web.pageUrl}`);
    if (open) openInBrowser(web.pageUrl);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await web?.close();
  await socket.close();
  await companion.close();
  return 0;
}

/** Opens the system browser when the desktop has one; never fails when it does not. */
export function openInBrowser(url: string): boolean {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  if (process.platform === 'linux' && spawnSync('sh', ['-c', 'command -v xdg-open']).status !== 0) return false;
  try {
    spawn(opener, [url], { stdio: 'ignore', detached: true })
      .on('error', () => undefined)
      .unref();
    return true;
  } catch {
    return false;
  }
}

/** The Electron binary of this checkout, when its download was possible. */
export function electronBinary(): string | null {
  const dir = join(REPO_ROOT, 'node_modules', 'electron');
  try {
    const relative = readFileSync(join(dir, 'path.txt'), 'utf8').trim();
    const binary = join(dir, 'dist', relative);
    return existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

async function openElectronOrWeb(config: CompanionConfig): Promise<number> {
  const binary = electronBinary();
  if (!binary) {
    console.log(
      'The Electron binary is not installed on this machine, so the companion opens in your browser (--web).',
    );
    return runCompanion(config, 'web', true);
  }
  if (!existsSync(join(REPO_ROOT, 'out', 'main', 'index.js'))) {
    const built = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
    if (built.status !== 0) return 1;
  }
  const env = { ...process.env, TOLLGATE_SERVER_URL: config.serverUrl, TOLLGATE_HOME: config.home };
  const child = spawn(binary, [REPO_ROOT], { stdio: 'inherit', env });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
