import ElectronStore from 'electron-store';
import { SETTINGS_FILE, type SettingsStore } from './settings-store.ts';

/**
 * The companion's settings file (`companion.json`) in its data folder, in Electron: electron-store
 * with the same name and owner-only mode (0600) as the plain-Node store (`openNodeStore`).
 */
export function openElectronStore(home: string): SettingsStore {
  const store = new ElectronStore<Record<string, unknown>>({ cwd: home, ...SETTINGS_FILE });
  return {
    get: (key) => store.get(key),
    set: (key, value) => store.set(key, value),
    delete: (key) => store.delete(key),
  };
}
