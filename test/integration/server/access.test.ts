import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Problem } from '../../../src-shared/api.ts';
import { request, startTestServer, type TestServer } from '../../support/server.ts';

/** The documented operations anyone may call without signing in; every other one needs a bearer. */
const PUBLIC = [
  'GET /healthz',
  'GET /readyz',
  'GET /v1/plans',
  'POST /v1/auth/sign-up',
  'POST /v1/auth/sign-in',
  'POST /v1/auth/claim',
  'POST /v1/admin/sessions',
  'POST /v1/auth/refresh',
  'GET /.well-known/jwks.json',
  // Only registered when Stripe is the payment provider.
  'POST /v1/webhooks/stripe',
];

interface OpenApiOperation {
  security?: Record<string, string[]>[];
}

describe('access: declared once per route, documented and enforced', () => {
  let server: TestServer;
  let operations: { name: string; method: string; path: string; operation: OpenApiOperation }[];

  beforeAll(async () => {
    server = await startTestServer({ env: { TOLLGATE_ADMIN_TOKEN: 'an-admin-token-for-tests-0123456789' } });
    const spec = (await request(server.url, 'GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, OpenApiOperation>>;
    };
    operations = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        name: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        operation,
      })),
    );
  });
  afterAll(() => server.stop());

  it('documents bearer security on every route that needs a sign-in, and none on the public ones', () => {
    expect(operations.length).toBeGreaterThan(30);
    for (const { name, operation } of operations) {
      const expected = PUBLIC.includes(name) ? undefined : [{ bearer: [] }];
      expect({ name, security: operation.security }).toEqual({ name, security: expected });
    }
    expect(operations.map((o) => o.name)).toEqual(
      expect.arrayContaining(PUBLIC.filter((name) => name !== 'POST /v1/webhooks/stripe')),
    );
    expect(operations.map((o) => o.name)).toEqual(
      expect.arrayContaining(['POST /v1/billing/checkout', 'POST /v1/billing/cancel', 'GET /v1/admin/ltv']),
    );
  });

  it('refuses an unauthenticated call to every route documented with bearer security', async () => {
    const guarded = operations.filter((o) => o.operation.security !== undefined);
    for (const { name, method, path } of guarded) {
      const url = path.replace(/\{[^}]+\}/g, 'rsv_00000000');
      const response = await request(server.url, method, url, method === 'GET' ? undefined : {});
      expect({ name, status: response.status }).toEqual({ name, status: 401 });
      expect(Problem.parse(response.body).code).toBe('UNAUTHENTICATED');
    }
  });
});
