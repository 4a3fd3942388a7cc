import { type BrowserWindow, ipcMain } from 'electron';
import { type CompanionFailure, channelOf, methodsOn, STATE_CHANNEL } from '../src-shared/contract.ts';
import { err } from '../src-shared/result.ts';
import type { Companion } from './companion.ts';
import { isTrustedSender } from './security.ts';
import { subscribeThrottled } from './state.ts';

/**
 * Electron IPC, generated from the contract table: one `ipcMain.handle` per renderer method on its
 * `domain:action` channel. The sender frame is checked before anything else; params are validated by
 * Companion.dispatch; the answer is always a Result, never a thrown error across the boundary.
 * With ../preload.ts, the only files allowed to import ipcMain/ipcRenderer (biome.json says so).
 */
export function registerIpc(companion: Companion, window: BrowserWindow, appUrl: string): () => void {
  const channels = methodsOn('renderer').map((method) => {
    const channel = channelOf(method);
    ipcMain.handle(channel, (event, params: unknown) => {
      const frame = event.senderFrame;
      const sender = frame ? { url: frame.url, isTopFrame: frame.parent === null } : null;
      if (event.sender !== window.webContents || !isTrustedSender(sender, appUrl)) {
        return err<CompanionFailure>({ code: 'UNTRUSTED_SENDER', message: 'This page may not call the companion.' });
      }
      return companion.dispatch(method, params);
    });
    return channel;
  });
  const unsubscribe = subscribeThrottled(companion.state, (state) => {
    if (!window.isDestroyed()) window.webContents.send(STATE_CHANNEL, state);
  });
  return () => {
    unsubscribe();
    for (const channel of channels) ipcMain.removeHandler(channel);
  };
}
