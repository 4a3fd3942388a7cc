import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Configuration } from 'electron-builder';
import { parseVendorConfig, type UpdateFeed, type VendorConfig } from '../../src-main/vendor-config.ts';
import { applyFuses } from './fuses.ts';

/**
 * The electron-builder configuration, made from the vendor's one build configuration file
 * (vendor.config.json) and nothing else: no end-user environment variable reaches it.
 */

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

/**
 * What out/main imports at run time (electron-vite leaves dependencies external). The package holds
 * these and their own dependencies only — not the billing server's (fastify, pg, stripe,
 * better-sqlite3...) nor React, which is bundled into out/renderer. test/integration/packaging.test.ts
 * fails when out/main imports something missing from this list.
 */
const COMPANION_RUNTIME_DEPENDENCIES = ['electron-store', 'electron-updater', 'jose', 'zod', 'zustand'];

export function readVendorConfig(path = join(REPO_ROOT, 'vendor.config.json')): VendorConfig {
  return parseVendorConfig(JSON.parse(readFileSync(path, 'utf8')), path);
}

/** `names` and the names of everything they depend on, as installed (Node's resolution). */
function runtimeDependencyNames(names: readonly string[], root = REPO_ROOT): string[] {
  const named = new Set<string>();
  const found = new Set<string>();
  const visit = (name: string, from: string, optional: boolean) => {
    // Node's resolution: the nearest node_modules/<name> from the requiring package upwards.
    for (let dir = from; ; dir = dirname(dir)) {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) {
        const folder = relative(root, candidate);
        named.add(name);
        if (found.has(folder)) return;
        found.add(folder);
        const manifest = JSON.parse(readFileSync(join(candidate, 'package.json'), 'utf8')) as {
          dependencies?: Record<string, string>;
          optionalDependencies?: Record<string, string>;
        };
        for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, candidate, false);
        for (const dep of Object.keys(manifest.optionalDependencies ?? {})) visit(dep, candidate, true);
        return;
      }
      if (dir === root || dirname(dir) === dir) break;
    }
    if (!optional) throw new Error(`${name} (a companion runtime dependency) is not installed: run npm ci.`);
  };
  for (const name of names) visit(name, root, false);
  return [...named].sort();
}

function publishConfig(feed: UpdateFeed | null): Configuration['publish'] {
  if (feed === null) return null;
  if (feed.provider === 'generic') return { provider: 'generic', url: feed.url, channel: feed.channel };
  return { provider: 's3', bucket: feed.bucket, region: feed.region, path: feed.path, channel: feed.channel };
}

export interface PackagingOptions {
  /** Where installers go (default: dist/). */
  outputDir?: string;
  /** An unpacked Electron to use instead of downloading one (the packaging test's stand-in). */
  electronDist?: string;
}

export function builderConfig(vendor: VendorConfig, options: PackagingOptions = {}): Configuration {
  const electron = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', 'electron', 'package.json'), 'utf8')) as {
    version: string;
  };
  return {
    appId: vendor.appId,
    productName: vendor.productName,
    copyright: `Copyright © ${new Date().getUTCFullYear()} ${vendor.publisher.replace(/ <.*$/, '')}`,
    executableName: 'tollgate',
    electronVersion: electron.version,
    ...(options.electronDist ? { electronDist: options.electronDist } : {}),
    directories: { output: options.outputDir ?? join(REPO_ROOT, 'dist'), buildResources: 'assets' },
    // An allowlist: the built bundles, the icon the tray shows, and the runtime dependencies above.
    files: [
      'package.json',
      'out/main/**',
      'out/preload/**',
      'out/renderer/**',
      vendor.icon,
      '!node_modules/**',
      // By name at any depth: electron-builder lays node_modules out anew (it may hoist a nested
      // package to the top), so the source folder is not where the package ends up.
      ...runtimeDependencyNames(COMPANION_RUNTIME_DEPENDENCIES).flatMap((name) => [
        `node_modules/${name}/**`,
        `**/node_modules/${name}/**`,
      ]),
      // Last, so they also apply inside the dependencies: only JavaScript runs; TypeScript sources,
      // source maps and the packages' own tests are dead weight.
      '!**/*.{ts,mts,cts,tsx,map}',
      '!**/{test,tests,__tests__,spec}/**',
      '!**/*.test.*',
    ],
    asar: true,
    // No native module among the runtime dependencies, so nothing to rebuild against Electron's headers.
    npmRebuild: false,
    extraMetadata: { main: 'out/main/index.js', productName: vendor.productName },
    icon: vendor.icon,
    protocols: [{ name: vendor.productName, schemes: ['tollgate'] }],
    publish: publishConfig(vendor.updates),
    afterPack: applyFuses,
    linux: {
      target: ['AppImage', 'deb'],
      category: 'Office',
      maintainer: vendor.publisher,
    },
    mac: {
      target: ['dmg', 'zip'],
      category: 'public.app-category.business',
      hardenedRuntime: true,
      // Signing identity and notarisation credentials come from the vendor's CI secrets (docs/distribution.md).
      notarize: process.env.APPLE_TEAM_ID !== undefined,
    },
    win: { target: ['nsis'] },
    nsis: { oneClick: false, perMachine: false, allowToChangeInstallationDirectory: true },
  };
}
