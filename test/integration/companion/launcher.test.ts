import { spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureElectron, fallbackMessage } from '../../../scripts/electron.ts';
import { runTollgate, tempDir } from './harness.ts';

/**
 * `tollgate` (and `npm start`, which asks the same launcher) opens the Electron window when an
 * Electron binary can be had, fetching it through Electron's own installer on first use, and falls
 * back to the browser only when that fails, saying why. Electron cannot be downloaded here, so the
 * window path runs a stand-in distribution (ELECTRON_OVERRIDE_DIST_PATH, honoured by Electron's own
 * tooling too) that records how it was started.
 */

const ROOT = join(import.meta.dirname, '..', '..', '..');
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function owned<T extends { remove(): void }>(dir: T): T {
  cleanups.push(() => dir.remove());
  return dir;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the companion launcher', () => {
  it('starts the Electron window with the server URL and data folder when a binary is there', async () => {
    const dist = owned(tempDir('tollgate-electron-dist-'));
    const home = owned(tempDir('tollgate-launcher-home-'));
    const record = join(dist.path, 'started.txt');
    writeFileSync(
      join(dist.path, 'electron'),
      `#!/bin/sh\n{ echo "argv:$*"; echo "server:$TOLLGATE_SERVER_URL"; echo "home:$TOLLGATE_HOME"; } > "${record}"\n`,
    );
    chmodSync(join(dist.path, 'electron'), 0o755);

    const run = await runTollgate([], {
      TOLLGATE_HOME: home.path,
      TOLLGATE_SOCKET: join(home.path, 'companion.sock'),
      TOLLGATE_SERVER_URL: 'http://127.0.0.1:9',
      ELECTRON_OVERRIDE_DIST_PATH: dist.path,
    });

    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).not.toContain('cannot start');
    expect(readFileSync(record, 'utf8').split('\n')).toEqual([
      `argv:${ROOT}`,
      'server:http://127.0.0.1:9',
      `home:${home.path}`,
      '',
    ]);
  });

  it("reports why Electron's own installer could not fetch the binary", async () => {
    // A copy of the electron package without a downloaded dist, its downloads sent to a closed port.
    const copy = mkdtempSync(join(ROOT, 'node_modules', '.tollgate-test-electron-'));
    cleanups.push(() => rmSync(copy, { recursive: true, force: true }));
    cpSync(join(ROOT, 'node_modules', 'electron'), copy, {
      recursive: true,
      filter: (source) => !/[\\/](dist|path\.txt)$/.test(source),
    });
    const cache = owned(tempDir('tollgate-electron-cache-'));
    const port = await closedPort();

    const electron = ensureElectron(
      {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ELECTRON_MIRROR: `http://127.0.0.1:${port}/`,
        electron_config_cache: cache.path,
        ELECTRON_GET_NO_PROGRESS: '1',
      },
      copy,
    );

    expect(electron.ok).toBe(false);
    if (electron.ok) return;
    expect(electron.reason).toMatch(/ECONNREFUSED|fetch failed/);
    const message = fallbackMessage(electron.reason);
    expect(message).toContain(electron.reason);
    expect(message).toContain('opens in your browser');
    expect(message).toContain('To retry');
  });

  it('falls back to the browser UI, saying why, when no binary can be had', async () => {
    const emptyDist = owned(tempDir('tollgate-electron-empty-'));
    const home = owned(tempDir('tollgate-launcher-home-'));
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'tollgate.mjs')], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        TOLLGATE_HOME: home.path,
        TOLLGATE_SOCKET: join(home.path, 'companion.sock'),
        TOLLGATE_SERVER_URL: 'http://127.0.0.1:9',
        ELECTRON_OVERRIDE_DIST_PATH: emptyDist.path,
        // The browser the fallback opens: a no-op here (xdg-open honours $BROWSER).
        BROWSER: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => child.kill('SIGKILL'));
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no browser UI within 150 s:\n${output}`)), 150_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (/http:\/\/127\.0\.0\.1:\d+\//.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`tollgate exited (${code}) before serving the UI:\n${output}`));
      });
    });

    expect(output).toContain(`The Electron window cannot start: ELECTRON_OVERRIDE_DIST_PATH is ${emptyDist.path}`);
    expect(output).toContain('opens in your browser instead (--web)');
  });
});
