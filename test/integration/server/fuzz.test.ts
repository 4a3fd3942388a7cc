import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../support/databases.ts';
import {
  request,
  setPlan,
  signUp,
  startTestServer,
  type TestAccount,
  type TestServer,
  testLimits,
} from '../../support/server.ts';

/**
 * Hostile request bodies against every route that reads one: the server answers 4xx
 * problem+json (or a success when the random body happens to be valid), never a 5xx, and keeps
 * serving.
 */

const MEGABYTE_STRING = 'x'.repeat(1024 * 1024);

const badScalar = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(-1, 0, -0, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 2 ** 63, 1.5, 'ai_operations', 'unknown_op'),
  fc.constantFrom('', ' ', '\u0000', '__proto__', 'DROP TABLE accounts;', '../../etc/passwd', '😀'.repeat(50)),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);
const hugeString = fc.constant(MEGABYTE_STRING);

const FIELDS = [
  'email',
  'password',
  'refreshToken',
  'operation',
  'units',
  'idempotencyKey',
  'ttlSeconds',
  'sizeMb',
  'text',
  'events',
  'occurredAt',
  'tier',
  'cycle',
];

/** A plausible body with some fields wrong: right names, wrong values, extra keys. */
const mutatedBody = fc
  .record({
    fields: fc.subarray(FIELDS, { minLength: 1, maxLength: 6 }),
    values: fc.array(fc.oneof({ weight: 20, arbitrary: badScalar }, { weight: 1, arbitrary: hugeString }), {
      minLength: 6,
      maxLength: 6,
    }),
  })
  .map(({ fields, values }) => Object.fromEntries(fields.map((field, i) => [field, values[i]])));

const eventsBody = fc
  .array(
    fc.record({
      idempotencyKey: fc.oneof(fc.string({ minLength: 8, maxLength: 12 }), badScalar),
      operation: fc.oneof(fc.constantFrom('ai_operations', 'data_processing', 'nope', 'AI'), badScalar),
      units: fc.oneof(fc.integer({ min: -5, max: 5 }), badScalar),
    }),
    { maxLength: 5 },
  )
  .map((events) => ({ events }));

type Body = { kind: 'json'; value: unknown } | { kind: 'raw'; text: string };
const body: fc.Arbitrary<Body> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'json' as const, value })),
  mutatedBody.map((value) => ({ kind: 'json' as const, value })),
  eventsBody.map((value) => ({ kind: 'json' as const, value })),
  fc.string({ maxLength: 60 }).map((text) => ({ kind: 'raw' as const, text })),
  fc
    .constantFrom(
      '{',
      '{"units": 1,}',
      '[1,2',
      '{"__proto__": {"admin": true}}',
      'null',
      '"x"',
      `{"text":"${MEGABYTE_STRING}"}`,
    )
    .map((text) => ({ kind: 'raw' as const, text })),
);

const ROUTES = [
  '/v1/auth/sign-up',
  '/v1/auth/sign-in',
  '/v1/auth/refresh',
  '/v1/auth/sign-out',
  '/v1/usage/consume',
  '/v1/usage/events',
  '/v1/usage/reservations',
  '/v1/usage/reservations/rsv_x/commit',
  '/v1/usage/size-check',
  '/v1/notifications/ntf_x/read',
  '/v1/operations/analyze',
];

for (const dialect of testDialects()) {
  describe(`bad input (${dialect})`, () => {
    let server: TestServer;
    let account: TestAccount;
    /** Signs out as soon as a fuzzed body is valid for sign-out, so it is kept apart. */
    let signOutAccount: TestAccount;
    beforeAll(async () => {
      server = await startTestServer({ dialect });
      [account, signOutAccount] = await Promise.all([signUp(server.url), signUp(server.url)]);
      await setPlan(server.db, account.id, { tier: 'custom', limits: testLimits(1_000_000) });
    });
    afterAll(() => server.stop());

    for (const path of ROUTES) {
      it(`POST ${path} answers every body with a 2xx or a 4xx problem, never a 5xx`, async () => {
        await fc.assert(
          fc.asyncProperty(body, fc.boolean(), async (input, signedIn) => {
            const response = await request(server.url, 'POST', path, input.kind === 'json' ? input.value : undefined, {
              token: signedIn ? (path === '/v1/auth/sign-out' ? signOutAccount : account).token : null,
              ...(input.kind === 'raw' ? { raw: input.text } : {}),
            });
            expect(response.status).toBeLessThan(500);
            if (response.status >= 400) {
              expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
              expect(typeof response.body.code).toBe('string');
              expect(response.body.status).toBe(response.status);
            }
          }),
          { numRuns: 40 },
        );
      });
    }

    it('answers hostile license queries with 4xx problems', async () => {
      await fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 300 }), async (deviceId) => {
          const response = await account.get(
            `/v1/license?deviceId=${encodeURIComponent(deviceId)}&x=${deviceId.length}`,
          );
          expect(response.status).toBe(400);
          expect(response.body.code).toBe('VALIDATION_FAILED');
        }),
        { numRuns: 30 },
      );
    });

    it('keeps serving after the barrage, with usage intact', async () => {
      expect((await request(server.url, 'GET', '/healthz')).status).toBe(200);
      const me = await account.get('/v1/me');
      expect(me.status).toBe(200);
      expect(me.body.usage.operations.ai_operations.used).toBeGreaterThanOrEqual(0);
    });
  });
}
