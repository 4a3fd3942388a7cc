import { createContext, useContext } from 'react';
import { createStore, type StoreApi, useStore } from 'zustand';
import type { BillingCycle, UpgradePromptReason } from '../src-shared/api.ts';
import type { TierId } from '../src-shared/catalog.ts';
import type { CompanionState, ProblemView, ResultOf } from '../src-shared/contract.ts';
import { keptUsageNotice } from '../src-shared/notices.ts';
import { type Connection, type LinkStatus, problem } from './bridge.ts';

/**
 * The renderer's store: a mirror of the state main pushes, plus what only this window cares about
 * (the pricing switch, dismissed prompts, the checkout link it opened). Everything that changes the
 * account goes to main through `invoke`; nothing here decides what the user may do.
 */
export interface UiState {
  companion: CompanionState | null;
  link: LinkStatus | 'absent';
  transport: Connection['transport'] | null;
  cycle: BillingCycle;
  /** Keys of prompts and notes this window was told to put away. */
  dismissed: ReadonlySet<string>;
  /** The checkout or portal page this window opened, to reopen it if its tab was closed. */
  openedUrl: string | null;
  /** Words from a `contact_sales` answer. */
  salesNote: string | null;
  /** The last failed action outside the account forms, shown until the next action. */
  actionError: string | null;
  /** Set by a successful sign-in so keyboard focus moves to the plan that replaces the form. */
  focusPlan: boolean;
  /** The account's active devices as main last listed them (asked for by the devices section). */
  devices: ResultOf<'devices.list'> | null;
  /** Which account form shows; `startFree` turns it to sign-up. */
  accountMode: 'signIn' | 'signUp';
  /** Set by "Start free" so the sign-up form takes keyboard focus. */
  focusSignUp: boolean;
  /** Why the last "Start free trial" was refused (code and the server's words), until the next try. */
  trialError: ProblemView | null;
  trialBusy: boolean;
  /** What the last sign-out left on this computer for its account (unsent usage), until the next sign-in. */
  signOutNotice: string | null;

  signIn(email: string, password: string): Promise<ProblemView | null>;
  signUp(email: string, password: string): Promise<ProblemView | null>;
  signOut(): Promise<void>;
  setAccountMode(mode: 'signIn' | 'signUp'): void;
  /** The plans table's "Start free": the sign-up form (new accounts start on the free plan). */
  startFree(): void;
  signUpFocused(): void;
  /** The catalog's cardless trial for the signed-in account on this device. */
  startTrial(): Promise<void>;
  checkout(tier: TierId): Promise<void>;
  manageBilling(): Promise<void>;
  syncNow(): Promise<void>;
  dismissNotification(id: string): Promise<void>;
  loadDevices(): Promise<void>;
  /** Releases another device; when this one was refused for want of a place, syncs so it takes it. */
  releaseDevice(deviceId: string): Promise<void>;
  /** Takes this computer back after it was released from the account. */
  reactivateDevice(): Promise<void>;
  dismiss(key: string): void;
  /** Tells main the window is showing this upgrade prompt (the vendor's funnel); never waits on it. */
  promptShown(key: string, reason: UpgradePromptReason): void;
  planFocused(): void;
  setCycle(cycle: BillingCycle): void;
}

export type CompanionStore = StoreApi<UiState>;

export function createCompanionStore(connection: Connection | null, openPage: (url: string) => void): CompanionStore {
  const store = createStore<UiState>()((set, get) => {
    const bridge = connection?.bridge;
    const absent = problem('COMPANION_UNREACHABLE', 'Open this window from the companion app.');
    const failed = (error: ProblemView) => set({ actionError: error.message });
    /** Counts the device lists asked for (and releases), so a late answer never overwrites a newer one. */
    let devicesAsked = 0;
    // In Electron, main opens checkout and portal pages in the system browser itself; in --web mode
    // this page already is the system browser, so it opens them in a new tab.
    const show = (url: string) => {
      set({ openedUrl: url });
      if (connection?.transport === 'web') openPage(url);
    };

    return {
      companion: null,
      link: connection ? 'connecting' : 'absent',
      transport: connection?.transport ?? null,
      cycle: 'monthly',
      dismissed: new Set(),
      openedUrl: null,
      salesNote: null,
      actionError: null,
      focusPlan: false,
      devices: null,
      accountMode: 'signIn',
      focusSignUp: false,
      trialError: null,
      trialBusy: false,
      signOutNotice: null,

      async signIn(email, password) {
        if (!bridge) return absent;
        const result = await bridge.invoke('auth.signIn', { email, password });
        if (!result.ok) return result.error;
        set({ focusPlan: true, signOutNotice: null });
        return null;
      },
      async signUp(email, password) {
        if (!bridge) return absent;
        const result = await bridge.invoke('auth.signUp', { email, password });
        if (!result.ok) return result.error;
        set({ focusPlan: true, signOutNotice: null });
        return null;
      },
      async signOut() {
        if (!bridge) return;
        set({
          actionError: null,
          openedUrl: null,
          salesNote: null,
          devices: null,
          trialError: null,
          accountMode: 'signIn',
          signOutNotice: null,
        });
        const result = await bridge.invoke('auth.signOut', {});
        if (!result.ok) failed(result.error);
        // Usage this account could not send yet stays here for it: say so, never drop it silently.
        else set({ signOutNotice: keptUsageNotice(result.value.unsyncedEvents) });
      },
      setAccountMode(accountMode) {
        set({ accountMode });
      },
      startFree() {
        set({ accountMode: 'signUp', focusSignUp: true });
      },
      signUpFocused() {
        set({ focusSignUp: false });
      },
      async startTrial() {
        if (!bridge || get().trialBusy) return;
        set({ trialError: null, trialBusy: true, actionError: null });
        const result = await bridge.invoke('trial.start', {});
        set({ trialBusy: false, trialError: result.ok ? null : result.error });
      },
      async checkout(tier) {
        if (!bridge) return;
        set({ actionError: null, salesNote: null });
        const result = await bridge.invoke('billing.checkout', { tier, cycle: get().cycle });
        if (!result.ok) return failed(result.error);
        if (result.value.kind === 'contact_sales') {
          set({ salesNote: 'Custom plans are negotiated with our sales team.' });
          if (result.value.url) show(result.value.url);
          return;
        }
        if (result.value.url) show(result.value.url);
      },
      async manageBilling() {
        if (!bridge) return;
        set({ actionError: null });
        const result = await bridge.invoke('billing.portal', {});
        if (result.ok) show(result.value.url);
        else failed(result.error);
      },
      async syncNow() {
        if (!bridge) return;
        set({ actionError: null });
        const result = await bridge.invoke('sync.now', {});
        if (!result.ok) failed(result.error);
      },
      async dismissNotification(id) {
        if (!bridge) return;
        const result = await bridge.invoke('notifications.dismiss', { id });
        if (!result.ok) failed(result.error);
      },
      async loadDevices() {
        if (!bridge) return;
        // Lists asked for one after another may answer out of order: only the latest is shown.
        devicesAsked += 1;
        const asked = devicesAsked;
        const result = await bridge.invoke('devices.list', {});
        if (asked !== devicesAsked) return;
        if (result.ok) set({ devices: result.value });
        else failed(result.error);
      },
      async releaseDevice(deviceId) {
        if (!bridge) return;
        set({ actionError: null });
        const result = await bridge.invoke('devices.release', { deviceId });
        if (!result.ok) return failed(result.error);
        devicesAsked += 1;
        // Gone on the server: never shown again here, even for the moment before the list reloads.
        const listed = get().devices;
        if (listed)
          set({ devices: { ...listed, devices: listed.devices.filter((device) => device.deviceId !== deviceId) } });
        // The freed place is this device's at its next license request: ask for it now.
        if (get().companion?.standing.code === 'DEVICE_LIMIT_REACHED') await get().syncNow();
        await get().loadDevices();
      },
      async reactivateDevice() {
        if (!bridge) return;
        set({ actionError: null });
        const result = await bridge.invoke('devices.reactivate', {});
        if (!result.ok) failed(result.error);
      },
      dismiss(key) {
        set({ dismissed: new Set([...get().dismissed, key]) });
      },
      promptShown(promptKey, reason) {
        void bridge?.invoke('prompts.shown', { promptKey, reason });
      },
      planFocused() {
        set({ focusPlan: false });
      },
      setCycle(cycle) {
        set({ cycle });
      },
    };
  });

  if (connection) {
    connection.onLink((link) => store.setState({ link }));
    connection.bridge.onState((companion) => store.setState({ companion, link: 'connected' }));
  }
  return store;
}

export const StoreContext = createContext<CompanionStore | null>(null);

export function useUi<T>(selector: (state: UiState) => T): T {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useUi outside <StoreContext.Provider>');
  return useStore(store, selector);
}
