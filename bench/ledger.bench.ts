import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostClient } from '../src-main/host-client.ts';
import { HostSocketServer } from '../src-main/host-socket.ts';
import { openNodeStore } from '../src-main/settings-store.ts';
import { runClientProcess, signedInOfflineCompanion } from './companion-fixture.ts';
import { type BenchRow, report } from './report.ts';

/**
 * Durable usage.consume: host clients (16, in a separate process) consume over the socket; each
 * answer comes only after the consumption is fsync'd in the usage journal (group commit). Beside it,
 * the naive way in the same run: one settings-store write (whole file, atomic) per event.
 * Targets (issue 5): ≥ 10,000 consumes/s and ≥ 20× the naive baseline.
 */

const CLIENTS = 16;
const WARMUP_MS = 1000;
const MEASURE_MS = 4000;
const BASELINE_MS = 3000;

async function client(path: string, clients: number, seconds: number) {
  const connections = await Promise.all(Array.from({ length: clients }, () => HostClient.connect(path)));
  let requests = 0;
  let measuring = false;
  let stop = false;
  const latencies: number[] = [];
  const worker = async (host: HostClient) => {
    while (!stop) {
      const started = performance.now();
      const outcome = await host.call('usage.consume', { operation: 'ai_operations' });
      if (!outcome.decision.allowed) throw new Error(`consume refused: ${outcome.decision.code}`);
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
  return { requests, seconds: elapsed, p50: at(50), p99: at(99) };
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
    return await runClientProcess(import.meta.filename, [host.path, String(CLIENTS), String(MEASURE_MS / 1000)]);
  } finally {
    await host.close();
    await companion.close();
  }
}

async function measure() {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-journal-'));
  try {
    const load = await consumeLoad(join(dir, 'unlimited'));
    // Offline on a limited operation: every consume is decided against the signed quota lease too.
    const leased = await consumeLoad(join(dir, 'leased'), 10_000_000);
    const baseline = naiveBaseline(join(dir, 'naive'));
    const rate = load.requests / load.seconds;
    const leasedRate = leased.requests / leased.seconds;
    const rows: BenchRow[] = [
      {
        name: `durable usage.consume, ${CLIENTS} clients over the socket`,
        value: rate,
        unit: 'consumes/s',
        ceiling: baseline,
        target: '≥ 10,000/s and ≥ 20× naive',
        pass: rate >= 10_000 && rate >= 20 * baseline,
        p50Ms: load.p50,
        p99Ms: load.p99,
      },
      { name: '  p50 / p99 consume latency', value: load.p50, unit: 'ms', target: `p99 ${load.p99.toFixed(2)} ms` },
      {
        name: `lease-backed offline usage.consume, ${CLIENTS} clients`,
        value: leasedRate,
        unit: 'consumes/s',
        ceiling: baseline,
        target: '≥ 10,000/s and ≥ 20× naive',
        pass: leasedRate >= 10_000 && leasedRate >= 20 * baseline,
        p50Ms: leased.p50,
        p99Ms: leased.p99,
      },
      {
        name: '  p50 / p99 lease-backed latency',
        value: leased.p50,
        unit: 'ms',
        target: `p99 ${leased.p99.toFixed(2)} ms`,
      },
      { name: 'naive: one store.set (file rewrite) per event', value: baseline, unit: 'consumes/s' },
    ];
    report('journal', rows, {
      clients: CLIENTS,
      measureSeconds: MEASURE_MS / 1000,
      baselineSeconds: BASELINE_MS / 1000,
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
