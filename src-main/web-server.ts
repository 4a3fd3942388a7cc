import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { type MethodName, methodsOn, type ProblemView, WEB_BRIDGE } from '../src-shared/contract.ts';
import type { Result } from '../src-shared/result.ts';
import { CONTENT_SECURITY_POLICY } from './security.ts';
import { type MainStore, subscribeThrottled } from './state.ts';

/**
 * --web mode: the renderer in the system browser, talking to main over loopback HTTP as
 * src-shared/contract.ts WEB_BRIDGE describes. 127.0.0.1 on a random port; every API request needs
 * the per-run token; every request needs our own Host header (a DNS-rebinding page has another).
 */

const RENDERER_METHODS = new Set<string>(methodsOn('renderer'));
const MAX_BODY_BYTES = 64 * 1024;
const KEEPALIVE_MS = 15_000;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

export interface WebServerOptions {
  /** The built renderer (index.html and assets). */
  staticDir: string;
  dispatch(method: MethodName, params: unknown): Result<unknown, ProblemView> | Promise<Result<unknown, ProblemView>>;
  state: MainStore;
  port?: number;
}

export interface WebServer {
  /** Open this in the browser: the token is in the fragment, so it never reaches a request log. */
  pageUrl: string;
  origin: string;
  token: string;
  close(): Promise<void>;
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const token = randomBytes(32).toString('base64url');
  const root = resolve(options.staticDir);
  const streams = new Set<ServerResponse>();
  let allowedHosts = new Set<string>();

  const server = createServer((request, response) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
    if (!allowedHosts.has(request.headers.host ?? '')) {
      send(response, 421, { ok: false, error: { code: 'WRONG_HOST', message: 'Unexpected Host header.' } });
      return;
    }
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith(WEB_BRIDGE.rpcPath)) {
      void handleRpc(request, response, url.pathname.slice(WEB_BRIDGE.rpcPath.length));
    } else if (url.pathname === WEB_BRIDGE.eventsPath) {
      handleEvents(request, response, url);
    } else if (request.method === 'GET' || request.method === 'HEAD') {
      serveFile(response, root, url.pathname);
    } else {
      send(response, 405, { ok: false, error: { code: 'METHOD_NOT_ALLOWED', message: 'Not allowed.' } });
    }
  });

  const hasToken = (candidate: string | null | undefined): boolean => {
    if (!candidate) return false;
    const given = Buffer.from(candidate);
    const expected = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  async function handleRpc(request: IncomingMessage, response: ServerResponse, method: string) {
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (!hasToken(bearer)) {
      send(response, 401, { ok: false, error: { code: 'UNAUTHORIZED', message: 'Missing or wrong token.' } });
      return;
    }
    if (request.method !== 'POST') {
      send(response, 405, { ok: false, error: { code: 'METHOD_NOT_ALLOWED', message: 'Use POST.' } });
      return;
    }
    if (!RENDERER_METHODS.has(method)) {
      send(response, 404, { ok: false, error: { code: 'UNKNOWN_METHOD', message: `Unknown method ${method}` } });
      return;
    }
    const body = await readBody(request);
    if (body === null) {
      send(response, 400, { ok: false, error: { code: 'INVALID_PARAMS', message: 'Expected a JSON body.' } });
      return;
    }
    send(response, 200, await options.dispatch(method as MethodName, body));
  }

  function handleEvents(request: IncomingMessage, response: ServerResponse, url: URL) {
    if (!hasToken(url.searchParams.get(WEB_BRIDGE.tokenParam))) {
      send(response, 401, { ok: false, error: { code: 'UNAUTHORIZED', message: 'Missing or wrong token.' } });
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', connection: 'keep-alive' });
    const push = (state: unknown) => response.write(`data: ${JSON.stringify(state)}\n\n`);
    push(options.state.getState());
    const unsubscribe = subscribeThrottled(options.state, push);
    const keepalive = setInterval(() => response.write(': keepalive\n\n'), KEEPALIVE_MS);
    streams.add(response);
    request.on('close', () => {
      clearInterval(keepalive);
      unsubscribe();
      streams.delete(response);
    });
  }

  await new Promise<void>((resolveListen) => server.listen(options.port ?? 0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    token,
    pageUrl: `${origin}/#${WEB_BRIDGE.tokenParam}=${token}`,
    async close() {
      for (const stream of streams) stream.end();
      server.closeAllConnections();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    },
  };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function readBody(request: IncomingMessage): Promise<unknown | null> {
  return new Promise((resolveBody) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolveBody(null);
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolveBody(text.trim() === '' ? {} : JSON.parse(text));
      } catch {
        resolveBody(null);
      }
    });
    request.on('error', () => resolveBody(null));
  });
}

function serveFile(response: ServerResponse, root: string, pathname: string): void {
  let relative: string;
  try {
    relative = decodeURIComponent(pathname === '/' ? '/index.html' : pathname);
  } catch {
    response.writeHead(400).end();
    return;
  }
  const path = normalize(join(root, relative));
  if (!path.startsWith(root + sep) || !existsSync(path) || !statSync(path).isFile()) {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
    return;
  }
  response.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
  createReadStream(path).pipe(response);
}
