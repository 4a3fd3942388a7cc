import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { electronBinary } from '../src-main/cli.ts';
import { ensureRendererBuild, REPO_ROOT } from '../src-main/renderer-build.ts';

/**
 * `npm start`, the newcomer's first command: the billing server on its embedded default (SQLite in
 * .tollgate/server) and the companion pointed at it (data in .tollgate/companion) — the Electron
 * window, or, where the Electron binary is missing, the same UI in the browser (--web). Ctrl+C stops both.
 */

const serverPort = process.env.TOLLGATE_PORT ?? '8787';
const children: ChildProcess[] = [];

function stopAll(code: number): never {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  process.exit(code);
}
process.once('SIGINT', () => stopAll(0));
process.once('SIGTERM', () => stopAll(0));

async function serverAlreadyRunning(url: string): Promise<boolean> {
  try {
    const response = await fetch(new URL('/v1/plans', url), { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

function startServer(): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src-server', 'cli.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, TOLLGATE_PORT: serverPort },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      output += chunk.toString();
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      if (url) resolve(url);
    });
    child.once('exit', (code) => reject(new Error(`The billing server stopped (exit ${code}) before it was ready.`)));
  });
}

async function main(): Promise<void> {
  const defaultUrl = `http://127.0.0.1:${serverPort}`;
  let serverUrl = process.env.TOLLGATE_SERVER_URL;
  if (!serverUrl && (await serverAlreadyRunning(defaultUrl))) {
    console.log(`A billing server is already answering on ${defaultUrl}; the companion will use it.`);
    serverUrl = defaultUrl;
  }
  serverUrl ??= await startServer();
  const electron = electronBinary();
  if (!electron) {
    console.log('\nThe Electron binary is not installed on this machine (it could not be downloaded), so the');
    console.log('companion opens in your browser instead (--web mode). Building the UI…');
    await ensureRendererBuild({ rebuild: true });
  }
  console.log(`\nBilling server: ${serverUrl}   (API docs: ${serverUrl}/docs)`);
  const companion = spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin', 'tollgate.mjs'), ...(electron ? [] : ['--web', '--open'])],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        TOLLGATE_SERVER_URL: serverUrl,
        TOLLGATE_HOME: process.env.TOLLGATE_HOME ?? join(REPO_ROOT, '.tollgate', 'companion'),
      },
      stdio: 'inherit',
    },
  );
  children.push(companion);
  companion.once('exit', (code) => stopAll(code ?? 0));
}

main().catch((error: Error) => {
  console.error(error.message);
  stopAll(1);
});
