import type { CompanionState } from '../../src-shared/contract.ts';
import { awaitingLicense } from '../../src-shared/decisions.ts';
import { formatDateTime, formatRelative } from '../../src-shared/format.ts';
import { planName, type Tone } from './plan.ts';

/**
 * The banners above everything else: offline, a license that cannot be honoured, a failed sync.
 * Each problem is explained in plain words: what happened, what the user has meanwhile, what fixes it.
 */

export interface Banner {
  id: string;
  tone: Tone;
  title: string;
  body: string;
}

export function banners(state: CompanionState, now: number, timeZone?: string): Banner[] {
  if (state.account === null) return [];
  const at = (ms: number) => `${formatDateTime(ms, timeZone)} (${formatRelative(ms, now)})`;
  const tier = state.subscription?.tier ?? state.license.tier;
  const plan = tier ? planName(state, tier) : 'current';
  const free = planName(state, 'free');
  const list: Banner[] = [];

  if (state.sync.status === 'offline') {
    const since = state.sync.offlineSince;
    const parts = [
      since === null ? "Can't reach the billing server." : `Can't reach the billing server since ${at(since)}.`,
    ];
    const validUntil = state.license.offlineValidUntil;
    // Only a plan in good standing "keeps working": a lapsed one runs on its free tier.
    if (state.standing.code === 'OK' && state.license.status === 'valid' && validUntil !== null && validUntil > now) {
      parts.push(`Your cached ${plan} license keeps working offline until ${at(validUntil)}.`);
    }
    if (state.sync.pendingEvents > 0) {
      parts.push(`${state.sync.pendingEvents} usage records are saved here and will sync when you are back online.`);
    }
    list.push({ id: 'offline', tone: 'warning', title: 'Offline', body: parts.join(' ') });
  } else if (state.sync.status === 'error' && state.sync.lastError) {
    list.push({ id: 'sync-error', tone: 'warning', title: 'Sync problem', body: state.sync.lastError });
  }

  // Only a lapsed plan keeps the free tier (the one its license signs); a license that cannot be
  // honoured grants nothing at all, and the banner must not promise otherwise.
  const meanwhile = `Meanwhile you have the ${free} plan's features and limits.`;
  const nothingUnlocked = 'Until then no features or usage are unlocked: apps are refused.';
  // Main's own words for this case (another account's license, another computer, no license, a
  // foreign signature, a clock set back or a time record missing); fixed text only without them.
  const said = (fallback: string) => {
    const message = state.standing.message.trim();
    return message !== '' && message !== state.standing.code ? message : fallback;
  };
  switch (state.standing.code) {
    case 'OFFLINE_GRACE_EXPIRED': {
      const until = state.license.offlineValidUntil;
      list.push({
        id: 'standing',
        tone: 'danger',
        title: 'Cached license expired',
        body: `This computer has been offline longer than your plan allows${until === null ? '' : ` (the cached license was valid until ${at(until)})`}. Connect to the internet so the companion can renew it. ${nothingUnlocked}`,
      });
      break;
    }
    case 'CLOCK_TAMPERED':
      list.push({
        id: 'standing',
        tone: 'danger',
        title: "The time can't be trusted",
        body: `${said("The companion cannot trust this computer's date and time; check them and connect to the billing server to confirm the time.")} ${nothingUnlocked}`,
      });
      break;
    case 'LICENSE_INVALID':
      if (awaitingLicense(state)) {
        // Just signed in: nothing stored failed a check, the license is on its way. Main's words
        // ("connect to it to fetch one") fit only when the billing server cannot be reached.
        const reachable = state.sync.status !== 'offline' && state.sync.status !== 'error';
        const why = reachable
          ? 'The companion is fetching this account’s license from the billing server.'
          : said(
              'The companion has no license for this account yet; it fetches one once it reaches the billing server.',
            );
        list.push({
          id: 'standing',
          tone: 'warning',
          title: 'Getting your license',
          body: `${why} ${nothingUnlocked}`,
        });
        break;
      }
      list.push({
        id: 'standing',
        tone: 'danger',
        title: 'License not accepted',
        body: `${said('The license stored on this computer failed its check; the companion fetches a fresh one when it reaches the billing server.')} ${nothingUnlocked}`,
      });
      break;
    case 'LICENSE_EXPIRED': {
      const ended = state.license.accessEndsAt;
      list.push({
        id: 'standing',
        tone: 'danger',
        title: `${plan} access ended`,
        body: `Your ${plan} access ended${ended === null ? '' : ` on ${at(ended)}`}. ${meanwhile} Choose a plan below to get it back.`,
      });
      break;
    }
    case 'SUBSCRIPTION_INACTIVE':
      list.push({
        id: 'standing',
        tone: 'danger',
        title: `${plan} subscription not active`,
        body: `Your paid access has ended (for example a payment failed or the plan was canceled). Open "Manage billing" to fix it. ${meanwhile}`,
      });
      break;
    default:
      break;
  }

  const subscription = state.subscription;
  if (subscription?.status === 'past_due' && subscription.access && subscription.pastDueGraceEndsAt) {
    list.push({
      id: 'past-due',
      tone: 'warning',
      title: 'Payment overdue',
      body: `Your last payment did not go through. Update your payment details by ${at(Date.parse(subscription.pastDueGraceEndsAt))} to keep ${plan}.`,
    });
  }
  return list;
}
