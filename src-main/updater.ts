import { dialog } from 'electron';
import electronUpdater from 'electron-updater';
import {
  INITIAL_UPDATE_STATE,
  nextUpdateAction,
  reduceUpdate,
  type UpdateEvent,
  type UpdateState,
  updaterSettings,
} from './updates.ts';
import type { UpdateFeed } from './vendor-config.ts';

/**
 * electron-updater, driven by updates.ts. The feed itself reaches electron-updater through
 * resources/app-update.yml, which electron-builder writes from vendor.config.json's `updates` at
 * package time; electron-updater checks each download's sha512 from the feed and, on macOS and
 * Windows, its code signature against the running app's (docs/distribution.md).
 */
export interface Updates {
  state(): UpdateState;
  /** The user chose "Restart to update" in the tray. */
  restartToUpdate(): void;
  stop(): void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export function startUpdates(options: {
  feed: UpdateFeed | null;
  enabled: boolean;
  clock?: () => number;
  onChange(state: UpdateState): void;
  /** Called just before electron-updater quits the app to install: windows must let it close. */
  beforeRestart(): void;
}): Updates {
  const clock = options.clock ?? Date.now;
  const { autoUpdater } = electronUpdater;
  let state = INITIAL_UPDATE_STATE;
  let timer: NodeJS.Timeout | null = null;
  let asking = false;
  let stopped = false;
  const enabled = options.enabled && options.feed !== null;

  const apply = (event: UpdateEvent) => {
    state = reduceUpdate(state, event, clock());
    options.onChange(state);
    schedule();
  };

  const restart = () => {
    options.beforeRestart();
    autoUpdater.quitAndInstall();
  };

  const ask = async (version: string) => {
    asking = true;
    const { response } = await dialog.showMessageBox({
      type: 'info',
      buttons: ['Restart now', 'Later'],
      defaultId: 0,
      cancelId: 1,
      message: `Version ${version} is ready`,
      detail: 'Restart to finish updating. Your usage and sign-in are kept.',
    });
    asking = false;
    if (response === 0) restart();
    else apply({ type: 'declined' });
  };

  function schedule(): void {
    if (timer) clearTimeout(timer);
    timer = null;
    if (stopped || asking) return;
    const action = nextUpdateAction(state, clock(), enabled);
    if (action.do === 'check') {
      autoUpdater.checkForUpdates().catch((error: Error) => apply({ type: 'error', message: error.message }));
    } else if (action.do === 'ask') {
      void ask(action.version);
    } else if (action.until !== null) {
      timer = setTimeout(schedule, Math.min(MAX_TIMER_MS, Math.max(1_000, action.until - clock())));
    }
  }

  if (enabled && options.feed) {
    Object.assign(autoUpdater, updaterSettings(options.feed));
    autoUpdater.on('checking-for-update', () => apply({ type: 'checking' }));
    autoUpdater.on('update-available', (info) => apply({ type: 'available', version: info.version }));
    autoUpdater.on('update-not-available', () => apply({ type: 'not-available' }));
    autoUpdater.on('download-progress', (progress) => apply({ type: 'progress', percent: progress.percent }));
    autoUpdater.on('update-downloaded', (info) => apply({ type: 'downloaded', version: info.version }));
    autoUpdater.on('error', (error) => apply({ type: 'error', message: error.message }));
  }
  schedule();

  return {
    state: () => state,
    restartToUpdate: () => {
      if (state.phase === 'ready') restart();
    },
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
