import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedAnalytics } from '../scripts/seed-analytics.ts';
import { loadConfig } from '../src-server/config.ts';
import { createDatabase, SQLITE_FILE } from '../src-server/db/connection.ts';
import { addMonths, periodOf } from '../src-shared/period.ts';
import { spawnTestServer } from '../test/support/server.ts';
import { type BenchRow, percentile, report } from './report.ts';

/**
 * Every admin endpoint on a SQLite database seeded with 100,000 accounts and 12 months of history
 * (scripts/seed-analytics.ts), served by the real server in its own process. Each endpoint is
 * timed on its first request (the server has just started, or the data just changed) and warm
 * (p95 of repeated requests), beside the ceiling of the same run: GET /healthz, what one HTTP round
 * trip to this server costs with no work. Target (issue 7): every endpoint under one second.
 *
 * TOLLGATE_BENCH_ANALYTICS_DIR=<folder> reuses (or creates once) a seeded data folder, since
 * seeding takes a while; otherwise a temporary one is seeded and removed.
 */

const ACCOUNTS = 100_000;
const REPEATS = 15;
const TARGET_MS = 1000;
/** /proc reports CPU time in USER_HZ ticks, 100 a second on Linux whatever the kernel tick. */
const TICKS_PER_SECOND = 100;
const ADMIN_TOKEN = 'bench-admin-token-0123456789-abcdefghij';
const THIS_MONTH = periodOf(Date.now());
const LAST_MONTH = addMonths(THIS_MONTH, -1);

const keptDir = process.env.TOLLGATE_BENCH_ANALYTICS_DIR;
const dataDir = keptDir ?? mkdtempSync(join(tmpdir(), 'tollgate-bench-analytics-'));

if (!existsSync(join(dataDir, SQLITE_FILE))) {
  const handle = await createDatabase(loadConfig({ TOLLGATE_DATA_DIR: dataDir }));
  const seeded = await seedAnalytics(handle.db, {
    accounts: ACCOUNTS,
    months: 12,
    end: THIS_MONTH,
    seed: 1,
    now: Date.now(),
  });
  await handle.destroy();
  console.log(
    `seeded ${seeded.accounts} accounts, ${seeded.subscriptionEvents} events, ${seeded.invoices} invoices, ` +
      `${seeded.usageCounters} usage counters in ${(seeded.milliseconds / 1000).toFixed(1)} s`,
  );
}

const server = await spawnTestServer({
  database: {
    dialect: 'sqlite',
    env: { TOLLGATE_DATA_DIR: dataDir },
    dataDir,
    databaseUrl: null,
    cleanup: async () => {},
  },
  env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN },
});

/**
 * The server process's CPU time so far (ms, 10 ms resolution), from /proc. Beside wall-clock time
 * it shows the work a request costs whatever else the machine is doing at the time.
 */
function serverCpuMs(): number {
  const stat = readFileSync(`/proc/${server.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

let cpuOfLastCall = 0;
async function timed(path: string): Promise<number> {
  const cpu = serverCpuMs();
  const started = performance.now();
  const response = await fetch(new URL(path, server.url), { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  const wall = performance.now() - started;
  cpuOfLastCall = serverCpuMs() - cpu;
  return wall;
}

async function samples(path: string): Promise<{ times: number[]; cpuMs: number }> {
  const times: number[] = [];
  let cpuMs = 0;
  for (let index = 0; index < REPEATS; index += 1) {
    times.push(await timed(path));
    cpuMs += cpuOfLastCall;
  }
  return { times, cpuMs: cpuMs / REPEATS };
}

const rows: BenchRow[] = [];
try {
  const floor = percentile((await samples('/healthz')).times, 95);
  const endpoints = [
    `/v1/admin/metrics/summary?month=${LAST_MONTH}`,
    `/v1/admin/metrics/mrr?month=${THIS_MONTH}&months=12`,
    `/v1/admin/metrics/revenue?month=${THIS_MONTH}&months=12`,
    `/v1/admin/metrics/usage?month=${LAST_MONTH}`,
    `/v1/admin/upsell?month=${LAST_MONTH}&limit=100`,
    `/v1/admin/ltv?month=${LAST_MONTH}&limit=100`,
    '/v1/admin/accounts/acct-0000042/ltv',
    `/v1/admin/export/mrr.csv?month=${THIS_MONTH}`,
    `/v1/admin/export/revenue.csv?month=${THIS_MONTH}`,
    `/v1/admin/export/usage.csv?month=${LAST_MONTH}`,
    `/v1/admin/export/upsell.csv?month=${LAST_MONTH}`,
    `/v1/admin/export/ltv.csv?month=${LAST_MONTH}`,
    `/v1/admin/metrics/funnel?month=${LAST_MONTH}`,
    `/v1/admin/export/funnel.csv?month=${THIS_MONTH}`,
  ];
  const row = (name: string, value: number, extra: Partial<BenchRow> = {}): BenchRow => ({
    name,
    value,
    unit: 'ms',
    ceiling: floor,
    target: `< ${TARGET_MS} ms`,
    pass: value < TARGET_MS,
    ...extra,
  });
  // The first request of each, in this order, right after start (the server preloads the event
  // history at start; a month's usage and every SQL sum are read on first use).
  for (const path of endpoints) {
    const wall = await timed(path);
    rows.push(row(`first ${path}`, wall, { serverCpuMs: cpuOfLastCall }));
  }
  for (const path of endpoints) {
    const { times, cpuMs } = await samples(path);
    rows.push(row(`warm p95 ${path}`, percentile(times, 95), { p50: percentile(times, 50), serverCpuMs: cpuMs }));
  }

  // What the dashboard does when the vendor picks a month: six requests at once.
  const month = addMonths(THIS_MONTH, -3);
  const dashboardPaths = [
    `/v1/admin/metrics/summary?month=${month}`,
    `/v1/admin/metrics/mrr?month=${month}&months=12`,
    `/v1/admin/metrics/revenue?month=${month}&months=12`,
    `/v1/admin/metrics/usage?month=${month}`,
    `/v1/admin/upsell?month=${month}&limit=50`,
    `/v1/admin/metrics/funnel?month=${month}`,
  ];
  const started = performance.now();
  await Promise.all(dashboardPaths.map(timed));
  rows.push(row('dashboard: one month, six requests at once (first time)', performance.now() - started));

  // A subscription changes: the next request re-reads the event history. (The event changes no
  // figure — a free account's MRR stays 0 — and is removed again so a kept database stays as seeded.)
  const handle = await createDatabase(loadConfig({ TOLLGATE_DATA_DIR: dataDir }));
  const eventId = `bench-${Date.now()}`;
  await handle.db
    .insertInto('subscription_events')
    .values({
      id: eventId,
      account_id: 'acct-0000001',
      at: Date.now(),
      kind: 'past_due',
      from_tier: 'free',
      to_tier: 'free',
      from_cycle: null,
      to_cycle: null,
      mrr_before_cents: 0,
      mrr_after_cents: 0,
    })
    .execute();
  const afterChange = await timed(endpoints[0] as string);
  rows.push(
    row('summary after a new subscription event (history re-read)', afterChange, { serverCpuMs: cpuOfLastCall }),
  );
  await handle.db.deleteFrom('subscription_events').where('id', '=', eventId).execute();
  await handle.destroy();
} finally {
  await server.stop();
  if (!keptDir) rmSync(dataDir, { recursive: true, force: true });
}

report('analytics', rows, {
  accounts: ACCOUNTS,
  months: 12,
  dialect: 'sqlite',
  repeats: REPEATS,
  loadAverage: loadavg(),
});
// The same requests by the server's own CPU time: what they cost on an otherwise idle machine.
console.table(
  rows
    .filter((row) => row.serverCpuMs !== undefined)
    .map((row) => ({ measure: row.name, 'server CPU': `${Math.round(row.serverCpuMs as number)} ms` })),
);
console.log(
  `load average while measuring: ${loadavg()
    .map((value) => value.toFixed(1))
    .join(' ')}`,
);
if (rows.some((row) => row.pass === false)) process.exitCode = 1;
