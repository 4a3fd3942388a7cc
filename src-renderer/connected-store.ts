import { selectConnection } from './bridge.ts';
import { createCompanionStore } from './store.ts';

/**
 * This page's store, connected to main. A module of its own, imported by main.tsx before mount.tsx,
 * so it runs (and opens the stream of main's state) before React's DOM renderer, most of the script,
 * starts up: the round trip to main overlaps that start instead of following it.
 */
export const connectedStore = createCompanionStore(selectConnection(), (url) => {
  window.open(url, '_blank', 'noopener,noreferrer');
});
