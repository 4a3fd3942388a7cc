import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HostClient } from '../../../src-main/host-client.ts';
import { UsageEventsResponse } from '../../../src-shared/api.ts';
import { setPlan, signUp, startTestServer, type TestServer, testLimits } from '../../support/server.ts';
import {
  bundleCli,
  type CompanionEnv,
  type CompanionProcess,
  eventually,
  openTestCompanion,
  serverUsedOf,
  startHeadless,
  tempDir,
} from './harness.ts';

// Crash claims are proven by crashing. Twenty times, a host app fires 5,000 consumes (64 in flight)
// at a headless companion that is SIGKILLed at a random moment, restarted on the same data folder,
// and sent the rest. After the restarted companion has synced, the server must have counted every
// acknowledged consume exactly once, no key twice, and nothing that was never attempted.

const RUNS = 20;
const CONSUMES = 5000;
const CONNECTIONS = 8;
const IN_FLIGHT_PER_CONNECTION = 8;
const PARALLEL_RUNS = 2;

const folder = tempDir('tollgate-crash-');
let server: TestServer;
let cli: Awaited<ReturnType<typeof bundleCli>>;

beforeAll(async () => {
  [server, cli] = await Promise.all([startTestServer(), bundleCli()]);
});

afterAll(async () => {
  await server?.stop();
  cli?.remove();
  folder.remove();
});

const keyOf = (run: number, n: number) => `crash-${run}-${String(n).padStart(5, '0')}`;

interface Progress {
  next: number;
  attempted: Set<number>;
  acknowledged: Set<number>;
}

/** Sends consumes until all are attempted or the companion dies under us. */
async function fire(socket: string, run: number, progress: Progress, killAfter: number | null, crash: () => void) {
  const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => HostClient.connect(socket)));
  const worker = async (client: HostClient) => {
    while (progress.next < CONSUMES) {
      const n = progress.next++;
      progress.attempted.add(n);
      try {
        const outcome = await client.call('usage.consume', {
          operation: 'ai_operations',
          idempotencyKey: keyOf(run, n),
        });
        expect(outcome.decision.allowed).toBe(true);
        progress.acknowledged.add(n);
      } catch {
        return; // The companion died: this consume was attempted, never acknowledged.
      }
      if (killAfter !== null && progress.acknowledged.size >= killAfter) crash();
    }
  };
  await Promise.all(
    clients.flatMap((client) => Array.from({ length: IN_FLIGHT_PER_CONNECTION }, () => worker(client))),
  );
  for (const client of clients) client.close();
}

/** One run: a fresh account and data folder, one SIGKILL at a random moment, restart, verify. */
async function crashRun(run: number): Promise<void> {
  const account = await signUp(server.url);
  await setPlan(server.db, account.id, { tier: 'custom', limits: testLimits(10_000_000) });
  const env: CompanionEnv = {
    TOLLGATE_HOME: join(folder.path, `home-${run}`),
    TOLLGATE_SOCKET: join(folder.path, `run-${run}.sock`),
    TOLLGATE_SERVER_URL: server.url,
  };
  // Sign the data folder in (the CLI's login does exactly this; companion-server.test.ts runs it).
  const setup = await openTestCompanion({ home: env.TOLLGATE_HOME, serverUrl: server.url });
  expect((await setup.dispatch('auth.signIn', { email: account.email, password: account.password })).ok).toBe(true);
  await setup.close();

  const progress: Progress = { next: 0, attempted: new Set(), acknowledged: new Set() };
  let companion: CompanionProcess = await startHeadless(env, cli.bin);
  const killAfter = 1 + Math.floor(Math.random() * (CONSUMES - 1));
  let killed: Promise<void> | null = null;
  await fire(env.TOLLGATE_SOCKET, run, progress, killAfter, () => {
    killed ??= companion.kill('SIGKILL');
  });
  await killed;
  expect(killed, `run ${run}: the companion was killed`).not.toBeNull();

  companion = await startHeadless(env, cli.bin);
  await fire(env.TOLLGATE_SOCKET, run, progress, null, () => undefined);
  const host = await HostClient.connect(env.TOLLGATE_SOCKET);
  await eventually(async () => (await host.call('usage.get')).operations.ai_operations?.pending === 0, 60_000);
  host.close();
  await companion.kill('SIGTERM');
  // A crash is not tampering: the restarted companion found its journal whole (nothing reported).
  expect(companion.output(), `run ${run}: journal reported after a crash`).not.toMatch(/usage journal/);

  const used = await serverUsedOf(account, 'ai_operations');
  // Ask the server about every key ever attempted: those it already had come back "duplicate".
  const counted = new Set<number>();
  for (let start = 0; start < CONSUMES; start += 1000) {
    const events = Array.from({ length: 1000 }, (_, i) => ({
      idempotencyKey: keyOf(run, start + i),
      operation: 'ai_operations',
      units: 1,
    }));
    const answer = await account.post('/v1/usage/events', { events });
    expect(answer.status).toBe(200);
    UsageEventsResponse.parse(answer.body).results.forEach((result, i) => {
      if (result.status === 'duplicate') counted.add(start + i);
    });
  }
  const acknowledged = progress.acknowledged.size;
  expect(progress.attempted.size, `run ${run}`).toBe(CONSUMES);
  expect(
    [...progress.acknowledged].filter((n) => !counted.has(n)),
    `run ${run}: acknowledged but lost`,
  ).toEqual([]);
  // Each key the server holds was counted once: the total is exactly the number of distinct keys.
  expect(used, `run ${run}: server total vs keys it holds`).toBe(counted.size);
  expect(used, `run ${run}`).toBeGreaterThanOrEqual(acknowledged);
  expect(used, `run ${run}`).toBeLessThanOrEqual(progress.attempted.size);
}

it(`counts every acknowledged consume exactly once across ${RUNS} SIGKILLs during ${CONSUMES} consumes`, {
  timeout: 600_000,
}, async () => {
  // Two runs at a time, each with its own companion, account and journal: the machine's fsyncs and
  // process starts overlap instead of queueing.
  for (let run = 0; run < RUNS; run += PARALLEL_RUNS) {
    await Promise.all(Array.from({ length: PARALLEL_RUNS }, (_, offset) => crashRun(run + offset)));
  }
});
