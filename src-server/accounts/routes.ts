import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MeResponse, RefreshBody, Session, SignInBody, SignOutBody, SignUpBody } from '../../src-shared/api.ts';
import { accountOf, planOf } from '../http/context.ts';
import { ApiError } from '../http/errors.ts';
import { signInRateLimit } from '../http/rate-limit.ts';
import { usageSnapshot } from '../metering/usage-snapshot.ts';
import { subscriptionView } from '../plans/subscriptions.ts';
import { signIn, signUp } from './accounts.ts';
import { endSession, rotateSession } from './sessions.ts';
import { SignInThrottle } from './sign-in-throttle.ts';

/** Sign-up, sign-in, refresh, sign-out and the caller's own view (/v1/me). */
export const accountRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, now, catalog } = app.tollgate;
  const throttle = new SignInThrottle();

  app.post(
    '/v1/auth/sign-up',
    {
      config: { access: 'guest' },
      schema: {
        tags: ['accounts'],
        summary: 'Create an account on the free tier and sign in (or claim the unclaimed account a Stripe import made)',
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
      preHandler: signInRateLimit,
      schema: {
        tags: ['accounts'],
        summary: 'Sign in with email and password (429 after repeated failures, per e-mail and per client)',
        body: SignInBody,
        response: { 200: Session },
      },
    },
    async (request, reply) => {
      const { email, password } = request.body;
      const wait = throttle.waitFor(email, now());
      if (wait > 0) {
        const seconds = Math.ceil(wait / 1000);
        reply.header('retry-after', seconds);
        throw new ApiError('RATE_LIMITED', `Too many failed sign-ins for this e-mail; retry in ${seconds} s.`);
      }
      try {
        const session = await signIn(db, email, password, now());
        throttle.succeeded(email);
        return session;
      } catch (error) {
        if (error instanceof ApiError && error.code === 'INVALID_CREDENTIALS') throttle.failed(email, now());
        throw error;
      }
    },
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
