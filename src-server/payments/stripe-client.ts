import Stripe from 'stripe';

/**
 * The one place a Stripe client is made. `STRIPE_API_BASE` points the official SDK at another host
 * (the fake Stripe in tests): its protocol, host and port become the SDK's own options, so every
 * resource — checkout, portal, subscriptions — follows it.
 */
export function createStripeClient(secretKey: string, apiBase?: string): Stripe {
  const config: ConstructorParameters<typeof Stripe>[1] = { maxNetworkRetries: 2, telemetry: false };
  if (apiBase) {
    const base = new URL(apiBase);
    const protocol = base.protocol === 'http:' ? 'http' : 'https';
    config.protocol = protocol;
    config.host = base.hostname;
    config.port = base.port || (protocol === 'http' ? 80 : 443);
  }
  return new Stripe(secretKey, config);
}
