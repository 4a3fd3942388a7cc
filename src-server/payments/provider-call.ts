import type { FastifyBaseLogger } from 'fastify';
import { ApiError } from '../http/errors.ts';
import { PaymentProviderError } from './provider.ts';

/**
 * Stripe's errors for a request it understood and refused (an amount beyond what is left to refund,
 * a subscription already gone): their message says why and carries no credential, so it is shown.
 * Its authentication and permission errors are left out on purpose: they quote part of the key.
 */
const REFUSALS = new Set(['StripeInvalidRequestError', 'StripeCardError', 'StripeIdempotencyError']);

/**
 * Runs a call to the payment provider and turns its failures into problem+json: the provider's own
 * refusal is 400 with its words; anything else — Stripe unreachable, its 5xx, a rate limit, a key it
 * does not accept — is logged (type, code and request id, never the message or the key) and answered
 * 503 UNAVAILABLE with Retry-After, never a 500 that says nothing.
 */
export async function providerCall<T>(log: FastifyBaseLogger, provider: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (error instanceof PaymentProviderError) throw new ApiError('BAD_REQUEST', error.message);
    const failure = error as { type?: string; code?: string; requestId?: string; message?: string };
    if (failure.type && REFUSALS.has(failure.type)) {
      throw new ApiError('BAD_REQUEST', `The payment provider refused this: ${failure.message ?? failure.code}`);
    }
    log.error(
      { provider, type: failure.type, code: failure.code, requestId: failure.requestId },
      'payment provider request failed',
    );
    throw new ApiError('UNAVAILABLE', 'The payment provider did not answer as expected; try again shortly.');
  }
}
