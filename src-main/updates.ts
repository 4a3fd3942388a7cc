import type { UpdateFeed } from './vendor-config.ts';

/**
 * When the companion looks for a new version and what it tells the user, as pure functions of the
 * update state and the clock (updater.ts only carries them out with electron-updater):
 *   - a packaged build with a vendor feed checks at start, then once a day; a failed check is
 *     retried after an hour (never more often, however often the app starts);
 *   - a new version downloads in the background, then the user is asked to restart; "Later" asks
 *     again a day later, and the update is never applied without a yes;
 *   - the feed's channel picks the releases: `latest` only stable ones, `beta`/`alpha` pre-releases too.
 */

const CHECK_EVERY_MS = 24 * 60 * 60 * 1000;
const RETRY_AFTER_MS = 60 * 60 * 1000;
const ASK_AGAIN_AFTER_MS = 24 * 60 * 60 * 1000;

export type UpdateState =
  | { phase: 'idle'; lastCheckAt: number | null }
  | { phase: 'checking'; lastCheckAt: number }
  | { phase: 'downloading'; lastCheckAt: number; version: string; percent: number }
  | { phase: 'ready'; lastCheckAt: number; version: string; declinedAt: number | null }
  | { phase: 'failed'; lastCheckAt: number; failedAt: number; message: string };

export const INITIAL_UPDATE_STATE: UpdateState = { phase: 'idle', lastCheckAt: null };

export type UpdateEvent =
  | { type: 'checking' }
  | { type: 'available'; version: string }
  | { type: 'not-available' }
  | { type: 'progress'; percent: number }
  | { type: 'downloaded'; version: string }
  | { type: 'error'; message: string }
  | { type: 'declined' };

/** What electron-updater reported (or the user answered), folded into the state. */
export function reduceUpdate(state: UpdateState, event: UpdateEvent, now: number): UpdateState {
  const lastCheckAt = state.lastCheckAt ?? now;
  switch (event.type) {
    case 'checking':
      // A check while an update waits for its restart changes nothing the user sees.
      return state.phase === 'ready' ? state : { phase: 'checking', lastCheckAt: now };
    case 'available':
      return { phase: 'downloading', lastCheckAt, version: event.version, percent: 0 };
    case 'not-available':
      return { phase: 'idle', lastCheckAt };
    case 'progress':
      if (state.phase !== 'downloading') return state;
      return { ...state, percent: Math.max(0, Math.min(100, Math.round(event.percent))) };
    case 'downloaded':
      return { phase: 'ready', lastCheckAt, version: event.version, declinedAt: null };
    case 'error':
      if (state.phase === 'ready') return state;
      return { phase: 'failed', lastCheckAt, failedAt: now, message: event.message.slice(0, 300) };
    case 'declined':
      return state.phase === 'ready' ? { ...state, declinedAt: now } : state;
  }
}

export type UpdateAction = { do: 'nothing'; until: number | null } | { do: 'check' } | { do: 'ask'; version: string };

/** What to do now; `until` is when to ask again (null: only when electron-updater reports). */
export function nextUpdateAction(state: UpdateState, now: number, enabled: boolean): UpdateAction {
  if (!enabled) return { do: 'nothing', until: null };
  switch (state.phase) {
    case 'idle': {
      if (state.lastCheckAt === null) return { do: 'check' };
      const due = state.lastCheckAt + CHECK_EVERY_MS;
      return now >= due ? { do: 'check' } : { do: 'nothing', until: due };
    }
    case 'failed': {
      const due = Math.min(state.failedAt + RETRY_AFTER_MS, state.lastCheckAt + CHECK_EVERY_MS);
      return now >= due ? { do: 'check' } : { do: 'nothing', until: due };
    }
    case 'checking':
    case 'downloading':
      return { do: 'nothing', until: null };
    case 'ready': {
      if (state.declinedAt === null) return { do: 'ask', version: state.version };
      const due = state.declinedAt + ASK_AGAIN_AFTER_MS;
      return now >= due ? { do: 'ask', version: state.version } : { do: 'nothing', until: due };
    }
  }
}

/** One line for the tray menu, or null when there is nothing to say. */
export function updateStatusLine(state: UpdateState): string | null {
  switch (state.phase) {
    case 'downloading':
      return `Downloading version ${state.version}… ${state.percent} %`;
    case 'ready':
      return `Restart to update to ${state.version}`;
    default:
      return null;
  }
}

/** electron-updater's settings for the vendor's feed. */
export function updaterSettings(feed: UpdateFeed) {
  return {
    channel: feed.channel,
    allowPrerelease: feed.channel !== 'latest',
    allowDowngrade: false,
    autoDownload: true,
    // Applied only when the user says yes (quitAndInstall), never silently at quit.
    autoInstallOnAppQuit: false,
  };
}
