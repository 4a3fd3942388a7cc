import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routePath, SERVER_ROUTES } from '../../../src-shared/routes.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

// The route table the companion's billing client is generated from names routes the server has:
// each one answers for its method and path (401 without a session, 400 on an empty body — never 404).

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('src-shared/routes.ts against the real server', () => {
  it.each(Object.entries(SERVER_ROUTES))('%s is a route of the server', async (_name, route) => {
    const url = new URL(routePath(route.path, { id: 'n_unknown', deviceId: 'd_unknown' }), server.url);
    const response = await fetch(url, {
      method: route.method,
      headers: route.method === 'POST' ? { 'content-type': 'application/json' } : {},
      body: route.method === 'POST' ? '{}' : undefined,
    });
    await response.body?.cancel();
    expect(response.status, `${route.method} ${route.path}`).not.toBe(404);
    expect(response.status, `${route.method} ${route.path}`).not.toBe(405);
    if (route.auth) expect(response.status, `${route.method} ${route.path} needs a session`).toBe(401);
  });

  it('encodes route parameters', () => {
    expect(routePath('/v1/notifications/:id/read', { id: 'a/b c' })).toBe('/v1/notifications/a%2Fb%20c/read');
    expect(() => routePath('/v1/notifications/:id/read')).toThrow(/id/);
  });
});
