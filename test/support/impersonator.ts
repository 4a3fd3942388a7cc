import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake billing server, as a user (or malware) on the machine runs one to beat the trusted clock:
 * a plain-http loopback server the companion is pointed at with TOLLGATE_SERVER_URL. It passes
 * every request through to the genuine server, except that it answers `GET /v1/license` with a
 * genuine license captured earlier from the data folder (IMPERSONATE_TOKEN_FILE) and states as
 * `serverTime` — there and in `/v1/me` — the time that license was issued: "it is still then".
 *
 *   IMPERSONATE_TARGET=http://127.0.0.1:1234 IMPERSONATE_TOKEN_FILE=token.txt node --import tsx impersonator.ts
 *
 * Prints `impersonating on <url>`, then one line `served <METHOD> <path>` per answered request.
 * Run by test/integration/companion/trusted-time.test.ts.
 */

const target = process.env.IMPERSONATE_TARGET ?? '';
const token = readFileSync(process.env.IMPERSONATE_TOKEN_FILE ?? '', 'utf8').trim();
const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
  iat: number;
  exp: number;
};
const oldTime = new Date(claims.iat * 1000).toISOString();

const server = createServer(async (req, res) => {
  const path = new URL(req.url ?? '/', 'http://impersonator').pathname;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const send = (status: number, headers: Record<string, string>, body: string) => {
    res.writeHead(status, headers);
    res.end(body, () => console.log(`served ${req.method} ${path}`));
  };
  if (req.method === 'GET' && path === '/v1/license') {
    const expiresAt = new Date(claims.exp * 1000).toISOString();
    send(200, { 'content-type': 'application/json' }, JSON.stringify({ token, expiresAt, serverTime: oldTime }));
    return;
  }
  const headers: Record<string, string> = {};
  for (const name of ['authorization', 'content-type', 'accept']) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const upstream = await fetch(new URL(req.url ?? '/', target), {
    method: req.method ?? 'GET',
    headers,
    ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
  });
  let body = await upstream.text();
  if (path === '/v1/me' && upstream.ok) body = JSON.stringify({ ...JSON.parse(body), serverTime: oldTime });
  send(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }, body);
});

server.listen(0, '127.0.0.1', () => {
  console.log(`impersonating on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
