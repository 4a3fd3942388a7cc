import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createDatabase, SQLITE_FILE } from '../../../src-server/db/connection.ts';

const parent = mkdtempSync(join(tmpdir(), 'tollgate-datadir-'));
afterAll(() => rmSync(parent, { recursive: true, force: true }));

const mode = (path: string) => statSync(path).mode & 0o777;

it('keeps the SQLite data folder and file private to this user (they hold the signing key)', async () => {
  const dataDir = join(parent, 'server');
  const handle = await createDatabase({ databaseUrl: null, dataDir });
  await handle.destroy();
  expect(mode(dataDir)).toBe(0o700);
  expect(mode(join(dataDir, SQLITE_FILE))).toBe(0o600);
});
