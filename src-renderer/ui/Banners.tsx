import type { CompanionState } from '../../src-shared/contract.ts';
import { useUi } from '../store.ts';
import { banners } from '../view/standing.ts';
import { useNow } from './use-now.ts';

/** Offline, license and payment problems, explained; the user can retry a sync from here. */
export function Banners({ state }: { state: CompanionState }) {
  const now = useNow();
  const syncNow = useUi((ui) => ui.syncNow);
  const list = banners(state, now);
  return (
    <div aria-live="polite" className="banners">
      {list.map((banner) => (
        <section key={banner.id} className={`banner ${banner.tone}`} data-testid={`banner-${banner.id}`}>
          <h2>{banner.title}</h2>
          <p>{banner.body}</p>
          {(banner.id === 'offline' || banner.id === 'sync-error') && (
            <button type="button" onClick={() => void syncNow()} disabled={state.sync.status === 'syncing'}>
              Try again
            </button>
          )}
        </section>
      ))}
    </div>
  );
}
