import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRenderer } from '../support/renderer-site.ts';

const ROOT = join(import.meta.dirname, '..', '..');

export interface RunningCompanion {
  pageUrl: string;
  socket: string;
  stop(): Promise<void>;
}

/**
 * A build of today's src-renderer in a folder of the test file's own: the browser test files run
 * side by side, and one rebuilding a shared out/web would pull the page from under another.
 */
export async function buildOwnRenderer(): Promise<{ dir: string; remove(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-ui-build-'));
  await buildRenderer(dir);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * `npm run companion -- --web` as a child process, with its own TOLLGATE_HOME and socket, serving
 * the renderer built in `ui` (buildOwnRenderer), syncing every `syncMs` (retries too), so "updates
 * by itself" happens within a test's patience.
 */
export async function startCompanion(serverUrl: string, syncMs: string, ui: string): Promise<RunningCompanion> {
  const home = mkdtempSync(join(tmpdir(), 'tollgate-ui-home-'));
  const socket = join(home, 'companion.sock');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src-main', 'cli.ts'), '--web'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      TOLLGATE_HOME: home,
      TOLLGATE_SERVER_URL: serverUrl,
      TOLLGATE_SOCKET: socket,
      TOLLGATE_SYNC_INTERVAL_MS: syncMs,
      TOLLGATE_SYNC_RETRY_MAX_MS: syncMs,
      TOLLGATE_RENDERER_DIR: ui,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(home, { recursive: true, force: true });
  };
  const pageUrl = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`companion did not start:\n${output}`)), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Open the companion: (\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`companion exited (${code}) before serving:\n${output}`));
    });
  }).catch(async (error: Error) => {
    await stop();
    throw error;
  });
  return { pageUrl, socket, stop };
}
