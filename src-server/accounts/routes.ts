import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MeResponse, RefreshBody, Session, SignInBody, SignOutBody, SignUpBody } from '../../src-shared/api.ts';
import { accountOf, planOf } from '../http/context.ts';
import { usageSnapshot } from '../metering/usage-snapshot.ts';
import { subscriptionView } from '../plans/subscriptions.ts';
import { signIn, signUp } from './accounts.ts';
import { endSession, rotateSession } from './sessions.ts';

/** Sign-up, sign-in, refresh, sign-out and the caller's own view (/v1/me). */
export const accountRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, now, catalog } = app.tollgate;

  app.post(
    '/v1/auth/sign-up',
    {
      config: { access: 'guest' },
      schema: {
        tags: ['accounts'],
        summary: 'Create an account on the free tier and sign in',
        body: SignUpBody,
        response: { 201: Session },
      },
    },
    async (request, reply) => {
      const session = await signUp(db, app.tollgate.dialect, request.body.email, request.body.password, now());
      return reply.code(201).send(session);
    },
  );

  app.post(
    '/v1/auth/sign-in',
    {
      config: { access: 'guest' },
      schema: {
        tags: ['accounts'],
        summary: 'Sign in with email and password',
        body: SignInBody,
        response: { 200: Session },
      },
    },
    async (request) => signIn(db, request.body.email, request.body.password, now()),
  );

  app.post(
    '/v1/auth/refresh',
    {
      config: { access: 'guest' },
      schema: {
        tags: ['accounts'],
        summary: 'Swap a refresh token for a new access and refresh token (the old one stops working)',
        body: RefreshBody,
        response: { 200: Session },
      },
    },
    async (request) => rotateSession(db, request.body.refreshToken, now()),
  );

  app.post(
    '/v1/auth/sign-out',
    {
      config: { access: 'housekeeping' },
      schema: {
        tags: ['accounts'],
        summary: "Revoke this session (and the refresh token's, if given)",
        // The refresh token is optional, and so is the body.
        body: SignOutBody.nullish(),
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await endSession(db, accountOf(request), request.body?.refreshToken, now());
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/me',
    {
      config: { access: 'housekeeping' },
      schema: {
        tags: ['accounts'],
        summary: "The account, its subscription and this period's usage",
        response: { 200: MeResponse },
      },
    },
    async (request) => {
      const account = accountOf(request);
      const { row, plan } = await planOf(request);
      const at = now();
      return {
        account: { id: account.id, email: account.email, createdAt: new Date(account.createdAt).toISOString() },
        subscription: subscriptionView(row, plan),
        usage: await usageSnapshot(db, catalog, account.id, plan, at).then((usage) => ({
          ...usage,
          apiCalls: { ...usage.apiCalls, ...request.server.apiCallWindows.read(account.id, at) },
        })),
        serverTime: new Date(at).toISOString(),
      };
    },
  );
};
