import type { CompanionState } from '../../src-shared/contract.ts';
import { currentNotices } from '../../src-shared/notices.ts';
import { useUi } from '../store.ts';

/** The server's 80 % / 100 % notices that still apply, each dismissible (main marks it read on the server). */
export function Notices({ state }: { state: CompanionState }) {
  const dismiss = useUi((ui) => ui.dismissNotification);
  const unread = currentNotices(state);
  if (unread.length === 0) return null;
  return (
    <section className="notices" aria-label="Notices">
      <ul>
        {unread.map((notice) => (
          <li key={notice.id} className={`notice ${notice.threshold === 100 ? 'danger' : 'warning'}`}>
            <span>{notice.message}</span>
            <button type="button" aria-label={`Dismiss: ${notice.message}`} onClick={() => void dismiss(notice.id)}>
              Dismiss
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
