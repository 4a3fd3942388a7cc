import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sdkKeyFiles } from '../../scripts/sdk-keys.mjs';
import { VENDOR_KEYS } from '../../sdk/typescript/src/vendor-keys.ts';
import vendor from '../../vendor.config.json' with { type: 'json' };

// Every host SDK embeds the license keys the companion is built with (vendor.config.json
// `licenseKeys`), written by `npm run sdk:keys`. A vendor who changes the config and forgets to
// regenerate gets a red test here, not SDKs that refuse (or still trust) the wrong keys.

const ROOT = join(import.meta.dirname, '..', '..');
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** The public part of the configured keys, as the SDKs embed them. */
const configured = {
  keys: vendor.licenseKeys.keys.map(({ kty, crv, x, kid, alg, use }) => ({ kty, crv, x, kid, alg, use })),
};

describe('the host SDKs embed exactly the license keys the companion is built with', () => {
  it('has keys to embed', () => {
    expect(configured.keys.length).toBeGreaterThan(0);
  });

  it('TypeScript: sdk/typescript/src/vendor-keys.ts', () => {
    expect(VENDOR_KEYS).toEqual(configured);
  });

  it('Python: tollgate.VENDOR_KEYS, as the interpreter imports it', () => {
    const run = spawnSync(
      PYTHON,
      [
        '-c',
        'import json, sys; sys.path.insert(0, sys.argv[1]); import tollgate; print(json.dumps(tollgate.VENDOR_KEYS))',
        join(ROOT, 'sdk', 'python', 'src'),
      ],
      { encoding: 'utf8' },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(configured);
  });

  it('C#: VendorKeys.Jwks, the verbatim string literal the compiler reads', () => {
    const source = readFileSync(join(ROOT, 'sdk', 'dotnet', 'src', 'VendorKeys.cs'), 'utf8');
    const literal = /public const string Jwks = @"((?:[^"]|"")*)";/.exec(source);
    expect(literal, 'VendorKeys.cs declares `public const string Jwks = @"…";`').not.toBeNull();
    expect(JSON.parse((literal?.[1] ?? '').replaceAll('""', '"'))).toEqual(configured);
  });

  it('`npm run sdk:keys -- --check` agrees: the committed files are what the script writes', () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'scripts', 'sdk-keys.mjs'), '--check'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
  });

  it('never embeds a private key, and refuses an empty key set', () => {
    const [key] = vendor.licenseKeys.keys;
    expect(() => sdkKeyFiles({ licenseKeys: { keys: [{ ...key, d: 'secret' }] } })).toThrow(/PRIVATE/);
    expect(() => sdkKeyFiles({ licenseKeys: { keys: [] } })).toThrow(/no licenseKeys/);
  });
});
