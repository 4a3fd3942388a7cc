import Fastify, { type FastifyInstance } from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { serializerCompiler } from '../../../src-server/http/serializer.ts';

// The server's answer serializer (fast-json-stringify compiled from each response schema) keeps
// the promises zod's serializer made: what the schema does not name is never sent, and an answer
// missing what the schema requires is refused rather than sent half-made.

const Account = z.object({ id: z.string(), email: z.string(), plan: z.enum(['free', 'professional']) });

describe('answers written from the response schema', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = Fastify({ logger: false });
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    const routes = app.withTypeProvider<ZodTypeProvider>();
    const account = { id: 'acct_1', email: 'ada@example.test', plan: 'free' as const };
    routes.get('/with-secret', { schema: { response: { 200: Account } } }, async () => ({
      ...account,
      password_hash: 'scrypt$secret',
    }));
    routes.get('/incomplete', { schema: { response: { 200: Account } } }, async () => ({ id: 'acct_1' }) as never);
    await app.ready();
  });

  afterAll(() => app.close());

  it('sends only what the schema names: a field the handler carried along stays on the server', async () => {
    const answer = await app.inject('/with-secret');
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({ id: 'acct_1', email: 'ada@example.test', plan: 'free' });
    expect(answer.body).not.toContain('secret');
  });

  it('refuses an answer that lacks a required field (500), never sends it half-made', async () => {
    const answer = await app.inject('/incomplete');
    expect(answer.statusCode).toBe(500);
    expect(answer.body).not.toContain('acct_1');
  });
});
