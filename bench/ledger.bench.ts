import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostClient } from '../src-main/host-client.ts';
import { HostSocketServer } from '../src-main/host-socket.ts';
import { openNodeStore } from '../src-main/settings-store.ts';
import { type LoadResult, runClientProcess, signedInOfflineCompanion } from './companion-fixture.ts';
import { type BenchRow, report } from './report.ts';

/**
 * Durable usage.consume: host clients (16, in a separate process) consume over the socket; each
 * answer comes only after the consumption and the journal's head record are fsync'd (group
 * commit). Then the same offline on a limited operation, where every consume is also decided
 * against the signed quota lease. Beside them, the naive way in the same run: one settings-store
 * write (whole file, atomic) per event.
 * Targets (issues 5 and 13): both ≥ 10,000 consumes/s and ≥ 20× the naive baseline.
 *
 * The machine may be shared, so the table is read with the load average printed above it: the
 * ratio to the naive store (both fsync-bound; each load's is measured right after it) and the
 * companion's CPU per consume move far less with the load than the absolute rates. That lease renewal adds at most one
 * request per sync is shown by test/integration/companion/leases.test.ts (it counts the requests).
 */

const CLIENTS = 16;
const WARMUP_MS = 1000;
const MEASURE_MS = 4000;
const BASELINE_MS = 3000;

/** What the load client measured, and every consume it made (warm-up included). */
interface ConsumeLoad extends LoadResult {
  total: number;
}

async function client(path: string, clients: number, seconds: number): Promise<ConsumeLoad> {
  const connections = await Promise.all(Array.from({ length: clients }, () => HostClient.connect(path)));
  let requests = 0;
  let total = 0;
  let measuring = false;
  let stop = false;
  const latencies: number[] = [];
  const worker = async (host: HostClient) => {
    while (!stop) {
      const started = performance.now();
      const outcome = await host.call('usage.consume', { operation: 'ai_operations' });
      if (!outcome.decision.allowed) throw new Error(`consume refused: ${outcome.decision.code}`);
      total += 1;
      if (measuring) {
        requests += 1;
        latencies.push(performance.now() - started);
      }
    }
  };
  const running = Promise.all(connections.map(worker));
  await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
  measuring = true;
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - start) / 1000;
  stop = true;
  await running;
  for (const connection of connections) connection.close();
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  return { requests, total, seconds: elapsed, p50: at(50), p99: at(99) };
}

/** The naive journal: append the event to an array in the settings store, rewriting the file each time. */
function naiveBaseline(dir: string): number {
  const store = openNodeStore(dir);
  const events: unknown[] = [];
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < BASELINE_MS) {
    events.push({ key: `naive-${count}`, operation: 'ai_operations', units: 1, at: Date.now() });
    store.set('pendingUsage', events);
    count += 1;
  }
  return count / ((performance.now() - started) / 1000);
}

/** Consumes over the host socket of an offline companion (lease-backed when leaseUnits is given). */
async function consumeLoad(dir: string, leaseUnits?: number) {
  const companion = await signedInOfflineCompanion(join(dir, 'home'), leaseUnits === undefined ? {} : { leaseUnits });
  const host = await HostSocketServer.listen({
    path: join(dir, 'companion.sock'),
    dispatch: (method, params) => companion.dispatch(method, params),
    state: companion.state,
  });
  try {
    const cpu = process.cpuUsage();
    const load = await runClientProcess<ConsumeLoad>(import.meta.filename, [
      host.path,
      String(CLIENTS),
      String(MEASURE_MS / 1000),
    ]);
    const used = process.cpuUsage(cpu);
    // This process is the companion while the client runs: its CPU per consume, warm-up included.
    return { ...load, cpuMicrosPerConsume: (used.user + used.system) / load.total };
  } finally {
    await host.close();
    await companion.close();
  }
}

/** A consume row and its latency and CPU rows, against the targets and the naive baseline. */
function consumeRows(name: string, load: Awaited<ReturnType<typeof consumeLoad>>, baseline: number): BenchRow[] {
  const rate = load.requests / load.seconds;
  return [
    {
      name,
      value: rate,
      unit: 'consumes/s',
      ceiling: baseline,
      target: `≥ 10,000/s and ≥ 20× naive (${(rate / baseline).toFixed(1)}×)`,
      pass: rate >= 10_000 && rate >= 20 * baseline,
      p50Ms: load.p50,
      p99Ms: load.p99,
      cpuMicrosPerConsume: load.cpuMicrosPerConsume,
    },
    { name: '  p50 / p99 latency', value: load.p50, unit: 'ms', target: `p99 ${load.p99.toFixed(2)} ms` },
    { name: '  companion CPU per consume', value: load.cpuMicrosPerConsume, unit: 'µs' },
  ];
}

async function measure() {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-journal-'));
  const loadBefore = loadavg();
  try {
    // Each load has the naive store measured right after it, so both see the same machine.
    const durable = await consumeLoad(join(dir, 'unlimited'));
    const durableBaseline = naiveBaseline(join(dir, 'naive-durable'));
    // Offline on a limited operation: every consume is decided against the signed quota lease too.
    const leased = await consumeLoad(join(dir, 'leased'), 10_000_000);
    const leasedBaseline = naiveBaseline(join(dir, 'naive-leased'));
    const rows: BenchRow[] = [
      ...consumeRows(`durable usage.consume, ${CLIENTS} clients over the socket`, durable, durableBaseline),
      ...consumeRows(`lease-backed offline usage.consume, ${CLIENTS} clients`, leased, leasedBaseline),
      { name: 'naive: one store.set (file rewrite) per event', value: durableBaseline, unit: 'consumes/s' },
      { name: '  the same, after the lease-backed load', value: leasedBaseline, unit: 'consumes/s' },
    ];
    const loadAfter = loadavg();
    const cores = availableParallelism();
    const averages = (load: number[]) => load.map((value) => value.toFixed(2)).join(' ');
    console.log(`load average before ${averages(loadBefore)}, after ${averages(loadAfter)} (${cores} cores)`);
    report('journal', rows, {
      clients: CLIENTS,
      measureSeconds: MEASURE_MS / 1000,
      baselineSeconds: BASELINE_MS / 1000,
      cores,
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAfter,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--client') {
  const [path, clients, seconds] = process.argv.slice(3);
  const result = await client(path as string, Number(clients), Number(seconds));
  process.stdout.write(JSON.stringify(result), () => process.exit(0));
} else {
  await measure();
}
