import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FuseV1Options, FuseVersion, flipFuses } from '@electron/fuses';
import { type AfterPackContext, Arch } from 'electron-builder';

/**
 * electron-builder's afterPack hook: flips Electron's fuses in the packaged binary, before code
 * signing (a signature covers the fuse wire, so flipping after signing would break it):
 *   RunAsNode off                          ELECTRON_RUN_AS_NODE cannot turn the app into a bare Node
 *   EnableNodeOptionsEnvironmentVariable   NODE_OPTIONS cannot inject code
 *   EnableNodeCliInspectArguments off      --inspect cannot attach a debugger to main
 *   GrantFileProtocolExtraPrivileges off   file:// gets no special powers (the UI is served from app://)
 *   OnlyLoadAppFromAsar on                 the app is loaded from app.asar only, not a loose folder
 *   EnableEmbeddedAsarIntegrityValidation  macOS and Windows refuse an app.asar whose hash differs from
 *                                          the one electron-builder embeds (Electron has no Linux check)
 */
const COMPANION_FUSES = {
  version: FuseVersion.V1,
  [FuseV1Options.RunAsNode]: false,
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
  [FuseV1Options.EnableNodeCliInspectArguments]: false,
  [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
  [FuseV1Options.OnlyLoadAppFromAsar]: true,
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
} as const;

/** The marker @electron/fuses looks for: every real Electron binary carries it before its fuse wire. */
const FUSE_SENTINEL = Buffer.from('dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX');

/** The app path flipFuses takes, and the file that holds the fuse wire on that platform. */
function packagedBinary(context: AfterPackContext): { app: string; wire: string } {
  const name = context.packager.appInfo.productFilename;
  switch (context.electronPlatformName) {
    case 'darwin':
    case 'mas': {
      const app = join(context.appOutDir, `${name}.app`);
      return { app, wire: join(app, 'Contents', 'Frameworks', 'Electron Framework.framework', 'Electron Framework') };
    }
    case 'win32': {
      const exe = join(context.appOutDir, `${name}.exe`);
      return { app: exe, wire: exe };
    }
    default: {
      const exe = join(context.appOutDir, (context.packager as unknown as { executableName: string }).executableName);
      return { app: exe, wire: exe };
    }
  }
}

export async function applyFuses(context: AfterPackContext): Promise<void> {
  const { app, wire } = packagedBinary(context);
  const binary = await readFile(wire);
  if (!binary.includes(FUSE_SENTINEL)) {
    // Only the stand-in distribution of the packaging test lacks the wire: a real Electron always has it,
    // and a real package without fuses must never be produced silently.
    if (binary.length > 1024 * 1024)
      throw new Error(`${wire} looks like Electron but has no fuse wire: refusing to package.`);
    console.log(`  • fuses skipped: ${wire} is a stand-in (no Electron fuse sentinel), not a real Electron binary`);
    return;
  }
  // An arm64 macOS binary must stay ad-hoc signed after its bytes change, or it will not start unsigned.
  const resetAdHocDarwinSignature = context.electronPlatformName === 'darwin' && context.arch === Arch.arm64;
  await flipFuses(app, { ...COMPANION_FUSES, resetAdHocDarwinSignature });
  console.log(`  • fuses flipped in ${app}`);
}
