import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { checkoutReturnLink, PORTAL_RETURN_LINK } from '../../src-shared/app-links.ts';
import { findTier } from '../../src-shared/catalog.ts';
import { accountOf } from '../http/context.ts';
import { ApiError } from '../http/errors.ts';
import { type LocalCheckout, type LocalProvider, promotionPercentOff, TEST_PROMOTION_CODE } from './local-provider.ts';
import {
  checkoutPage,
  donePage,
  paidPage,
  refusedCheckoutPage,
  TEST_PAGE_CSP,
  unknownCheckoutPage,
} from './test-checkout-page.ts';

/**
 * The local test provider's pages (only when TOLLGATE_PAYMENTS=local): the clearly labelled test
 * checkout, completed only by the browser that opened it or the account's own session, and the
 * test portal. payments/routes.ts registers them.
 */

const TestPayBody = z
  .strictObject({ promotionCode: z.string().max(64).optional() })
  .describe('A promotion code: the local provider knows TESTPROMO50 (50 % off the first invoice)');

const unknownPromotionCode = (typed: string) =>
  `The promotion code "${typed.trim().slice(0, 64)}" is not valid here. This server runs the local test provider, ` +
  `whose only code is ${TEST_PROMOTION_CODE} (50 % off the first invoice); leave the field empty to pay the full price.`;

/** A page for people (the local provider's test pages, the done page), never cached or framed. */
export function htmlPage(reply: FastifyReply, body: string): FastifyReply {
  return reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', TEST_PAGE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
    .send(body);
}

/** The cookie naming the browser that opened a test checkout link (scoped to that checkout's path). */
const CHECKOUT_COOKIE = 'tollgate_test_checkout';

/** The local provider's clearly labelled test checkout and portal pages. */
export async function localPages(scope: FastifyInstance, local: LocalProvider): Promise<void> {
  const { catalog, config } = scope.tollgate;
  await scope.register(fastifyCookie);
  scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
    done(null, new URLSearchParams(String(body))),
  );
  const checkoutPath = (id: string) => `/billing/test-checkout/${id}`;
  const tierName = (checkout: LocalCheckout) => findTier(catalog, checkout.plan.tier).name;
  const resultPage = (reply: FastifyReply, checkout: LocalCheckout) => {
    const appLink = checkout.returnTo === 'app' ? checkoutReturnLink('success', checkout.id) : null;
    return htmlPage(
      reply,
      checkout.paid ? paidPage(checkout, tierName(checkout), appLink) : checkoutPage(checkout, tierName(checkout)),
    );
  };

  // Pages for people, not API routes: kept out of the OpenAPI document.
  scope.get(
    '/billing/test-checkout/:id',
    { config: { access: 'public' }, schema: { hide: true } },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const checkout = local.findCheckout(id);
      if (!checkout) return htmlPage(reply.code(404), unknownCheckoutPage());
      if (local.isOpeningBrowser(checkout, request.cookies[CHECKOUT_COOKIE])) return resultPage(reply, checkout);
      const redeemed = local.redeemLinkCode(id, (request.query as { code?: string }).code);
      if (!redeemed) return htmlPage(reply.code(403), refusedCheckoutPage());
      // Rendered at once, not redirected: a redirect after a cross-site start would drop a Strict cookie.
      reply.setCookie(CHECKOUT_COOKIE, redeemed.browserKey, {
        path: checkoutPath(id),
        httpOnly: true,
        sameSite: 'strict',
        secure: config.publicUrl.startsWith('https:'),
        maxAge: 24 * 3600,
      });
      return resultPage(reply, redeemed.checkout);
    },
  );

  scope.post(
    '/billing/test-checkout/:id/pay',
    { config: { access: 'public' }, schema: { hide: true } },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const checkout = local.findCheckout(id);
      if (!checkout) return htmlPage(reply.code(404), unknownCheckoutPage());
      const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
      // The SameSite=Strict cookie is what a cross-site POST lacks; the form token is what a page
      // that only knows the URL lacks. Sec-Fetch-Site refuses a cross-site request outright.
      const crossSite = ['cross-site', 'same-site'].includes(String(request.headers['sec-fetch-site']));
      if (
        crossSite ||
        !local.isOpeningBrowser(checkout, request.cookies[CHECKOUT_COOKIE]) ||
        !local.isOwnForm(checkout, form.get('token') ?? undefined)
      ) {
        request.log.warn({ checkout: checkout.id, crossSite }, 'test checkout completion refused');
        return htmlPage(reply.code(403), refusedCheckoutPage());
      }
      const typed = form.get('promotion_code') ?? undefined;
      const percentOff = promotionPercentOff(typed);
      if (percentOff === null) {
        return htmlPage(reply.code(422), checkoutPage(checkout, tierName(checkout), unknownPromotionCode(typed ?? '')));
      }
      await local.pay(checkout.id, percentOff);
      // Post/redirect/get: reloading the result page never posts the payment again.
      return reply.code(303).header('location', checkoutPath(checkout.id)).send();
    },
  );

  // The session that opened the checkout may complete it through the API (scripts, tests, a CLI).
  scope.post(
    '/v1/billing/test-checkout/:id/pay',
    {
      config: { access: 'housekeeping' },
      schema: {
        tags: ['billing'],
        summary: 'Local test provider only: complete a test checkout opened by this account (nothing is charged)',
        // Nullish: a POST without a body stays valid, as it was before promotion codes.
        body: TestPayBody.nullish(),
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const checkout = local.findCheckout(id);
      if (!checkout) throw new ApiError('NOT_FOUND', 'This test checkout is unknown or expired.');
      if (checkout.accountId !== accountOf(request).id) {
        throw new ApiError('CHECKOUT_FORBIDDEN', 'This test checkout was opened by another account.');
      }
      // Validated by the route's schema (this scope has no zod type provider to say so).
      const typed = (request.body as z.infer<typeof TestPayBody> | null | undefined)?.promotionCode;
      const percentOff = promotionPercentOff(typed);
      if (percentOff === null) throw new ApiError('PROMOTION_CODE_INVALID', unknownPromotionCode(typed ?? ''));
      const paid = await local.pay(checkout.id, percentOff);
      return { paid: true, tier: paid.plan.tier, cycle: paid.plan.cycle, amountPaidCents: paid.amountPaidCents };
    },
  );

  scope.get('/billing/test-portal', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) =>
    htmlPage(
      reply,
      donePage(
        'Test billing portal: there are no cards or invoices to manage. Change or cancel your plan from the app.',
        true,
        (request.query as { app?: string }).app === '1' ? PORTAL_RETURN_LINK : null,
      ),
    ),
  );
}
