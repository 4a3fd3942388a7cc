import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { selectConnection } from './bridge.ts';
import { createCompanionStore, StoreContext } from './store.ts';
import { App } from './ui/App.tsx';
import './styles.css';

const store = createCompanionStore(selectConnection(), (url) => {
  window.open(url, '_blank', 'noopener,noreferrer');
});

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <StoreContext.Provider value={store}>
        <App />
      </StoreContext.Provider>
    </StrictMode>,
  );
}
