import { describe, expect, it } from 'vitest';
import { createMainStore } from '../../../src-main/state.ts';
import { trayModel } from '../../../src-main/tray-model.ts';
import type { CompanionState } from '../../../src-shared/contract.ts';

const NO_EXTRAS = { update: null, updateReady: false, openAtLogin: false };

function state(patch: Partial<CompanionState> = {}): CompanionState {
  const store = createMainStore('http://127.0.0.1:8787', Date.parse('2026-12-02T10:00:00Z'));
  return { ...store.getState(), ...patch };
}

const signedIn = (
  operations: CompanionState['usage']['operations'],
  tier: CompanionState['effectiveTier'] = 'free',
) => {
  const base = state();
  return state({
    account: { id: 'acc_1', email: 'ada@example.com' },
    effectiveTier: tier,
    usage: { ...base.usage, operations },
  });
};

const labels = (model: ReturnType<typeof trayModel>) =>
  model.items.map((item) => (item.kind === 'separator' ? '—' : item.label));

describe('the tray', () => {
  it('shows the plan and the limit nearest to running out, pending usage included', () => {
    const model = trayModel(
      signedIn({
        ai_operations: { label: 'AI operations', serverUsed: 70, pending: 10, limit: 100, upgrade: null },
        data_processing: { label: 'Data processing', serverUsed: 900, pending: 0, limit: 1000, upgrade: null },
      }),
      NO_EXTRAS,
    );
    expect(model.tooltip).toBe('Tollgate · Free plan · Data processing: 900 of 1,000 (90 %)');
    expect(labels(model)).toEqual([
      'Free plan',
      'Data processing: 900 of 1,000 (90 %)',
      '—',
      'Open Tollgate',
      'Sync now',
      '—',
      'Open at login',
      'Quit Tollgate',
    ]);
  });

  it('does not call a limit used up while nothing is granted, and says why in a few words', () => {
    const zero = { ai_operations: { label: 'AI operations', serverUsed: 0, pending: 0, limit: 0, upgrade: null } };
    const awaiting = trayModel(
      { ...signedIn(zero), standing: { code: 'LICENSE_INVALID', message: 'no license yet' } },
      NO_EXTRAS,
    );
    expect(awaiting.items[1]).toEqual({ kind: 'text', label: 'Getting the license…' });
    const tampered = trayModel(
      {
        ...signedIn(zero),
        standing: { code: 'CLOCK_TAMPERED', message: 'clock set back' },
        license: { ...signedIn(zero).license, status: 'invalid' },
      },
      NO_EXTRAS,
    );
    expect(tampered.items[1]).toEqual({ kind: 'text', label: 'Nothing unlocked — open the window to see why' });
    expect(tampered.tooltip).not.toContain('0 of 0');
  });

  it('says when a limit is reached or passed, and when nothing is limited', () => {
    const reached = trayModel(
      signedIn({ ai_operations: { label: 'AI operations', serverUsed: 100, pending: 3, limit: 100, upgrade: null } }),
      NO_EXTRAS,
    );
    expect(reached.items[1]).toEqual({ kind: 'text', label: 'AI operations: 103 of 100 (100 %)' });
    const unlimited = trayModel(
      signedIn(
        { ai_operations: { label: 'AI operations', serverUsed: 5, pending: 0, limit: -1, upgrade: null } },
        'enterprise',
      ),
      NO_EXTRAS,
    );
    expect(labels(unlimited).slice(0, 2)).toEqual(['Enterprise plan', 'No usage limits']);
  });

  it('before sign-in: no limits, and nothing to sync', () => {
    const model = trayModel(state(), NO_EXTRAS);
    expect(model.tooltip).toBe('Tollgate · Not signed in');
    expect(model.items).toContainEqual({ kind: 'action', label: 'Sync now', action: 'sync', enabled: false });
  });

  it('says it is offline, and offers the downloaded update and the login setting', () => {
    const offline = { ...signedIn({}), sync: { ...state().sync, status: 'offline' as const, offlineSince: 1 } };
    const model = trayModel(offline, { update: 'Restart to update to 1.4.0', updateReady: true, openAtLogin: true });
    expect(labels(model)).toContain('Offline — showing the cached plan');
    expect(model.items).toContainEqual({
      kind: 'action',
      label: 'Restart to update to 1.4.0',
      action: 'restart-to-update',
      enabled: true,
    });
    expect(model.items).toContainEqual({
      kind: 'checkbox',
      label: 'Open at login',
      action: 'toggle-open-at-login',
      checked: true,
    });
  });

  it('names the vendor’s product and keeps the tooltip to one short line', () => {
    const branded = {
      ...signedIn({ x: { label: 'X'.repeat(200), serverUsed: 1, pending: 0, limit: 2, upgrade: null } }),
    };
    branded.branding = { ...branded.branding, productName: 'Acme Studio' };
    const model = trayModel(branded, NO_EXTRAS);
    expect(labels(model)).toContain('Quit Acme Studio');
    expect(model.tooltip.length).toBeLessThanOrEqual(127);
  });
});
