import { parseArgs } from 'node:util';
import { build, Platform } from 'electron-builder';
import { builderConfig, readVendorConfig } from './packaging/builder-config.ts';

/**
 * `npm run package` (after `npm run build`): the installers of this OS from vendor.config.json —
 * Linux AppImage + deb, macOS dmg + zip, Windows NSIS (docs/distribution.md).
 *   --dir                 only the unpacked app (dist/<os>-unpacked), no installer
 *   --electron-dist PATH  use this unpacked Electron instead of downloading one
 *   --output PATH         where to write (default dist/)
 *   --publish             upload to the vendor's update feed (electron-builder's --publish always)
 */
const { values } = parseArgs({
  options: {
    dir: { type: 'boolean', default: false },
    'electron-dist': { type: 'string' },
    output: { type: 'string' },
    publish: { type: 'boolean', default: false },
  },
});

const vendor = readVendorConfig();
const platform = Platform.current();
const config = builderConfig(vendor, {
  ...(values.output ? { outputDir: values.output } : {}),
  ...(values['electron-dist'] ? { electronDist: values['electron-dist'] } : {}),
});
const files = await build({
  targets: platform.createTarget(values.dir ? 'dir' : null),
  config,
  publish: values.publish ? 'always' : 'never',
});
for (const file of files) console.log(file);
