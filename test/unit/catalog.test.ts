import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalogFile } from '../../src-server/plans/catalog-file.ts';
import {
  CatalogError,
  defaultCatalog,
  effectiveFeatures,
  findTier,
  type Limits,
  parseCatalog,
  tiersByPrice,
  yearlySavingCents,
} from '../../src-shared/catalog.ts';

const clone = <T>(value: T): T => structuredClone(value);

describe('default catalog (the seed, exactly)', () => {
  it('has the four tiers with the seed limits, features and prices', () => {
    const free = findTier(defaultCatalog, 'free');
    expect(free.limits).toEqual({
      monthly: { ai_operations: 5, data_processing: 2 },
      max_project_size_mb: 50,
      api_calls_per_hour: 10,
      max_devices: 1,
    });
    expect(free.support_level).toBe('community');
    expect(free.features).toEqual(['basic_processing', 'simple_validation']);
    expect(free.prices).toEqual({ monthly_cents: 0, yearly_cents: 0, setup_fee_cents: 0 });

    const pro = findTier(defaultCatalog, 'professional');
    expect(pro.limits).toEqual({
      monthly: { ai_operations: 100, data_processing: 20 },
      max_project_size_mb: 500,
      api_calls_per_hour: 100,
      max_devices: 3,
    });
    expect(pro.support_level).toBe('email');
    expect(pro.features).toEqual(['advanced_processing', 'compliance_check', 'export_formats', 'integrations']);
    expect(pro.prices).toEqual({ monthly_cents: 4900, yearly_cents: 49000, setup_fee_cents: 0 });

    const enterprise = findTier(defaultCatalog, 'enterprise');
    expect(enterprise.limits).toEqual({
      monthly: { ai_operations: -1, data_processing: -1 },
      max_project_size_mb: -1,
      api_calls_per_hour: 1000,
      max_devices: -1,
    });
    expect(enterprise.support_level).toBe('priority');
    expect(enterprise.features).toEqual(['all_features', 'custom_models', 'white_label', 'sso', 'dedicated_support']);
    expect(enterprise.prices).toEqual({ monthly_cents: 19900, yearly_cents: 199000, setup_fee_cents: 50000 });

    expect(findTier(defaultCatalog, 'custom').prices).toBe('negotiated');
  });

  it('orders tiers by price with negotiated last', () => {
    expect(tiersByPrice(defaultCatalog).map((tier) => tier.id)).toEqual([
      'free',
      'professional',
      'enterprise',
      'custom',
    ]);
  });

  it('makes features cumulative so an upgrade never loses one', () => {
    expect(effectiveFeatures(defaultCatalog, 'professional')).toEqual(
      expect.arrayContaining(['basic_processing', 'simple_validation', 'advanced_processing', 'integrations']),
    );
    expect(effectiveFeatures(defaultCatalog, 'free')).not.toContain('advanced_processing');
  });

  it('reports the yearly saving (two months free)', () => {
    expect(yearlySavingCents(findTier(defaultCatalog, 'professional'))).toBe(9800);
    expect(yearlySavingCents(findTier(defaultCatalog, 'enterprise'))).toBe(39800);
  });
});

describe('bad catalogs are refused with a message naming the field', () => {
  const cases: Array<[string, (data: ReturnType<typeof clone<typeof defaultCatalog>>) => unknown, RegExp]> = [
    [
      'a limit that is text',
      (data) => {
        (data.tiers[1] as { limits: { monthly: Record<string, unknown> } }).limits.monthly.ai_operations = 'lots';
        return data;
      },
      /tiers\[1\]\.limits\.monthly\.ai_operations: expected a whole number/,
    ],
    [
      'a negative price',
      (data) => {
        (data.tiers[2] as { prices: { monthly_cents: number } }).prices.monthly_cents = -5;
        return data;
      },
      /tiers\[2\]\.prices/,
    ],
    [
      'a fractional limit',
      (data) => {
        data.tiers[0]!.limits.max_project_size_mb = 2.5;
        return data;
      },
      /tiers\[0\]\.limits\.max_project_size_mb/,
    ],
    [
      'a limit below -1',
      (data) => {
        data.tiers[0]!.limits.api_calls_per_hour = -2;
        return data;
      },
      /tiers\[0\]\.limits\.api_calls_per_hour: expected -1 \(unlimited\)/,
    ],
    [
      'a device limit below -1',
      (data) => {
        data.tiers[1]!.limits.max_devices = -3;
        return data;
      },
      /tiers\[1\]\.limits\.max_devices: expected -1 \(unlimited\)/,
    ],
    [
      'a missing device limit',
      (data) => {
        delete (data.tiers[0]!.limits as Partial<Limits>).max_devices;
        return data;
      },
      /tiers\[0\]\.limits\.max_devices/,
    ],
    [
      'an unknown tier id',
      (data) => {
        (data.tiers[1] as { id: string }).id = 'gold';
        return data;
      },
      /tiers\[1\]\.id/,
    ],
    [
      'a missing operation limit',
      (data) => {
        delete (data.tiers[1]!.limits.monthly as Record<string, number>).data_processing;
        return data;
      },
      /tiers\[1\]\.limits\.monthly\.data_processing: missing/,
    ],
    [
      'no free tier',
      (data) => {
        data.tiers = data.tiers.filter((tier) => tier.id !== 'free');
        return data;
      },
      /"free" tier is required/,
    ],
    [
      'a duplicated tier',
      (data) => {
        data.tiers.push(clone(data.tiers[1]!));
        return data;
      },
      /tier "professional" appears twice/,
    ],
    [
      'a misspelt key',
      (data) => {
        (data.tiers[0] as Record<string, unknown>).feature = [];
        return data;
      },
      /tiers\[0\]: Unrecognized key: "feature"/,
    ],
    [
      'a trial of the free tier',
      (data) => ({ ...data, trial: { tier: 'free', days: 14 } }),
      /trial\.tier: a trial gives a paid tier with a price list, not "free"/,
    ],
    [
      'a trial of a negotiated tier',
      (data) => ({ ...data, trial: { tier: 'custom', days: 14 } }),
      /trial\.tier: a trial gives a paid tier with a price list, not "custom"/,
    ],
    [
      'a trial of a tier the catalog lacks',
      (data) => ({
        ...data,
        tiers: data.tiers.filter((tier) => tier.id !== 'enterprise'),
        trial: { tier: 'enterprise', days: 7 },
      }),
      /trial\.tier: tier "enterprise" is not in "tiers"/,
    ],
    [
      'a trial of no days',
      (data) => ({ ...data, trial: { tier: 'professional', days: 0 } }),
      /trial\.days: a trial lasts at least 1 day/,
    ],
  ];

  it.each(cases)('%s', (_name, mutate, message) => {
    const bad = mutate(clone(defaultCatalog));
    expect(() => parseCatalog(bad, 'my-catalog.json')).toThrowError(CatalogError);
    expect(() => parseCatalog(bad, 'my-catalog.json')).toThrowError(message);
    expect(() => parseCatalog(bad, 'my-catalog.json')).toThrowError(/^my-catalog\.json is not a valid catalog/);
  });
});

describe('the trial offer', () => {
  it("is the seed catalog's 14 days of Professional, and optional", () => {
    expect(defaultCatalog.trial).toEqual({ tier: 'professional', days: 14 });
    const { trial: _trial, ...withoutTrial } = clone(defaultCatalog);
    expect(parseCatalog(withoutTrial).trial).toBeUndefined();
  });
});

describe('catalog files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-catalog-'));

  it('loads a valid file', () => {
    const path = join(dir, 'ok.json');
    writeFileSync(path, JSON.stringify(defaultCatalog));
    expect(loadCatalogFile(path)).toEqual(defaultCatalog);
  });

  it('names the file and the JSON error for a file that is not JSON', () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{ "tiers": [ }');
    expect(() => loadCatalogFile(path)).toThrowError(/broken\.json is not valid JSON/);
  });

  it('names the file when it cannot be read', () => {
    expect(() => loadCatalogFile(join(dir, 'absent.json'))).toThrowError(/absent\.json could not be read/);
  });
});
