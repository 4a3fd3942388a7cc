import { spawn } from 'node:child_process';
import { Companion } from '../src-main/companion.ts';
import { deviceIdFor } from '../src-main/device-id.ts';
import { plaintextCipher, SessionVault } from '../src-main/secrets.ts';
import { openNodeStore } from '../src-main/settings-store.ts';
import { TrustedClock } from '../src-main/trusted-clock.ts';
import { defaultCatalog, findTier } from '../src-shared/catalog.ts';
import { signLease } from '../src-shared/lease.ts';
import { generateLicenseKeyPair, publicJwks, signLicense } from '../src-shared/license.ts';

const BENCH_APP = { appId: 'dev.tollgate.bench', machineIdentity: 'bench-machine' };

/**
 * A companion signed in on the enterprise tier with a valid license and no reachable server, so the
 * benchmarks measure the companion itself: every decision takes the full path (verified license,
 * clock checks, usage counters) and nothing waits on the network.
 */
export async function signedInOfflineCompanion(
  home: string,
  options: { leaseUnits?: number } = {},
): Promise<Companion> {
  const keys = await generateLicenseKeyPair();
  const now = Date.now();
  const store = openNodeStore(home);
  const enterprise = findTier(defaultCatalog, 'enterprise');
  const period = new Date(now).toISOString().slice(0, 7);
  const device = deviceIdFor(BENCH_APP.machineIdentity, BENCH_APP.appId);
  // With leaseUnits: ai_operations is limited (twice the lease) and every consume is lease-backed.
  const limits =
    options.leaseUnits === undefined
      ? enterprise.limits
      : { ...enterprise.limits, monthly: { ...enterprise.limits.monthly, ai_operations: 2 * options.leaseUnits } };
  const token = await signLicense(
    {
      sub: 'acct_bench',
      dev: device,
      email: 'bench@example.com',
      tier: 'enterprise',
      status: 'active',
      access: true,
      accessEndsAt: null,
      features: enterprise.features,
      limits,
      period,
      usage: {},
    },
    keys.privateJwk,
    { now, offlineGraceSeconds: 30 * 86_400 },
  );
  store.set('license.token', token);
  if (options.leaseUnits !== undefined) {
    const lease = await signLease(
      { sub: 'acct_bench', dev: device, op: 'ai_operations', period, units: options.leaseUnits },
      keys.privateJwk,
      { now, expiresAt: now + 30 * 86_400_000 },
    );
    store.set('leases', { ai_operations: { token: lease, settled: 0 } });
  }
  // As if the server had last stated the time just now (the offline grace is honoured from there).
  new TrustedClock(store, plaintextCipher).confirm(now, now);
  new SessionVault(store, plaintextCipher).save({
    account: { id: 'acct_bench', email: 'bench@example.com' },
    accessToken: 'offline',
    accessTokenExpiresAt: now + 86_400_000,
    refreshToken: 'offline',
  });
  return Companion.open({
    home,
    serverUrl: 'http://127.0.0.1:9',
    openStore: openNodeStore,
    cipher: plaintextCipher,
    licenseKeys: publicJwks(keys.publicJwk),
    ...BENCH_APP,
    timing: { retryBaseMs: 600_000, retryMaxMs: 600_000, intervalMs: 600_000 },
  });
}

/** What a load client measured: request count over the window, and latency percentiles (ms). */
export interface LoadResult {
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
}

/** Runs this file again as a load-generating client process and returns what it measured. */
export function runClientProcess<Result extends LoadResult = LoadResult>(
  script: string,
  args: string[],
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--client', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`load client exited with ${code}`));
      else resolve(JSON.parse(output) as Result);
    });
  });
}
