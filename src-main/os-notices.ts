import { currentNotices } from '../src-shared/notices.ts';
import type { SettingsStore } from './settings-store.ts';
import type { MainStore } from './state.ts';

/** One usage notice as the desktop shows it (Electron's Notification; nothing in headless or web mode). */
export interface DesktopNotice {
  id: string;
  title: string;
  body: string;
}

const ANNOUNCED_KEY = 'notices.announced';
/** Notice ids remembered as shown; the server keeps an account's 100 most recent. */
const MAX_REMEMBERED = 200;

function rememberedIds(store: SettingsStore): string[] {
  const value = store.get(ANNOUNCED_KEY);
  return Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : [];
}

/**
 * Shows each usage notice that applies now (src-shared/notices.ts) once, as it first arrives: not
 * again on the next sync, nor after a restart (the ids shown are kept in the settings store), and
 * never one the user already dismissed. Returns the function that stops watching.
 */
export function announceNotices(
  state: MainStore,
  store: SettingsStore,
  show: (notice: DesktopNotice) => void,
): () => void {
  let announced = rememberedIds(store);
  let last = state.getState();
  const check = () => {
    const current = state.getState();
    const fresh = currentNotices(current).filter((notice) => !announced.includes(notice.id));
    if (fresh.length === 0) return;
    announced = [...announced, ...fresh.map((notice) => notice.id)].slice(-MAX_REMEMBERED);
    store.set(ANNOUNCED_KEY, announced);
    for (const notice of fresh) show({ id: notice.id, title: current.branding.productName, body: notice.message });
  };
  check();
  return state.subscribe((current) => {
    // Which notices apply follows the notices and the usage limits; sync status and the rest do not matter.
    if (current.notifications === last.notifications && current.usage === last.usage) return;
    last = current;
    check();
  });
}
