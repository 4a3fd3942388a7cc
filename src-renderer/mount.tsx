import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { type CompanionStore, StoreContext } from './store.ts';
import { App } from './ui/App.tsx';

export function mount(root: HTMLElement, store: CompanionStore): void {
  createRoot(root).render(
    <StrictMode>
      <StoreContext.Provider value={store}>
        <App />
      </StoreContext.Provider>
    </StrictMode>,
  );
}
