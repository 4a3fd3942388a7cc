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
