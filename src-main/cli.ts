import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import open from 'open';
import type { ResultOf } from '../src-shared/contract.ts';
import { keptUsageNotice } from '../src-shared/notices.ts';
import vendorFile from '../vendor.config.json' with { type: 'json' };
import { Companion, type CompanionOptions } from './companion.ts';
import { type CompanionConfig, resolveConfig } from './config.ts';
import { HostClient, HostError } from './host-client.ts';
import { defaultSocketPath, SocketInUse } from './host-socket.ts';
import { CompanionAlreadyRunning } from './owner-lock.ts';
import { webRenderer } from './renderer-dir.ts';
import { runCompanion } from './run-companion.ts';
import { plaintextCipher } from './secrets.ts';
import { DataFolderUnusable, openNodeStore } from './settings-store.ts';

/** The vendor's build configuration, part of the build: its pinned license keys and app id. */
const vendor = parseVendorConfig(vendorFile);

import { parseVendorConfig } from './vendor-config.ts';

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
Environment: TOLLGATE_SOCKET (host socket path).`;

const EXIT_DENIED = 3;

/** What a checkout adds (scripts/companion.ts): the product itself has no window to open from here. */
export interface Launcher {
  /** Runs the Electron window to its end (its exit code), or 'unavailable': then the UI opens in the browser. */
  openWindow(config: CompanionConfig): Promise<number | 'unavailable'>;
}

export async function main(argv: string[], launcher?: Launcher): Promise<number> {
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

  if (values.headless) return runUntilStopped(config, 'headless', false);
  if (values.web) return runUntilStopped(config, 'web', values.open ?? false);
  switch (command) {
    case undefined: {
      const window = launcher ? await launcher.openWindow(config) : 'unavailable';
      return window === 'unavailable' ? runUntilStopped(config, 'web', true) : window;
    }
    case 'login':
      return login(config, values.email);
    case 'logout':
      return withCompanion(config, async (companion) => {
        const answer = await companion.dispatch('auth.signOut', {});
        const kept = answer.ok ? (answer.value as ResultOf<'auth.signOut'>) : null;
        const notice = keptUsageNotice(kept?.unsyncedEvents ?? 0);
        print(notice ? `Signed out. ${notice}` : 'Signed out.', { signedOut: true, ...kept });
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

/** The companion as the command line runs it, outside Electron. */
function companionOptions(config: CompanionConfig): CompanionOptions {
  return {
    home: config.home,
    serverUrl: config.serverUrl,
    openStore: openNodeStore,
    // Outside Electron there is no OS keychain binding: tokens are stored as plaintext, and we say so.
    cipher: plaintextCipher,
    // The vendor's pinned keys come from the build, never from the environment or the data folder.
    licenseKeys: vendor.licenseKeys,
    appId: vendor.appId,
    timing: config.timing,
  };
}

/** Runs a one-shot command on the data folder; refuses while a running companion owns it. */
async function withCompanion(config: CompanionConfig, work: (companion: Companion) => Promise<number>) {
  let companion: Companion;
  try {
    companion = await Companion.open(companionOptions(config));
  } catch (error) {
    if (error instanceof CompanionAlreadyRunning) {
      console.error(`${error.message}\nStop it first (it holds the session), then run this command again.`);
      return 1;
    }
    if (error instanceof DataFolderUnusable) {
      console.error(error.message);
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
      dataProblems: state.dataProblems,
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

/** Headless and web modes: the running companion (run-companion.ts) until SIGINT/SIGTERM. */
async function runUntilStopped(config: CompanionConfig, mode: 'headless' | 'web', openPage: boolean): Promise<number> {
  let webStaticDir: string | undefined;
  if (mode === 'web') {
    const built = webRenderer();
    if (!built) {
      console.error(
        process.env.TOLLGATE_RENDERER_DIR
          ? `TOLLGATE_RENDERER_DIR (${process.env.TOLLGATE_RENDERER_DIR}) holds no built companion UI (index.html): point it at a build, or unset it.`
          : 'The companion UI is not built: run `npm run build` (or start it with `npm run companion -- --web`).',
      );
      return 1;
    }
    webStaticDir = built;
  }
  let running: Awaited<ReturnType<typeof runCompanion>>;
  try {
    running = await runCompanion({
      ...companionOptions(config),
      socketPath: defaultSocketPath(),
      ...(webStaticDir ? { webStaticDir } : {}),
    });
  } catch (error) {
    if (
      error instanceof CompanionAlreadyRunning ||
      error instanceof SocketInUse ||
      error instanceof DataFolderUnusable
    ) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
  const { companion, socket, web } = running;
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
    // The link's code works once (web-server.ts): printing it or passing it to the opener gives
    // nobody the session token.
    console.log(`Open the companion: ${web.pageUrl}`);
    // A desktop without a browser (a server, CI) still has the URL printed above.
    if (openPage) await open(web.pageUrl).catch(() => undefined);
  }
  await new Promise<void>((resolveStop) => {
    process.once('SIGINT', resolveStop);
    process.once('SIGTERM', resolveStop);
  });
  await running.close();
  return 0;
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
