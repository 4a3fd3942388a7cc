import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The folder boundaries in biome.json, proved by breaking them: each probe is a file written into
 * a real folder for one Biome run, then deleted. A rule that stopped firing (a renamed folder, a
 * typo in a pattern, an override that replaced another) fails here instead of passing silently.
 * The rules read import specifiers only, so the imported files need not exist.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const BIOME = join(ROOT, 'node_modules', '.bin', 'biome');

interface Diagnostic {
  category: string;
  message: string;
  location: { path: string };
}

interface Probe {
  /** Folder and name stem; a unique suffix is added so parallel runs never collide. */
  at: string;
  source: string;
  /** Boundary rules expected to fire on the probe; [] when the import is allowed. */
  expected: string[];
  because: string;
}

const RESTRICTED = 'lint/style/noRestrictedImports';
const NODE_MODULE = 'lint/correctness/noNodejsModules';
const CYCLE = 'lint/suspicious/noImportCycles';
/** Other rules (import order, the node: protocol) may also speak; only these are under test. */
const BOUNDARY_RULES = [RESTRICTED, NODE_MODULE, CYCLE];

const run = randomBytes(4).toString('hex');
const probeName = (at: string) => `${at}-lint-probe-${run}.ts`;

const PROBES: Probe[] = [
  {
    at: 'src-shared/other-folder',
    source: "import { loadConfig } from '../src-main/config.ts';\nexport const probe = loadConfig;\n",
    expected: [RESTRICTED],
    because: 'src-shared imports no other src-* folder',
  },
  {
    at: 'src-shared/type-from-server',
    source: "import type { AppContext } from '../src-server/context.ts';\nexport type Probe = AppContext;\n",
    expected: [RESTRICTED],
    because: 'not even a type from another src-* folder',
  },
  {
    at: 'src-shared/node-builtin',
    source: "import { readFileSync } from 'node:fs';\nexport const probe = readFileSync;\n",
    expected: [NODE_MODULE],
    because: 'src-shared does no I/O: it runs in the browser too',
  },
  {
    at: 'src-shared/node-package',
    source: "import Database from 'better-sqlite3';\nexport const probe = Database;\n",
    expected: [RESTRICTED],
    because: 'src-shared uses no Node-only package',
  },
  {
    at: 'src-shared/own-files',
    source:
      "import { z } from 'zod';\nimport { UNLIMITED } from './catalog.ts';\nexport const probe = [z, UNLIMITED];\n",
    expected: [],
    because: 'src-shared may import its own files and portable packages',
  },
  {
    at: 'src-renderer/main-import',
    source: "import { Companion } from '../src-main/companion.ts';\nexport const probe = Companion;\n",
    expected: [RESTRICTED],
    because: 'the renderer sees main only through the contract in src-shared',
  },
  {
    at: 'src-renderer/view/server-import',
    source: "import { plansView } from '../../src-server/plans.ts';\nexport const probe = plansView;\n",
    expected: [RESTRICTED],
    because: 'the renderer never imports the server, at any depth',
  },
  {
    at: 'src-renderer/node-builtin',
    source: "import { join } from 'path';\nexport const probe = join;\n",
    expected: [NODE_MODULE],
    because: 'the renderer runs in a browser (a built-in without node: too)',
  },
  {
    at: 'src-renderer/electron',
    source: "import { shell } from 'electron';\nexport const probe = shell;\n",
    expected: [RESTRICTED],
    because: 'the renderer is sandboxed: no Electron module',
  },
  {
    at: 'src-renderer/shared-import',
    source: "import { formatMoney } from '../src-shared/format.ts';\nexport const probe = formatMoney;\n",
    expected: [],
    because: 'the renderer may import src-shared',
  },
  {
    at: 'src-dashboard/server-import',
    source: "import { loadConfig } from '../src-server/config.ts';\nexport const probe = loadConfig;\n",
    expected: [RESTRICTED],
    because: 'the dashboard reaches the server only over HTTP',
  },
  {
    at: 'src-dashboard/renderer-import',
    source: "import { humanize } from '../src-renderer/view/format.ts';\nexport const probe = humanize;\n",
    expected: [RESTRICTED],
    because: 'the dashboard and the window are separate apps',
  },
  {
    at: 'src-dashboard/node-builtin',
    source: "import { createServer } from 'node:http';\nexport const probe = createServer;\n",
    expected: [NODE_MODULE],
    because: 'the dashboard runs in a browser',
  },
  {
    at: 'src-dashboard/node-package',
    source: "import Fastify from 'fastify';\nexport const probe = Fastify;\n",
    expected: [RESTRICTED],
    because: 'the dashboard uses no server package',
  },
  {
    at: 'src-main/gate-with-ipc',
    source: "import { ipcMain } from 'electron';\nexport const probe = ipcMain;\n",
    expected: [RESTRICTED],
    because: 'only the transport files touch ipcMain',
  },
  {
    at: 'src-main/renderer-from-main',
    source: "import { ipcRenderer } from 'electron';\nexport const probe = ipcRenderer;\n",
    expected: [RESTRICTED],
    because: 'only the preload touches ipcRenderer',
  },
  {
    at: 'src-main/ipc-transport',
    source: "import { ipcMain } from 'electron';\nexport const probe = ipcMain;\n",
    expected: [],
    because: 'src-main/ipc-*.ts are the transport files',
  },
  {
    at: 'src-main/server-import',
    source: "import { loadConfig } from '../src-server/config.ts';\nexport const probe = loadConfig;\n",
    expected: [RESTRICTED],
    because: 'the companion sees the server only over HTTP',
  },
  {
    at: 'src-server/main-import',
    source: "import { loadConfig } from '../src-main/config.ts';\nexport const probe = loadConfig;\n",
    expected: [RESTRICTED],
    because: 'the server never imports the companion',
  },
];

// Two files that import each other's types: a cycle even though it vanishes at run time.
const CYCLE_A = `src-shared/cycle-a-lint-probe-${run}.ts`;
const CYCLE_B = `src-shared/cycle-b-lint-probe-${run}.ts`;
const CYCLE_FILES: [string, string][] = [
  [CYCLE_A, `import type { B } from './cycle-b-lint-probe-${run}.ts';\nexport type A = { b?: B };\n`],
  [CYCLE_B, `import type { A } from './cycle-a-lint-probe-${run}.ts';\nexport type B = { a?: A };\n`],
];

/** Writes every probe, runs Biome once over them, and returns the diagnostics per probe file. */
function lintProbes(): Map<string, Diagnostic[]> {
  const files: [string, string][] = [...PROBES.map((probe) => [probeName(probe.at), probe.source] as [string, string])];
  files.push(...CYCLE_FILES);
  try {
    for (const [path, source] of files) writeFileSync(join(ROOT, path), source);
    let output: string;
    try {
      output = execFileSync(BIOME, ['lint', '--reporter=json', '--max-diagnostics=none', ...files.map(([p]) => p)], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      // Biome exits non-zero when it finds errors, which is the point; its report is still on stdout.
      output = (error as { stdout: string }).stdout;
    }
    const report = JSON.parse(output) as { diagnostics: Diagnostic[] };
    const byFile = new Map<string, Diagnostic[]>(files.map(([path]) => [path, []]));
    for (const diagnostic of report.diagnostics) byFile.get(diagnostic.location.path)?.push(diagnostic);
    return byFile;
  } finally {
    for (const [path] of files) rmSync(join(ROOT, path), { force: true });
  }
}

describe('folder boundaries (biome.json)', () => {
  let diagnostics: Map<string, Diagnostic[]>;
  beforeAll(() => {
    diagnostics = lintProbes();
  });

  for (const probe of PROBES) {
    it(`${probe.at}: ${probe.because}`, () => {
      const found = (diagnostics.get(probeName(probe.at)) ?? [])
        .map((diagnostic) => diagnostic.category)
        .filter((category) => BOUNDARY_RULES.includes(category));
      expect(found).toEqual(probe.expected);
    });
  }

  it('refuses an import cycle, type-only imports counted', () => {
    const found = [...(diagnostics.get(CYCLE_A) ?? []), ...(diagnostics.get(CYCLE_B) ?? [])];
    expect(found.map((diagnostic) => diagnostic.category)).toContain(CYCLE);
  });
});
