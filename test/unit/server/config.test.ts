import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, isLoopbackUrl, loadConfig } from '../../../src-server/config.ts';
import { defaultCatalog } from '../../../src-shared/catalog.ts';

describe('server configuration', () => {
  it('defaults to port 8787 on 127.0.0.1 with SQLite under ./.tollgate/server', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config).toMatchObject({
      port: 8787,
      host: '127.0.0.1',
      dataDir: '/srv/app/.tollgate/server',
      databaseUrl: null,
      redisUrl: null,
      adminToken: null,
      publicUrl: 'http://127.0.0.1:8787',
      pastDueGraceMs: 7 * 24 * 3600 * 1000,
      offlineGraceMs: 7 * 24 * 3600 * 1000,
      logLevel: 'info',
    });
    expect(config.catalog).toEqual(defaultCatalog);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      TOLLGATE_PORT: '9000',
      TOLLGATE_HOST: '0.0.0.0',
      TOLLGATE_DATA_DIR: '/var/lib/tollgate',
      TOLLGATE_DATABASE_URL: 'postgres://u@db:5432/tollgate',
      TOLLGATE_REDIS_URL: 'redis://cache:6379',
      TOLLGATE_ADMIN_TOKEN: 'an-admin-token-of-length-0123456789',
      TOLLGATE_PUBLIC_URL: 'https://billing.example.com/',
      TOLLGATE_PAST_DUE_GRACE_DAYS: '3',
      TOLLGATE_OFFLINE_GRACE_DAYS: '14',
      TOLLGATE_LOG_LEVEL: 'warn',
      STRIPE_SECRET_KEY: 'sk_test_x',
      STRIPE_WEBHOOK_SECRET: 'whsec_x',
      STRIPE_API_BASE: 'http://127.0.0.1:12111',
    });
    expect(config).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      dataDir: '/var/lib/tollgate',
      databaseUrl: 'postgres://u@db:5432/tollgate',
      redisUrl: 'redis://cache:6379',
      publicUrl: 'https://billing.example.com',
      pastDueGraceMs: 3 * 24 * 3600 * 1000,
      offlineGraceMs: 14 * 24 * 3600 * 1000,
      logLevel: 'warn',
      stripe: { secretKey: 'sk_test_x', webhookSecret: 'whsec_x', apiBase: 'http://127.0.0.1:12111' },
    });
  });

  it.each([
    ['TOLLGATE_PORT', 'eighty'],
    ['TOLLGATE_PORT', '70000'],
    ['TOLLGATE_DATABASE_URL', 'mysql://db/tollgate'],
    ['TOLLGATE_REDIS_URL', 'http://cache'],
    ['TOLLGATE_ADMIN_TOKEN', 'short'],
    ['TOLLGATE_PUBLIC_URL', 'ftp://example.com'],
    ['TOLLGATE_PAST_DUE_GRACE_DAYS', '-1'],
    ['TOLLGATE_OFFLINE_GRACE_DAYS', 'a week'],
    ['TOLLGATE_LOG_LEVEL', 'loud'],
    ['TOLLGATE_CATALOG', '/no/such/catalog.json'],
  ])('stops on a bad %s (%s) with a message naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });

  it('loads a vendor catalog and names its bad fields', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
    const good = join(dir, 'good.json');
    const tiers = defaultCatalog.tiers.map((tier) =>
      tier.id === 'free' ? { ...tier, limits: { ...tier.limits, api_calls_per_hour: 30 } } : tier,
    );
    writeFileSync(good, JSON.stringify({ ...defaultCatalog, tiers }));
    expect(loadConfig({ TOLLGATE_CATALOG: good }).catalog.tiers[0]?.limits.api_calls_per_hour).toBe(30);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...defaultCatalog, currency: 'dollars' }));
    expect(() => loadConfig({ TOLLGATE_CATALOG: bad })).toThrow(/TOLLGATE_CATALOG[\s\S]*currency/);
  });

  it('takes payments from Stripe with a key, fakes them only when asked, and otherwise takes none', () => {
    expect(loadConfig({}).payments).toBe('disabled');
    expect(loadConfig({ STRIPE_SECRET_KEY: 'sk_test_x' }).payments).toBe('stripe');
    expect(loadConfig({ TOLLGATE_PAYMENTS: 'local' }).payments).toBe('local');
    expect(loadConfig({ TOLLGATE_PAYMENTS: 'local', TOLLGATE_PUBLIC_URL: 'http://localhost:3000' }).payments).toBe(
      'local',
    );
    expect(
      loadConfig({
        TOLLGATE_PAYMENTS: 'local',
        TOLLGATE_PUBLIC_URL: 'https://billing.example.com',
        TOLLGATE_FORCE_LOCAL_PAYMENTS: '1',
      }).payments,
    ).toBe('local');
    // Listening on every interface with no public URL is not loopback either.
    expect(() => loadConfig({ TOLLGATE_PAYMENTS: 'local', TOLLGATE_HOST: '0.0.0.0' })).toThrow(
      /TOLLGATE_FORCE_LOCAL_PAYMENTS=1/,
    );
  });

  it.each([
    ['http://127.0.0.1:8787', true],
    ['http://127.45.0.9', true],
    ['http://localhost:1', true],
    ['http://[::1]:8787', true],
    ['http://0.0.0.0:8787', false],
    ['http://127.0.0.1.evil.example', false],
    ['http://localhost.evil.example', false],
    ['https://billing.example.com', false],
    ['http://10.0.0.1', false],
  ])('%s is loopback: %s', (url, loopback) => {
    expect(isLoopbackUrl(url)).toBe(loopback);
  });
});
