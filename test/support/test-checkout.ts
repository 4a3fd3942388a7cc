/**
 * The local provider's test checkout, completed the way the user's browser does it: open the link
 * the server handed out (its one-time code becomes a cookie), then submit the page's form with that
 * cookie. Servers must be started with TOLLGATE_PAYMENTS=local.
 */

export interface BrowserVisit {
  status: number;
  /** The page (HTML). */
  body: string;
  /** The cookie the page set, as a Cookie header value ('' when none). */
  cookie: string;
  /** The hidden form token on the page, when it shows the Pay form. */
  formToken: string | null;
}

/** GET a test checkout page as a browser: with the cookie it holds, if any. */
export async function openTestCheckout(url: string, cookie = ''): Promise<BrowserVisit> {
  const response = await fetch(url, { headers: cookie ? { cookie } : {} });
  const set = response.headers.getSetCookie()[0];
  const body = await response.text();
  return {
    status: response.status,
    body,
    cookie: set ? (set.split(';')[0] as string) : cookie,
    formToken: /name="token" value="([^"]+)"/.exec(body)?.[1] ?? null,
  };
}

/**
 * Presses "Pay (test)" on an opened page: posts its form (with `fields` typed in, such as a
 * `promotion_code`) and its cookie, follows the 303 with it.
 */
export async function submitTestCheckout(
  url: string,
  visit: Pick<BrowserVisit, 'cookie' | 'formToken'>,
  headers: Record<string, string> = {},
  fields: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const page = new URL(url);
  const pay = `${page.origin}${page.pathname}/pay`;
  const response = await fetch(pay, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(visit.cookie ? { cookie: visit.cookie } : {}),
      ...headers,
    },
    body: new URLSearchParams({ ...(visit.formToken ? { token: visit.formToken } : {}), ...fields }).toString(),
  });
  if (response.status !== 303) return { status: response.status, body: await response.text() };
  const result = await fetch(new URL(response.headers.get('location') ?? '', pay), {
    headers: visit.cookie ? { cookie: visit.cookie } : {},
  });
  return { status: result.status, body: await result.text() };
}

/** Opens the checkout link and pays, as one browser: the page after paying. */
export async function payTestCheckout(url: string): Promise<{ status: number; body: string }> {
  return submitTestCheckout(url, await openTestCheckout(url));
}
