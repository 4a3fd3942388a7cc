import type { Notification } from './api.ts';
import type { CompanionState } from './contract.ts';

/** The share of a monthly limit (in %) at which the server sends a usage notice, once per period. */
export const NOTICE_THRESHOLDS = [80, 100] as const;

/**
 * The server's usage notices worth showing now, one per operation: the highest threshold reached
 * this period against the limit the plan has now, while it is unread. So "80 % used" gives way to
 * "all used" (and dismissing that one does not bring the 80 % back), and after an upgrade or a new
 * period the old "upgrade to keep going" goes away by itself. Main's OS notifications and the
 * window's notice list both show exactly these.
 */
export function currentNotices(state: Pick<CompanionState, 'notifications' | 'usage'>): Notification[] {
  const highest = new Map<string, Notification>();
  for (const notice of state.notifications) {
    if (notice.period !== state.usage.period) continue;
    if (state.usage.operations[notice.operation]?.limit !== notice.limit) continue;
    const kept = highest.get(notice.operation);
    if (!kept || notice.threshold > kept.threshold) highest.set(notice.operation, notice);
  }
  return [...highest.values()].filter((notice) => notice.readAt === null);
}

/**
 * What a sign-out says when usage of the account could not be sent yet (offline): it stays in the
 * journal for that account's next sign-in. null when nothing was left behind. The window and
 * `tollgate logout` both say it.
 */
export function keptUsageNotice(unsyncedEvents: number): string | null {
  if (unsyncedEvents <= 0) return null;
  const one = unsyncedEvents === 1;
  return `${unsyncedEvents} usage record${one ? '' : 's'} from this account ${one ? 'is' : 'are'} kept on this computer and will be sent when it signs in again.`;
}
