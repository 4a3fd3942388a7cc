import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
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
 * src-shared/contract.ts WEB_BRIDGE describes. 127.0.0.1 on a random port; every API request needs
 * the per-run token; every request needs our own Host header (a DNS-rebinding page has another).
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
  /** Open this in the browser: the token is in the fragment, so it never reaches a request log. */
  pageUrl: string;
  origin: string;
  token: string;
  close(): Promise<void>;
}

const refusal = (code: CompanionFailure['code'], message: string) => err<CompanionFailure>({ code, message });

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const token = randomBytes(32).toString('base64url');
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

  app.addHook('onRequest', async (request, reply) => {
    reply.headers(SECURITY_HEADERS);
    if (!allowedHosts.has(request.headers.host ?? '')) {
      return reply.code(421).send(refusal('WRONG_HOST', 'Unexpected Host header.'));
    }
  });

  const unauthorized = (reply: FastifyReply) =>
    reply.code(401).send(refusal('UNAUTHORIZED', 'Missing or wrong token.'));

  app.all<{ Params: { method: string } }>(`${WEB_BRIDGE.rpcPath}:method`, async (request, reply) => {
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (!hasToken(bearer)) return unauthorized(reply);
    if (request.method !== 'POST') return reply.code(405).send(refusal('METHOD_NOT_ALLOWED', 'Use POST.'));
    const { method } = request.params;
    if (!RENDERER_METHODS.has(method)) {
      return reply.code(404).send(refusal('UNKNOWN_METHOD', `Unknown method ${method}`));
    }
    return reply.send(await options.dispatch(method as MethodName, request.body ?? {}));
  });

  app.get<{ Querystring: Record<string, string | undefined> }>(WEB_BRIDGE.eventsPath, (request, reply) => {
    if (!hasToken(request.query[WEB_BRIDGE.tokenParam])) return unauthorized(reply);
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
    token,
    pageUrl: `${origin}/#${WEB_BRIDGE.tokenParam}=${token}`,
    async close() {
      for (const stream of streams) stream.end();
      await app.close();
    },
  };
}
