import type { MethodName } from '../src-shared/contract.ts';
import { cancelCheckout } from './checkout.ts';
import type { MainStore } from './state.ts';

/**
 * `tollgate://` links bring the user back from the browser: Checkout's success and cancel pages
 * and the Customer Portal's return. Any program or web page can open such a link, so a link only
 * ever asks the companion to look again — a sync, whose answer from the server is what settles a
 * checkout (checkout.ts), exactly as the polling does — or to stop waiting for a cancelled one.
 * Anything that is not exactly one of these links is ignored.
 *   tollgate://checkout/success?session=<checkout session id>
 *   tollgate://checkout/cancel
 *   tollgate://portal/return
 */

export const DEEP_LINK_SCHEME = 'tollgate';

export type DeepLink =
  | { kind: 'checkout'; outcome: 'success'; session: string | null }
  | { kind: 'checkout'; outcome: 'cancel' }
  | { kind: 'portal'; outcome: 'return' };

const MAX_LENGTH = 512;
/** Stripe's cs_… ids and the local provider's ids: letters, digits, _ and -. */
const SESSION_ID = /^[A-Za-z0-9_-]{1,255}$/;

export function parseDeepLink(raw: unknown): DeepLink | null {
  if (typeof raw !== 'string' || raw.length > MAX_LENGTH) return null;
  // Checked on the raw text: the URL parser would quietly resolve dot-segments and backslashes.
  if (!/^tollgate:\/\/[a-z]+\/[a-z]+(\?[A-Za-z0-9_=&-]*)?$/.test(raw)) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== `${DEEP_LINK_SCHEME}:` || url.username || url.password || url.port || url.hash) return null;
  const params = [...url.searchParams];
  const target = `${url.hostname}${url.pathname}`;
  if (target === 'checkout/success') {
    if (params.some(([name]) => name !== 'session') || params.length > 1) return null;
    const session = url.searchParams.get('session');
    if (session !== null && !SESSION_ID.test(session)) return null;
    return { kind: 'checkout', outcome: 'success', session };
  }
  if (params.length > 0) return null;
  if (target === 'checkout/cancel') return { kind: 'checkout', outcome: 'cancel' };
  if (target === 'portal/return') return { kind: 'portal', outcome: 'return' };
  return null;
}

/** The deep link among a second launch's arguments (Windows and Linux hand it over this way). */
export function deepLinkInArgs(argv: readonly string[]): DeepLink | null {
  for (const arg of argv.slice(0, 64)) {
    if (typeof arg !== 'string' || !arg.toLowerCase().startsWith(`${DEEP_LINK_SCHEME}:`)) continue;
    const link = parseDeepLink(arg);
    if (link) return link;
  }
  return null;
}

/** What of the companion a returning link touches: its state and its methods. */
export interface LinkTarget {
  state: MainStore;
  dispatch(method: MethodName, params: unknown): unknown;
}

/** Acts on a link: a cancelled checkout stops waiting; anything else syncs now (which settles it). */
export async function followDeepLink(target: LinkTarget, link: DeepLink): Promise<void> {
  if (link.kind === 'checkout' && link.outcome === 'cancel') {
    target.state.setState({ checkout: cancelCheckout(target.state.getState().checkout) });
    return;
  }
  await target.dispatch('sync.now', {});
}
