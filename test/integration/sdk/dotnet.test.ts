import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSocketPath as companionSocketPath } from '../../../src-main/host-socket.ts';
import { tempDir } from '../companion/harness.ts';
import { ed25519Cases, licenseCases } from './license-cases.ts';
import { readVectors } from './typescript-runner.ts';
import { openWorld, runChild, SOCKET_PATH_CASES, VECTORS_PATH, type World } from './world.ts';

// The C# SDK (sdk/dotnet) through the conformance vectors, built and run with Debian's Mono (.NET
// itself is not installable here; the .csproj is for `dotnet build`). The runner is a child process
// that asks this driver to change the world (`@do …`) between steps.

const SDK = join(import.meta.dirname, '..', '..', '..', 'sdk', 'dotnet');
const INSTALL = 'apt-get install -y mono-mcs mono-runtime libmono-posix4.0-cil';

const build = tempDir('tollgate-sdk-dotnet-');
let world: World;

beforeAll(async () => {
  world = await openWorld();
});

afterAll(async () => {
  await world?.close();
  build.remove();
});

function present(command: string): boolean {
  return spawnSync(command, ['--version'], { encoding: 'utf8' }).status === 0;
}

let built: string | undefined;

/** The SDK and its conformance runner, compiled once with mcs (the test fails here without Mono). */
function conformanceExe(): string {
  if (built) return built;
  expect(present('mcs') && present('mono'), `The C# SDK test needs Mono: ${INSTALL}`).toBe(true);
  const sources = [
    ...readdirSync(join(SDK, 'src'))
      .filter((name) => name.endsWith('.cs'))
      .map((name) => join(SDK, 'src', name)),
    join(SDK, 'conformance', 'Conformance.cs'),
  ];
  const exe = join(build.path, 'conformance.exe');
  const compiled = spawnSync(
    'mcs',
    ['-langversion:7', '-warnaserror+', '-r:System.Core.dll', '-r:System.Numerics.dll', `-out:${exe}`, ...sources],
    { encoding: 'utf8' },
  );
  expect(compiled.status, `mcs failed:\n${compiled.stdout}${compiled.stderr}`).toBe(0);
  built = exe;
  return exe;
}

describe('the C# host SDK', () => {
  it('verifies Ed25519 and license tokens itself, and refuses forged, edited and alg-swapped ones', () => {
    const ed25519 = ed25519Cases();
    const licenses = licenseCases(Math.floor(Date.now() / 1000));
    const run = spawnSync('mono', ['--debug', conformanceExe(), '--verify'], {
      encoding: 'utf8',
      input: JSON.stringify({ ed25519, licenses }),
    });
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
    expect(run.stdout).toContain(`${ed25519.length + licenses.length} checks, 0 failed`);
  });

  it("passes the conformance vectors under Mono, verifying the real companion's license", async () => {
    const exe = conformanceExe();
    const run = await runChild('mono', ['--debug', exe], world);
    expect(run.code, run.report).toBe(0);
    expect(run.output).toContain(`${readVectors(VECTORS_PATH).steps.length} steps, 0 failed`);
    expect(world.fakeConsumeKeys).toHaveLength(2);
    expect(new Set(world.fakeConsumeKeys).size).toBe(1);

    // Socket discovery (on this OS; the Windows pipe is the platform's), by the built runner.
    for (const { env, platform } of SOCKET_PATH_CASES) {
      if (platform !== 'linux') continue;
      const found = spawnSync('mono', [exe, '--socket-path'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', HOME: '/home/ada', ...env },
      });
      expect(found.stdout.trim(), found.stderr).toBe(companionSocketPath(env, platform, '/home/ada'));
    }
  });
});
