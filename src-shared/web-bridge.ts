/**
 * The --web transport. The page is opened at `http://127.0.0.1:PORT/#token=TOKEN` (a fragment, so
 * the per-run token never reaches a log line). The renderer then calls
 *   POST {rpcPath}{method}  with `Authorization: Bearer TOKEN`, body = params JSON → Result JSON;
 *   GET  {eventsPath}?token=TOKEN  as Server-Sent Events, each `data:` a full CompanionState.
 * Requests whose Host header is not the loopback address and port are refused.
 */
export const WEB_BRIDGE = {
  rpcPath: '/api/rpc/',
  eventsPath: '/api/events',
  tokenParam: 'token',
} as const;
