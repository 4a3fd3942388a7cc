/**
 * The --web transport. The companion opens `http://127.0.0.1:PORT/?code=CODE`: a one-time code,
 * spent on the first visit, which answers with the per-run token as an HttpOnly, SameSite=Strict
 * cookie and sends the browser on to `/`. The token itself is never printed, never in a URL or a
 * command line, and never readable by the page's script. The renderer then calls
 *   POST {rpcPath}{method}  body = params JSON → Result JSON;
 *   GET  {eventsPath}        as Server-Sent Events, each `data:` a full CompanionState;
 * both carry the cookie (same origin). Requests without it, or whose Host header is not the
 * loopback address and port, are refused.
 */
export const WEB_BRIDGE = {
  rpcPath: '/api/rpc/',
  eventsPath: '/api/events',
  codeParam: 'code',
  /** HttpOnly: the per-run token. */
  sessionCookie: 'tollgate_web',
  /** Readable, no secret: tells the page it was opened from the companion's link. */
  pageCookie: 'tollgate_web_page',
} as const;
