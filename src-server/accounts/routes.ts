import type { FastifyInstance, FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  ClaimBody,
  MeResponse,
  Password,
  Problem,
  RefreshBody,
  Session,
  SignInBody,
  SignOutBody,
  SignUpBody,
} from '../../src-shared/api.ts';
import { accountOf, planOf } from '../http/context.ts';
import { ApiError, problemBody } from '../http/errors.ts';
import { rateLimitRefusals } from '../http/metrics.ts';
import { signInRateLimit } from '../http/rate-limit.ts';
import { usageSnapshot } from '../metering/usage-snapshot.ts';
import { subscriptionView } from '../plans/subscriptions.ts';
import { readTrialClaim, trialState } from '../plans/trials.ts';
import { signIn, signUp } from './accounts.ts';
import { CLAIM_PAGE_CSP, claimedPage, claimFormPage, claimRefusedPage } from './claim-page.ts';
import { type ClaimDeps, claimAccount, sendClaimCode } from './claims.ts';
import { endSession, rotateSession, startSession } from './sessions.ts';
import { SignInThrottle } from './sign-in-throttle.ts';

/** Sign-up, sign-in, refresh, sign-out and the caller's own view (/v1/me). */
export const accountRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, now, catalog } = app.tollgate;
  const throttle = new SignInThrottle(db);

  const claimDeps: ClaimDeps = {
    db,
    dialect: app.tollgate.dialect,
    catalog,
    publicUrl: () => app.tollgate.config.publicUrl,
    canEmail: app.tollgate.config.outbox.smtpUrl !== null,
  };

  app.post(
    '/v1/auth/sign-up',
    {
      config: { access: 'guest' },
      schema: {
        tags: ['accounts'],
        summary:
          'Create an account on the free tier and sign in; the e-mail of an imported, unclaimed account signs nobody in and e-mails it a claim link (202 ACCOUNT_CLAIM_SENT)',
        body: SignUpBody,
        response: { 201: Session, 202: Problem },
      },
    },
    async (request, reply) => {
      const outcome = await signUp(db, app.tollgate.dialect, request.body.email, request.body.password, now());
      if ('session' in outcome) return reply.code(201).send(outcome.session);
      const said = await withRetryAfter(reply, () => sendClaimCode(claimDeps, outcome.unclaimed, now()));
      return reply
        .code(202)
        .type('application/problem+json; charset=utf-8')
        .send(problemBody('ACCOUNT_CLAIM_SENT', said));
    },
  );

  app.post(
    '/v1/auth/claim',
    {
      config: { access: 'guest' },
      preHandler: signInRateLimit,
      schema: {
        tags: ['accounts'],
        summary:
          'Set the password of an imported account with the one-time code its claim e-mail carried, and sign in (400 CLAIM_CODE_INVALID when wrong, used or expired)',
        body: ClaimBody,
        response: { 200: Session },
      },
    },
    async (request) => {
      const account = await claimAccount(db, request.body.code, request.body.password, now());
      return startSession(db, account, now());
    },
  );

  await app.register(claimPages);

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
      const wait = await throttle.waitFor(email, now());
      if (wait > 0) {
        const seconds = Math.ceil(wait / 1000);
        reply.header('retry-after', seconds);
        rateLimitRefusals.inc({ budget: 'signInEmail' });
        throw new ApiError('RATE_LIMITED', `Too many failed sign-ins for this e-mail; retry in ${seconds} s.`);
      }
      try {
        const session = await signIn(db, email, password, now());
        await throttle.succeeded(email);
        return session;
      } catch (error) {
        if (error instanceof ApiError && error.code === 'INVALID_CREDENTIALS') await throttle.failed(email, now());
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
      const { row, plan, trial } = await planOf(request);
      const at = now();
      return {
        account: { id: account.id, email: account.email, createdAt: new Date(account.createdAt).toISOString() },
        subscription: subscriptionView(row, plan),
        trial: trialState(catalog, plan, trial, await readTrialClaim(db, account.id), at),
        usage: await usageSnapshot(db, catalog, account.id, plan, at).then((usage) => ({
          ...usage,
          apiCalls: { ...usage.apiCalls, ...request.server.apiCallWindows.read(account.id, at) },
        })),
        serverTime: new Date(at).toISOString(),
      };
    },
  );
};

/** A 429's wait, also as the Retry-After header. */
async function withRetryAfter<T>(reply: FastifyReply, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const seconds = error instanceof ApiError ? error.extras.retryAfterSeconds : undefined;
    if (typeof seconds === 'number') reply.header('retry-after', seconds);
    throw error;
  }
}

function html(reply: FastifyReply, body: string): FastifyReply {
  return reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', CLAIM_PAGE_CSP)
    .send(body);
}

/**
 * The page a claim e-mail links to, for people (kept out of the OpenAPI document): a form posting
 * the code and a new password, in its own scope so only it reads HTML forms.
 */
async function claimPages(scope: FastifyInstance): Promise<void> {
  const { db, now } = scope.tollgate;
  scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
    done(null, new URLSearchParams(String(body))),
  );
  scope.get('/claim', { config: { access: 'guest' }, schema: { hide: true } }, async (request, reply) => {
    const code = (request.query as { code?: unknown }).code;
    if (typeof code !== 'string' || code === '') {
      return html(reply.code(400), claimRefusedPage('This link has no claim code. Open the link from the e-mail.'));
    }
    return html(reply, claimFormPage(code));
  });
  scope.post(
    '/claim',
    { config: { access: 'guest' }, preHandler: signInRateLimit, schema: { hide: true } },
    async (request, reply) => {
      const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
      const code = form.get('code') ?? '';
      const password = Password.safeParse(form.get('password') ?? '');
      if (!password.success) {
        return html(reply.code(400), claimFormPage(code, 'Use a password of 10 to 200 characters.'));
      }
      try {
        const account = await claimAccount(db, code, password.data, now());
        return html(reply, claimedPage(account.email));
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== 'CLAIM_CODE_INVALID') throw error;
        return html(reply.code(400), claimRefusedPage(error.detail ?? error.message));
      }
    },
  );
}
