import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FuseV1Options, getCurrentFuseWire } from '@electron/fuses';
import { type AfterPackContext, Arch } from 'electron-builder';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { applyFuses } from '../../../scripts/packaging/fuses.ts';

// The afterPack hook on binaries shaped like Electron's: the fuse sentinel, wire version 1, then one
// byte per fuse ('0' off, '1' on) — the layout @electron/fuses reads and writes.
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  vi.restoreAllMocks();
});

function packedApp(binary: Buffer): AfterPackContext {
  const appOutDir = mkdtempSync(join(tmpdir(), 'tollgate-fuses-'));
  folders.push(appOutDir);
  writeFileSync(join(appOutDir, 'tollgate'), binary);
  return {
    appOutDir,
    electronPlatformName: 'linux',
    arch: Arch.x64,
    packager: { appInfo: { productFilename: 'Tollgate' }, executableName: 'tollgate' },
  } as unknown as AfterPackContext;
}

describe('applyFuses (afterPack)', () => {
  it('flips every fuse the companion relies on in an Electron binary', async () => {
    // As Electron ships them: RunAsNode, NODE_OPTIONS and --inspect on; asar-only and integrity off.
    const shipped = '10110001';
    const context = packedApp(
      Buffer.concat([Buffer.alloc(64, 7), Buffer.from(SENTINEL), Buffer.from([1, 8]), Buffer.from(shipped)]),
    );
    await applyFuses(context);
    const wire = await getCurrentFuseWire(join(context.appOutDir, 'tollgate'));
    const on = (fuse: FuseV1Options) => wire[fuse] === 49; // '1'
    expect(on(FuseV1Options.RunAsNode)).toBe(false);
    expect(on(FuseV1Options.EnableNodeOptionsEnvironmentVariable)).toBe(false);
    expect(on(FuseV1Options.EnableNodeCliInspectArguments)).toBe(false);
    expect(on(FuseV1Options.GrantFileProtocolExtraPrivileges)).toBe(false);
    expect(on(FuseV1Options.OnlyLoadAppFromAsar)).toBe(true);
    expect(on(FuseV1Options.EnableEmbeddedAsarIntegrityValidation)).toBe(true);
    // Cookie encryption and the V8 snapshot fuse are left as shipped.
    expect(on(FuseV1Options.EnableCookieEncryption)).toBe(false);
  });

  it('skips, and says so, only for a stand-in without a fuse wire', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const standIn = Buffer.from('#!/bin/sh\necho stand-in\n');
    const context = packedApp(standIn);
    await applyFuses(context);
    expect(readFileSync(join(context.appOutDir, 'tollgate'))).toEqual(standIn);
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/fuses skipped: .*tollgate is a stand-in/));
  });

  it('refuses to package a large binary without a fuse wire rather than ship it unfused', async () => {
    await expect(applyFuses(packedApp(Buffer.alloc(2 * 1024 * 1024, 1)))).rejects.toThrow(/has no fuse wire/);
  });
});
