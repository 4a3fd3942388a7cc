import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openNodeStore } from '../../../src-main/settings-store.ts';
import { UsageSnapshotCache } from '../../../src-main/usage-snapshot.ts';
import type { UsageSnapshot } from '../../../src-shared/api.ts';

// The usage snapshot is a cache of what /v1/me said, in the real settings file (conf, which nests
// dotted keys: usage.snapshot is { usage: { snapshot } }). A /v1/me
// that says what the companion already knew must not rewrite (and fsync) that file.

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-snapshot-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const settingsFile = () => join(dir, 'companion.json');
const fileState = () => ({ mtimeMs: statSync(settingsFile()).mtimeMs, text: readFileSync(settingsFile(), 'utf8') });

const me = (used: number, apiUsed = 2): UsageSnapshot => ({
  period: '2026-11',
  resetsAt: '2026-12-01T00:00:00.000Z',
  operations: { ai_operations: { used, reserved: 0, limit: 5 }, data_processing: { used: 1, reserved: 0, limit: 2 } },
  apiCalls: { limit: 10, windowSeconds: 3600, used: apiUsed, resetsAt: '2026-11-26T13:00:00.000Z' },
});

describe('usage snapshot in the settings file', () => {
  it('is written when /v1/me brings news, and left alone when it brings none', async () => {
    const store = openNodeStore(dir);
    store.set('deviceId', 'dev-1');
    const cache = new UsageSnapshotCache(store, '2026-11');
    cache.mergeSnapshot(me(3));
    cache.save();
    const written = fileState();
    expect(JSON.parse(written.text).usage.snapshot).toEqual({
      period: '2026-11',
      used: { ai_operations: 3, data_processing: 1 },
      apiCalls: me(3).apiCalls,
    });

    // A coarse file clock must not hide a rewrite.
    await new Promise((resolve) => setTimeout(resolve, 20));
    cache.mergeSnapshot(me(3));
    cache.mergeCounts('2026-11', { ai_operations: 2 });
    cache.save();
    expect(fileState()).toEqual(written);

    cache.mergeSnapshot(me(4));
    cache.save();
    expect(JSON.parse(fileState().text).usage.snapshot.used.ai_operations).toBe(4);
  });

  it('is rewritten when only the hourly API window moved', () => {
    const store = openNodeStore(dir);
    const cache = new UsageSnapshotCache(store, '2026-11');
    cache.mergeSnapshot(me(3, 2));
    cache.save();
    cache.mergeSnapshot(me(3, 5));
    cache.save();
    expect(JSON.parse(fileState().text).usage.snapshot.apiCalls.used).toBe(5);
  });

  it('reads back what it wrote, and drops the fields older versions stored but nobody read', () => {
    const store = openNodeStore(dir);
    store.set('usage.snapshot', {
      period: '2026-11',
      used: { ai_operations: 3 },
      resetsAt: '2026-12-01T00:00:00.000Z',
      limits: { ai_operations: 5 },
      apiCalls: null,
    });
    expect(new UsageSnapshotCache(openNodeStore(dir), '2026-11').current).toEqual({
      period: '2026-11',
      used: { ai_operations: 3 },
      apiCalls: null,
    });
  });
});
