import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseVendorConfig } from '../../../src-main/vendor-config.ts';

const REPO_FILE = JSON.parse(readFileSync(join(import.meta.dirname, '../../../vendor.config.json'), 'utf8'));

const VALID = {
  appId: 'com.acme.studio.companion',
  productName: 'Acme Studio',
  publisher: 'Acme Inc. <support@acme.example>',
  icon: 'assets/icon.png',
  serverUrl: 'https://billing.acme.example',
  licenseKeys: {
    keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', kid: '2026-01' }],
  },
  updates: { provider: 'generic', url: 'https://updates.acme.example/studio' },
};

describe('vendor.config.json', () => {
  it('the repository’s own file is valid: the local server and no update feed', () => {
    expect(parseVendorConfig(REPO_FILE)).toMatchObject({ serverUrl: 'http://127.0.0.1:8787', updates: null });
  });

  it('takes a vendor’s settings, defaulting the update channel to latest', () => {
    expect(parseVendorConfig(VALID).updates).toEqual({
      provider: 'generic',
      url: 'https://updates.acme.example/studio',
      channel: 'latest',
    });
    const s3 = parseVendorConfig({
      ...VALID,
      updates: { provider: 's3', bucket: 'acme-updates', region: 'eu-west-1', channel: 'beta' },
    });
    expect(s3.updates).toEqual({
      provider: 's3',
      bucket: 'acme-updates',
      region: 'eu-west-1',
      path: '',
      channel: 'beta',
    });
  });

  const refused: [string, Record<string, unknown>][] = [
    ['a plain-http server elsewhere', { serverUrl: 'http://billing.acme.example' }],
    ['a server URL with credentials', { serverUrl: 'https://user:pw@billing.acme.example' }],
    ['an http update feed', { updates: { provider: 'generic', url: 'http://updates.acme.example' } }],
    ['an unknown feed provider', { updates: { provider: 'github', owner: 'acme' } }],
    ['a private key among the pinned keys', { licenseKeys: { keys: [{ ...VALID.licenseKeys.keys[0], d: 'secret' }] } }],
    ['a key of another algorithm', { licenseKeys: { keys: [{ kty: 'RSA', n: 'x', e: 'AQAB', kid: 'a' }] } }],
    ['an icon outside the repository', { icon: '../../etc/icon.png' }],
    ['an app id that is not reverse-DNS', { appId: 'acme studio' }],
    ['a publisher without an email', { publisher: 'Acme Inc.' }],
    ['an unknown field', { telemetryUrl: 'https://t.example' }],
  ];
  it.each(refused)('refuses %s, naming the field', (_name, patch) => {
    expect(() => parseVendorConfig({ ...VALID, ...patch })).toThrow(
      /vendor\.config\.json is not a valid vendor configuration:\n {2}\S/,
    );
  });
});
