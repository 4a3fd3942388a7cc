import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSocketPath as companionSocketPath } from '../../../src-main/host-socket.ts';
import { readVectors } from './typescript-runner.ts';
import { openWorld, runChild, SOCKET_PATH_CASES, VECTORS_PATH, type World } from './world.ts';

// The Python SDK (sdk/python) through the conformance vectors: its runner is a child process that
// asks this driver to change the world (`@do …`) between steps.

const SDK = join(import.meta.dirname, '..', '..', '..', 'sdk', 'python');
// Debian's interpreter sees Debian's python3-cryptography; a pyenv `python3` may not.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

let world: World;

beforeAll(async () => {
  world = await openWorld();
});

afterAll(async () => {
  await world?.close();
});

describe('the Python host SDK', () => {
  it('has cryptography for license verification', () => {
    const probe = spawnSync(PYTHON, ['-c', 'import cryptography'], { encoding: 'utf8' });
    expect(probe.status, `${PYTHON} lacks cryptography: apt-get install python3-cryptography\n${probe.stderr}`).toBe(0);
  });

  it('passes the conformance vectors', async () => {
    const run = await runChild(PYTHON, [join(SDK, 'tests', 'conformance.py')], world);
    expect(run.code, run.report).toBe(0);
    expect(run.output).toContain(`${readVectors(VECTORS_PATH).steps.length} steps, 0 failed`);
    expect(new Set(world.fakeConsumeKeys).size).toBe(1);
    expect(world.fakeConsumeKeys).toHaveLength(2);
  });

  it('says what to install when cryptography is missing', () => {
    const script = [
      'import sys; sys.modules["cryptography"] = None',
      `sys.path.insert(0, ${JSON.stringify(join(SDK, 'src'))})`,
      'from tollgate import verify_license_token, LicenseVerificationUnavailable',
      'try:\n    verify_license_token("a.b.c", {"keys": []})\nexcept LicenseVerificationUnavailable as e:\n    print(e.code, e)',
    ].join('\n');
    const run = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^LICENSE_VERIFICATION_UNAVAILABLE .*cryptography/);
  });

  it('looks for the socket where the companion listens', () => {
    for (const { env, platform } of SOCKET_PATH_CASES) {
      if (platform === 'win32') continue; // the pipe name needs the Windows user name
      const script = `import sys, json; sys.path.insert(0, ${JSON.stringify(join(SDK, 'src'))})
from tollgate import default_socket_path
print(default_socket_path(json.loads(sys.argv[1]), sys.argv[2], "/home/ada"))`;
      const run = spawnSync(PYTHON, ['-c', script, JSON.stringify(env), platform], { encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.stdout.trim()).toBe(companionSocketPath(env, platform, '/home/ada'));
    }
  });
});
