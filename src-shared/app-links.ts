/**
 * The `tollgate://` links that hand a customer back from the browser to the desktop app. The server's
 * return page builds them; the companion's parser (src-main/deep-link.ts) accepts exactly these.
 */

const SESSION_ID = /^[A-Za-z0-9_-]{1,255}$/;

/** Where the Customer Portal hands the user back. */
export const PORTAL_RETURN_LINK = 'tollgate://portal/return';

/** tollgate://checkout/success?session=… (the session only when it looks like one) or …/cancel. */
export function checkoutReturnLink(outcome: 'success' | 'cancel', session: string | null): string {
  if (outcome === 'cancel') return 'tollgate://checkout/cancel';
  return session !== null && SESSION_ID.test(session)
    ? `tollgate://checkout/success?session=${session}`
    : 'tollgate://checkout/success';
}
