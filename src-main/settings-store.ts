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

/** The companion's settings file (`companion.json`) in its data folder, under plain Node. */
export function openNodeStore(home: string): SettingsStore {
  const conf = new Conf<Record<string, unknown>>({
    cwd: home,
    configName: 'companion',
    projectName: 'tollgate',
    // It may hold the session (sealed only where an OS keychain exists): owner-only.
    configFileMode: 0o600,
  });
  return {
    get: (key) => conf.get(key),
    set: (key, value) => conf.set(key, value),
    delete: (key) => conf.delete(key),
  };
}
