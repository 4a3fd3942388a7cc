import type { CompanionState } from '../src-shared/contract.ts';
import { awaitingLicense, grantsNothing } from '../src-shared/decisions.ts';
import { formatCount } from '../src-shared/format.ts';

/**
 * The tray (menu-bar) icon's tooltip and menu, from the companion's state: the plan and the limit
 * closest to running out at a glance, then Open, Sync now, the pending update, Open at login, Quit.
 * Pure, so the words are unit-tested; tray.ts turns the model into Electron's Tray and Menu.
 */

export type TrayAction = 'open' | 'sync' | 'restart-to-update' | 'toggle-open-at-login' | 'quit';

type TrayItem =
  | { kind: 'text'; label: string }
  | { kind: 'action'; label: string; action: TrayAction; enabled: boolean }
  | { kind: 'checkbox'; label: string; action: TrayAction; checked: boolean }
  | { kind: 'separator' };

export interface TrayModel {
  tooltip: string;
  items: TrayItem[];
}

export interface TrayExtras {
  /** updates.ts's line for a downloading or ready update, if any. */
  update: string | null;
  updateReady: boolean;
  openAtLogin: boolean;
}

const planName = (tier: string) => `${tier.charAt(0).toUpperCase()}${tier.slice(1)}`;

/** The metered operation nearest its monthly limit, in words; null when nothing is limited. */
function nearestLimit(state: CompanionState): string | null {
  let nearest: { label: string; used: number; limit: number } | null = null;
  for (const usage of Object.values(state.usage.operations)) {
    if (usage.limit < 0) continue;
    const used = usage.serverUsed + usage.pending;
    const share = usage.limit === 0 ? 1 : used / usage.limit;
    const best = nearest && (nearest.limit === 0 ? 1 : nearest.used / nearest.limit);
    if (nearest === null || best === null || share > best) nearest = { label: usage.label, used, limit: usage.limit };
  }
  if (!nearest) return null;
  const percent = nearest.limit === 0 ? 100 : Math.min(100, Math.floor((nearest.used / nearest.limit) * 100));
  return `${nearest.label}: ${formatCount(nearest.used)} of ${formatCount(nearest.limit)} (${percent} %)`;
}

export function trayModel(state: CompanionState, extras: TrayExtras): TrayModel {
  const product = state.branding.productName;
  const signedIn = state.account !== null;
  const plan = signedIn ? `${planName(state.effectiveTier)} plan` : 'Not signed in';
  // While nothing is granted every limit is 0: "0 of 0 (100 %)" would say a limit was used up.
  const limit = !signedIn
    ? null
    : grantsNothing(state.standing.code)
      ? awaitingLicense(state)
        ? 'Getting the license…'
        : 'Nothing unlocked — open the window to see why'
      : (nearestLimit(state) ?? 'No usage limits');
  const offline = state.sync.status === 'offline' ? 'Offline — showing the cached plan' : null;
  const lines = [plan, limit, offline].filter((line): line is string => line !== null);

  const items: TrayItem[] = lines.map((label) => ({ kind: 'text', label }));
  items.push(
    { kind: 'separator' },
    { kind: 'action', label: `Open ${product}`, action: 'open', enabled: true },
    { kind: 'action', label: 'Sync now', action: 'sync', enabled: signedIn && state.sync.status !== 'syncing' },
  );
  if (extras.update) {
    items.push({ kind: 'action', label: extras.update, action: 'restart-to-update', enabled: extras.updateReady });
  }
  items.push(
    { kind: 'separator' },
    { kind: 'checkbox', label: 'Open at login', action: 'toggle-open-at-login', checked: extras.openAtLogin },
    { kind: 'action', label: `Quit ${product}`, action: 'quit', enabled: true },
  );
  // Tooltips are one short line on Windows (127 characters at most).
  return { tooltip: [product, ...lines].join(' · ').slice(0, 127), items };
}
