import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { announceNotices, type DesktopNotice } from '../../../src-main/os-notices.ts';
import { openNodeStore, type SettingsStore } from '../../../src-main/settings-store.ts';
import { createMainStore, type MainStore } from '../../../src-main/state.ts';
import type { Notification } from '../../../src-shared/api.ts';
import { currentNotices } from '../../../src-shared/notices.ts';

// The OS notifications of the Electron app: each usage notice that applies pops up once, when it
// arrives, and never again (not on the next sync, not after a restart, not once dismissed).

const NOW = Date.parse('2026-11-26T12:00:00Z');
const PERIOD = '2026-11';

function notice(threshold: 80 | 100, extra: Partial<Notification> = {}): Notification {
  return {
    id: `n_${threshold}`,
    kind: 'usage_threshold',
    operation: 'ai_operations',
    threshold,
    period: PERIOD,
    used: threshold === 80 ? 4 : 5,
    limit: 5,
    message: threshold === 80 ? 'You have used 80 % of your 5 AI operations this month.' : 'You have used all 5.',
    createdAt: '2026-11-26T11:00:00.000Z',
    readAt: null,
    ...extra,
  };
}

function withLimit(state: MainStore, limit: number): void {
  const { usage } = state.getState();
  state.setState({
    usage: {
      ...usage,
      operations: { ai_operations: { label: 'AI operations', serverUsed: 4, pending: 0, limit, upgrade: null } },
    },
  });
}

let home: string;
let store: SettingsStore;
let state: MainStore;
let shown: DesktopNotice[];
const show = (shownNotice: DesktopNotice) => shown.push(shownNotice);

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'tollgate-notices-'));
  store = openNodeStore(home);
  state = createMainStore('http://127.0.0.1:9', NOW);
  withLimit(state, 5);
  shown = [];
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe('usage notices on the desktop', () => {
  it('shows a notice once when it arrives, with the product name as title', () => {
    const stop = announceNotices(state, store, show);
    expect(shown).toEqual([]);
    state.setState({ notifications: [notice(80)] });
    expect(shown).toEqual([
      { id: 'n_80', title: 'Tollgate', body: 'You have used 80 % of your 5 AI operations this month.' },
    ]);
    // The next sync brings the same list again; usage moves on.
    state.setState({ notifications: [notice(80)] });
    withLimit(state, 5);
    expect(shown).toHaveLength(1);
    // The limit is reached: the 100 % notice is new, and the only one that applies.
    state.setState({ notifications: [notice(100), notice(80)] });
    expect(shown.map((entry) => entry.id)).toEqual(['n_80', 'n_100']);
    stop();
  });

  it('does not show again after a restart what it showed before', () => {
    state.setState({ notifications: [notice(80)] });
    announceNotices(state, store, show)();
    expect(shown).toHaveLength(1);
    const restarted = createMainStore('http://127.0.0.1:9', NOW);
    withLimit(restarted, 5);
    restarted.setState({ notifications: [notice(80)] });
    announceNotices(restarted, openNodeStore(home), show)();
    expect(shown).toHaveLength(1);
  });

  it('shows nothing read, superseded, from another period or against a limit the plan no longer has', () => {
    state.setState({
      notifications: [
        notice(80, { id: 'read', readAt: '2026-11-26T11:30:00.000Z' }),
        notice(100, { id: 'old', period: '2026-10' }),
      ],
    });
    announceNotices(state, store, show);
    expect(shown).toEqual([]);
    // Upgraded to 100 a month: the notice about 5 says nothing true any more.
    withLimit(state, 100);
    state.setState({ notifications: [notice(100, { id: 'stale' })] });
    expect(shown).toEqual([]);
  });
});

describe('which notices apply (shared by the window and the OS notifications)', () => {
  const base = () => {
    const snapshot = state.getState();
    return { usage: snapshot.usage, notifications: [] as Notification[] };
  };

  it('keeps only the highest threshold per operation, and none once that one is read', () => {
    expect(currentNotices({ ...base(), notifications: [notice(80), notice(100)] }).map((n) => n.id)).toEqual(['n_100']);
    const dismissed = notice(100, { readAt: '2026-11-26T12:00:00.000Z' });
    expect(currentNotices({ ...base(), notifications: [notice(80), dismissed] })).toEqual([]);
  });

  it('drops notices about a limit the plan no longer has (an upgrade) or an unlimited operation', () => {
    withLimit(state, -1);
    expect(currentNotices({ ...base(), notifications: [notice(100)] })).toEqual([]);
  });
});
