import { homedir } from 'node:os';
import { join } from 'node:path';
import { requireSecureServerUrl } from './billing-client.ts';
import type { SyncTiming } from './sync.ts';

/**
 * The companion's configuration, from the command line and the environment (docs/host-ipc.md):
 *   TOLLGATE_SERVER_URL / --server    the billing server (default: the embedded local one)
 *   TOLLGATE_HOME / --home            the data folder (default: Electron's userData folder)
 *   TOLLGATE_SOCKET                   the host socket path (default: see host-socket.ts)
 *   TOLLGATE_SYNC_INTERVAL_MS, TOLLGATE_SYNC_RETRY_MAX_MS   sync timing
 */

const DEFAULT_SERVER_URL = 'http://127.0.0.1:8787';

export interface CompanionConfig {
  serverUrl: string;
  home: string;
  timing: Partial<SyncTiming>;
}

/** Electron's default userData folder for an app named "tollgate", so CLI and app share one home. */
function defaultHome(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'tollgate');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'tollgate');
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'tollgate');
}

export function resolveConfig(
  flags: { server?: string; home?: string },
  env: NodeJS.ProcessEnv = process.env,
): CompanionConfig {
  const serverUrl = flags.server ?? env.TOLLGATE_SERVER_URL ?? DEFAULT_SERVER_URL;
  let parsed: URL;
  try {
    parsed = new URL(serverUrl);
  } catch {
    throw new Error(`The billing server URL "${serverUrl}" is not a URL (set --server or TOLLGATE_SERVER_URL).`);
  }
  requireSecureServerUrl(parsed);
  const timing: Partial<SyncTiming> = {};
  const interval = Number(env.TOLLGATE_SYNC_INTERVAL_MS);
  if (Number.isInteger(interval) && interval > 0) timing.intervalMs = interval;
  const retryMax = Number(env.TOLLGATE_SYNC_RETRY_MAX_MS);
  if (Number.isInteger(retryMax) && retryMax > 0) {
    timing.retryMaxMs = retryMax;
    timing.retryBaseMs = Math.min(1_000, retryMax);
  }
  return {
    serverUrl,
    home: flags.home ?? env.TOLLGATE_HOME ?? defaultHome(env),
    timing,
  };
}
