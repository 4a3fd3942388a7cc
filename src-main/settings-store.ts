import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import Conf from 'conf';

/**
 * The key-value store main-process services persist into: electron-store in Electron, `conf` (the
 * library under electron-store, same API) under plain Node. Services receive it as an argument.
 */
export interface SettingsStore {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

/**
 * The settings file's name and mode, one for electron-store and `conf` alike: it may hold the
 * session (sealed only where an OS keychain exists), so it is owner-only in both.
 */
export const SETTINGS_FILE = { name: 'companion', configFileMode: 0o600 } as const;

/** The companion's settings file (`companion.json`) in its data folder, under plain Node. */
export function openNodeStore(home: string): SettingsStore {
  const conf = new Conf<Record<string, unknown>>({
    cwd: home,
    configName: SETTINGS_FILE.name,
    projectName: 'tollgate',
    configFileMode: SETTINGS_FILE.configFileMode,
  });
  return {
    get: (key) => conf.get(key),
    set: (key, value) => conf.set(key, value),
    delete: (key) => conf.delete(key),
  };
}

/**
 * A file in the data folder the companion cannot use and must not replace (the journal holds usage
 * not yet sent): the message names the file, says what is wrong and what to do.
 */
export class DataFolderUnusable extends Error {
  override readonly name = 'DataFolderUnusable';
}

/**
 * Checks the settings file before the store opens it. A file that is unreadable, empty, not JSON or
 * not a JSON object cannot be trusted: it is moved aside (kept for the user and support, never
 * deleted), and the companion starts from empty settings — signed out, no license, the trusted
 * clock unconfirmed — so nothing is granted on its word. Returns what to tell the user, or null.
 */
export function setAsideDamagedSettings(home: string, now: number): string | null {
  const path = join(home, `${SETTINGS_FILE.name}.json`);
  let problem: string;
  try {
    const text = readFileSync(path, 'utf8');
    problem = settingsProblem(text) ?? '';
    if (problem === '') return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    problem = `cannot be read (${code ?? (error as Error).message})`;
  }
  const aside = join(home, `${SETTINGS_FILE.name}.damaged-${new Date(now).toISOString().replace(/[:.]/g, '-')}.json`);
  try {
    renameSync(path, aside);
  } catch (error) {
    throw new DataFolderUnusable(
      `The settings file ${path} ${problem}, and it could not be moved aside ` +
        `(${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). ` +
        `Give your user read and write access to ${home} (or remove the file), then start the companion again. ` +
        'Nothing was changed; the usage journal is intact.',
    );
  }
  return (
    `The settings file ${path} ${problem}. It was moved to ${aside} and the companion started signed out, ` +
    'with no license and nothing granted: sign in again. The usage journal was kept.'
  );
}

function settingsProblem(text: string): string | null {
  if (text.trim() === '') return 'is empty';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return `is not valid JSON (${(error as Error).message})`;
  }
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
    ? null
    : 'does not hold settings (it is not a JSON object)';
}
