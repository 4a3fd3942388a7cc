import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src-server/config.ts';
import { createDatabase, type DatabaseHandle } from '../../../src-server/db/connection.ts';
import { buildApp } from '../../../src-server/http/app.ts';
import { PROBLEM_CODES } from '../../../src-shared/error-codes.ts';
import { generateLicenseKeyPair } from '../../../src-shared/license.ts';
import { createTestDatabase, type TestDatabase } from '../../support/databases.ts';

const ADMIN_TOKEN = 'the-admin-token-for-tests-0123456789';

describe('the app: admin check, problem documents and OpenAPI', () => {
  let testDb: TestDatabase;
  let database: DatabaseHandle;
  let app: FastifyInstance;
  let userToken: string;

  beforeAll(async () => {
    testDb = await createTestDatabase('sqlite');
    const config = loadConfig({ ...testDb.env, TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN, TOLLGATE_LOG_LEVEL: 'silent' });
    database = await createDatabase(config);
    app = await buildApp({ config, database, licenseKey: await generateLicenseKeyPair() });
    app.get('/v1/admin/probe', { config: { access: 'admin' } }, async () => ({ ok: true }));
    await app.ready();
    const signUp = await app.inject({
      method: 'POST',
      url: '/v1/auth/sign-up',
      payload: { email: 'user@example.test', password: 'a long enough password' },
    });
    userToken = signUp.json().accessToken;
  });
  afterAll(async () => {
    await app.close();
    await database.destroy();
    await testDb.cleanup();
  });

  it('answers admin routes 401 without a token, 403 with a user token, 200 with the admin token', async () => {
    const probe = (token?: string) =>
      app.inject({ method: 'GET', url: '/v1/admin/probe', headers: token ? { authorization: `Bearer ${token}` } : {} });
    const anonymous = await probe();
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().code).toBe('UNAUTHENTICATED');
    const user = await probe(userToken);
    expect(user.statusCode).toBe(403);
    expect(user.json().code).toBe('ADMIN_ONLY');
    expect((await probe(ADMIN_TOKEN)).json()).toEqual({ ok: true });
  });

  it.each([
    ['invalid JSON', { 'content-type': 'application/json' }, '{"operation":', 400],
    ['a body that is too large', { 'content-type': 'application/json' }, `{"text":"${'x'.repeat(600_000)}"}`, 413],
    ['a media type it does not read', { 'content-type': 'application/xml' }, '<a/>', 415],
  ])('answers %s with a problem document', async (_label, headers, payload, status) => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/auth/sign-in',
      headers: { ...headers },
      payload,
    });
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = response.json();
    expect(body.code).toBe({ 400: 'INVALID_JSON', 413: 'BODY_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' }[status]);
    expect(PROBLEM_CODES[body.code as keyof typeof PROBLEM_CODES].status).toBe(status);
    expect(body).toMatchObject({ status, type: `/docs#${body.code}` });
  });

  it('publishes an OpenAPI document of every public route and an offline docs page', async () => {
    const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const path of [
      '/v1/plans',
      '/v1/me',
      '/v1/usage/consume',
      '/v1/usage/events',
      '/v1/license',
      '/v1/notifications',
    ]) {
      expect(Object.keys(spec.paths)).toContain(path);
    }
    expect(spec.paths['/v1/usage/consume'].post.requestBody.content['application/json'].schema.required).toEqual(
      expect.arrayContaining(['operation', 'units', 'idempotencyKey']),
    );
    const docs = await app.inject({ method: 'GET', url: '/docs' });
    expect(docs.headers['content-type']).toMatch(/^text\/html/);
    expect(docs.body).toContain('/v1/usage/consume');
    expect(docs.body).toContain('id="LIMIT_REACHED"');
    expect(docs.body).not.toMatch(/<script|https?:\/\/cdn/i);
  });
});
