import { describe, expect, it } from 'vitest';
import {
  INITIAL_UPDATE_STATE,
  nextUpdateAction,
  reduceUpdate,
  type UpdateEvent,
  type UpdateState,
  updaterSettings,
  updateStatusLine,
} from '../../../src-main/updates.ts';

const START = Date.parse('2026-12-02T09:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function run(events: [number, UpdateEvent][]): UpdateState {
  return events.reduce((state, [at, event]) => reduceUpdate(state, event, at), INITIAL_UPDATE_STATE);
}

describe('when the companion looks for updates', () => {
  it('checks at start, then not again until a day has passed', () => {
    expect(nextUpdateAction(INITIAL_UPDATE_STATE, START, true)).toEqual({ do: 'check' });
    const checked = run([
      [START, { type: 'checking' }],
      [START + 2_000, { type: 'not-available' }],
    ]);
    expect(nextUpdateAction(checked, START + HOUR, true)).toEqual({ do: 'nothing', until: START + DAY });
    expect(nextUpdateAction(checked, START + DAY, true)).toEqual({ do: 'check' });
  });

  it('never checks in a development build or without a feed', () => {
    expect(nextUpdateAction(INITIAL_UPDATE_STATE, START, false)).toEqual({ do: 'nothing', until: null });
  });

  it('retries a failed check after an hour, not at every tick', () => {
    const failed = run([
      [START, { type: 'checking' }],
      [START + 1_000, { type: 'error', message: 'net::ERR_INTERNET_DISCONNECTED' }],
    ]);
    expect(failed).toMatchObject({ phase: 'failed', failedAt: START + 1_000 });
    expect(nextUpdateAction(failed, START + 10 * 60_000, true)).toEqual({ do: 'nothing', until: START + 1_000 + HOUR });
    expect(nextUpdateAction(failed, START + 1_000 + HOUR, true)).toEqual({ do: 'check' });
  });

  it('waits quietly while checking and downloading', () => {
    const downloading = run([
      [START, { type: 'checking' }],
      [START + 1_000, { type: 'available', version: '1.4.0' }],
      [START + 5_000, { type: 'progress', percent: 41.6 }],
    ]);
    expect(downloading).toMatchObject({ phase: 'downloading', version: '1.4.0', percent: 42 });
    expect(nextUpdateAction(downloading, START + 6_000, true)).toEqual({ do: 'nothing', until: null });
    expect(updateStatusLine(downloading)).toBe('Downloading version 1.4.0… 42 %');
  });
});

describe('applying an update takes the user’s yes', () => {
  const ready = run([
    [START, { type: 'checking' }],
    [START + 1_000, { type: 'available', version: '1.4.0' }],
    [START + 60_000, { type: 'downloaded', version: '1.4.0' }],
  ]);

  it('asks once the download is complete', () => {
    expect(nextUpdateAction(ready, START + 60_000, true)).toEqual({ do: 'ask', version: '1.4.0' });
    expect(updateStatusLine(ready)).toBe('Restart to update to 1.4.0');
  });

  it('after "Later", asks again a day later and keeps offering the restart in the tray', () => {
    const later = reduceUpdate(ready, { type: 'declined' }, START + 2 * HOUR);
    expect(nextUpdateAction(later, START + 3 * HOUR, true)).toEqual({ do: 'nothing', until: START + 2 * HOUR + DAY });
    expect(nextUpdateAction(later, START + 2 * HOUR + DAY, true)).toEqual({ do: 'ask', version: '1.4.0' });
    expect(updateStatusLine(later)).toBe('Restart to update to 1.4.0');
  });

  it('keeps a downloaded update through a later check or error', () => {
    expect(reduceUpdate(ready, { type: 'checking' }, START + DAY)).toBe(ready);
    expect(reduceUpdate(ready, { type: 'error', message: 'x' }, START + DAY)).toBe(ready);
  });

  it('ignores a stray "Later" or progress when nothing is downloading', () => {
    expect(reduceUpdate(INITIAL_UPDATE_STATE, { type: 'declined' }, START)).toBe(INITIAL_UPDATE_STATE);
    expect(reduceUpdate(INITIAL_UPDATE_STATE, { type: 'progress', percent: 50 }, START)).toBe(INITIAL_UPDATE_STATE);
    expect(updateStatusLine(INITIAL_UPDATE_STATE)).toBeNull();
  });
});

describe('the channel', () => {
  it('takes stable releases on latest and pre-releases on beta, never downgrades or installs silently', () => {
    expect(updaterSettings({ provider: 'generic', url: 'https://updates.example.com/app', channel: 'latest' })).toEqual(
      {
        channel: 'latest',
        allowPrerelease: false,
        allowDowngrade: false,
        autoDownload: true,
        autoInstallOnAppQuit: false,
      },
    );
    expect(
      updaterSettings({ provider: 's3', bucket: 'acme-updates', region: 'eu-west-1', path: 'studio', channel: 'beta' }),
    ).toMatchObject({ channel: 'beta', allowPrerelease: true, autoInstallOnAppQuit: false });
  });
});
