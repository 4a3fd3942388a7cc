import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyReply } from 'fastify';
import {
  type CompanionFailure,
  type Dispatch,
  type MethodName,
  methodsOn,
  WEB_BRIDGE,
} from '../src-shared/contract.ts';
import { err } from '../src-shared/result.ts';
import { CONTENT_SECURITY_POLICY } from './security.ts';
import { type MainStore, subscribeThrottled } from './state.ts';

/**
 * --web mode: the renderer in the system browser, talking to main over loopback HTTP as
 * src-shared/web-bridge.ts WEB_BRIDGE describes. 127.0.0.1 on a random port; every API request needs
 * the per-run token, which only the HttpOnly SameSite=Strict cookie carries (given once, for the
 * opened URL's one-time code); every request needs our own Host header (a DNS-rebinding page has
 * another).
 * The built page is served by @fastify/static (its path checks keep requests inside `staticDir`).
 */

const RENDERER_METHODS = new Set<string>(methodsOn('renderer'));
const MAX_BODY_BYTES = 64 * 1024;
const KEEPALIVE_MS = 15_000;

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
  dispatch: Dispatch;
  state: MainStore;
  port?: number;
}

export interface WebServer {
  /** Open this in the browser, once: its one-time code becomes the session cookie. */
  pageUrl: string;
  origin: string;
  close(): Promise<void>;
}

const refusal = (code: CompanionFailure['code'], message: string) => err<CompanionFailure>({ code, message });

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const token = randomBytes(32).toString('base64url');
  // The code is spent by the first visit, so the printed or opened URL is worthless afterwards.
  let code: string | null = randomBytes(24).toString('base64url');
  const streams = new Set<ServerResponse>();
  let allowedHosts = new Set<string>();

  const hasToken = (candidate: string | null | undefined): boolean => {
    if (!candidate) return false;
    const given = Buffer.from(candidate);
    const expected = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  const app = Fastify({ bodyLimit: MAX_BODY_BYTES, forceCloseConnections: true });
  // Any body is read as JSON (the bridge sends JSON; an empty body is no params).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    try {
      const text = String(body);
      done(null, text.trim() === '' ? {} : JSON.parse(text));
    } catch {
      done(Object.assign(new Error('Expected a JSON body.'), { statusCode: 400 }), undefined);
    }
  });
  app.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) => {
    const status = error.statusCode && error.statusCode < 500 ? 400 : 500;
    return reply.code(status).send(refusal(status === 400 ? 'INVALID_PARAMS' : 'INTERNAL', error.message));
  });
  app.setNotFoundHandler((request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD')
      return reply.code(404).type('text/plain').send('Not found');
    return reply.code(405).send(refusal('METHOD_NOT_ALLOWED', 'Not allowed.'));
  });

  await app.register(fastifyCookie);
  app.addHook('onRequest', async (request, reply) => {
    reply.headers(SECURITY_HEADERS);
    if (!allowedHosts.has(request.headers.host ?? '')) {
      return reply.code(421).send(refusal('WRONG_HOST', 'Unexpected Host header.'));
    }
  });

  const unauthorized = (reply: FastifyReply) =>
    reply.code(401).send(refusal('UNAUTHORIZED', 'Missing or wrong session: open the companion again from its link.'));
  const hasSession = (request: { cookies: Record<string, string | undefined> }) =>
    hasToken(request.cookies[WEB_BRIDGE.sessionCookie]);

  // The opened URL: `/?code=…`. The first visit with the code gets the cookies and goes on to `/`.
  app.get<{ Querystring: Record<string, string | undefined> }>('/', async (request, reply) => {
    const given = request.query[WEB_BRIDGE.codeParam];
    if (given === undefined) return reply.sendFile('index.html');
    const expected = code;
    const valid =
      expected !== null &&
      Buffer.byteLength(given) === Buffer.byteLength(expected) &&
      timingSafeEqual(Buffer.from(given), Buffer.from(expected));
    if (!valid) {
      return reply
        .code(403)
        .type('text/plain; charset=utf-8')
        .send('This link was already used. Open the companion again from the URL it prints now, or restart it.');
    }
    code = null;
    const cookie = { path: '/', sameSite: 'strict', secure: false } as const;
    return reply
      .setCookie(WEB_BRIDGE.sessionCookie, token, { ...cookie, httpOnly: true })
      .setCookie(WEB_BRIDGE.pageCookie, '1', cookie)
      .redirect('/', 303);
  });

  app.all<{ Params: { method: string } }>(`${WEB_BRIDGE.rpcPath}:method`, async (request, reply) => {
    if (!hasSession(request)) return unauthorized(reply);
    if (request.method !== 'POST') return reply.code(405).send(refusal('METHOD_NOT_ALLOWED', 'Use POST.'));
    const { method } = request.params;
    if (!RENDERER_METHODS.has(method)) {
      return reply.code(404).send(refusal('UNKNOWN_METHOD', `Unknown method ${method}`));
    }
    return reply.send(await options.dispatch(method as MethodName, request.body ?? {}));
  });

  app.get(WEB_BRIDGE.eventsPath, (request, reply) => {
    if (!hasSession(request)) return unauthorized(reply);
    // A stream of its own: Fastify hands over the raw response.
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream', connection: 'keep-alive' });
    const push = (state: unknown) => response.write(`data: ${JSON.stringify(state)}\n\n`);
    push(options.state.getState());
    const unsubscribe = subscribeThrottled(options.state, push);
    const keepalive = setInterval(() => response.write(': keepalive\n\n'), KEEPALIVE_MS);
    streams.add(response);
    request.raw.on('close', () => {
      clearInterval(keepalive);
      unsubscribe();
      streams.delete(response);
    });
  });

  await app.register(fastifyStatic, {
    root: resolve(options.staticDir),
    // no-store comes from SECURITY_HEADERS: a rebuilt UI is never served stale.
    cacheControl: false,
    // `/` is the route above (the code exchange); the rest of the page is served from here.
    index: false,
    etag: false,
    lastModified: false,
    dotfiles: 'deny',
  });

  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    pageUrl: `${origin}/?${WEB_BRIDGE.codeParam}=${code}`,
    async close() {
      for (const stream of streams) stream.end();
      await app.close();
    },
  };
}
