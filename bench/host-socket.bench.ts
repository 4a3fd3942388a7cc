import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostSocketServer } from '../src-main/host-socket.ts';
import { type LoadResult, runClientProcess, signedInOfflineCompanion } from './companion-fixture.ts';
import { type BenchRow, percentile, report } from './report.ts';

/**
 * gate.check over the host socket, beside a bare newline echo server on the same kind of socket in
 * the same run (the ceiling: what the socket and the client cost with no work at all). Clients run
 * in a separate process; each sends one request, waits for its answer, and repeats.
 * Targets (issue 5): ≥ 70 % of the echo rate; p99 < 0.5 ms with one client.
 */

const WARMUP_SECONDS = 1;
const MEASURE_SECONDS = 3;
const ROUNDS = 5;
const REQUEST = `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'gate.check', params: { feature: 'sso' } })}\n`;

async function client(path: string, clients: number, seconds: number): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let requests = 0;
  let measuring = false;
  let stop = false;
  const worker = () =>
    new Promise<void>((resolve, reject) => {
      const socket = createConnection(path);
      socket.setEncoding('utf8');
      let buffer = '';
      let sentAt = 0;
      const send = () => {
        if (stop) {
          socket.destroy();
          resolve();
          return;
        }
        sentAt = performance.now();
        socket.write(REQUEST);
      };
      socket.on('connect', send);
      socket.on('error', reject);
      socket.on('data', (chunk: string) => {
        buffer += chunk;
        let newline = buffer.indexOf('\n');
        while (newline !== -1) {
          buffer = buffer.slice(newline + 1);
          if (measuring) {
            requests += 1;
            latenciesMs.push(performance.now() - sentAt);
          }
          send();
          newline = buffer.indexOf('\n');
        }
      });
    });
  const running = Promise.all(Array.from({ length: clients }, worker));
  await new Promise((resolve) => setTimeout(resolve, WARMUP_SECONDS * 1000));
  measuring = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - started) / 1000;
  stop = true;
  await running;
  return { requests, seconds: elapsed, p50: percentile(latenciesMs, 50), p99: percentile(latenciesMs, 99) };
}

function median(runs: LoadResult[]): LoadResult {
  const sorted = [...runs].sort((a, b) => a.requests / a.seconds - b.requests / b.seconds);
  return sorted[Math.floor(sorted.length / 2)] as LoadResult;
}

async function echoServer(path: string) {
  const server = createServer((socket) => {
    socket.setEncoding('utf8');
    let buffer = '';
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let newline = buffer.indexOf('\n');
      while (newline !== -1) {
        socket.write(`${buffer.slice(0, newline)}\n`);
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return server;
}

async function measure() {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-socket-'));
  const companion = await signedInOfflineCompanion(join(dir, 'home'));
  const host = await HostSocketServer.listen({
    path: join(dir, 'companion.sock'),
    dispatch: (method, params) => companion.dispatch(method, params),
    state: companion.state,
  });
  const echo = await echoServer(join(dir, 'echo.sock'));
  const rows: BenchRow[] = [];
  try {
    for (const clients of [1, 16]) {
      const script = import.meta.filename;
      const args = (path: string) => [path, String(clients), String(MEASURE_SECONDS)];
      // Alternate ceiling and target and keep each one's median run: the machine's other load drifts.
      const ceilings: LoadResult[] = [];
      const targets: LoadResult[] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        ceilings.push(await runClientProcess(script, args(join(dir, 'echo.sock'))));
        targets.push(await runClientProcess(script, args(host.path)));
      }
      const ceiling = median(ceilings);
      const target = median(targets);
      const rate = target.requests / target.seconds;
      const echoRate = ceiling.requests / ceiling.seconds;
      rows.push({
        name: `gate.check, ${clients} client${clients > 1 ? 's' : ''}`,
        value: rate,
        unit: 'checks/s',
        ceiling: echoRate,
        target: '≥ 70 % of echo',
        pass: rate >= 0.7 * echoRate,
      });
      const { p99 } = target;
      rows.push({
        name: `  p50 latency (p99 in target column), ${clients} client${clients > 1 ? 's' : ''}`,
        value: target.p50,
        unit: 'ms',
        p99,
        ceiling: ceiling.p50,
        target: clients === 1 ? `p99 ${p99.toFixed(3)} ms < 0.5 ms` : `p99 ${p99.toFixed(3)} ms`,
        ...(clients === 1 ? { pass: p99 < 0.5 } : {}),
      });
    }
  } finally {
    echo.close();
    await host.close();
    await companion.close();
    rmSync(dir, { recursive: true, force: true });
  }
  report('host-socket', rows, { warmupSeconds: WARMUP_SECONDS, measureSeconds: MEASURE_SECONDS, rounds: ROUNDS });
}

if (process.argv[2] === '--client') {
  const [path, clients, seconds] = process.argv.slice(3);
  const result = await client(path as string, Number(clients), Number(seconds));
  process.stdout.write(JSON.stringify(result), () => process.exit(0));
} else {
  await measure();
}
