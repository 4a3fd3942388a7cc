import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorld, type World } from './world.ts';

/**
 * Where Stripe Checkout sends the customer afterwards. Stripe takes only web URLs, so a packaged
 * companion's `returnTo: 'app'` keeps the server's return page and asks it to hand over the
 * tollgate:// link, with the session id Stripe fills in; anyone else gets the plain page.
 */

let world: World;
beforeAll(async () => {
  world = await startWorld('sqlite');
});
afterAll(() => world.close());

async function sessionFor(email: string, body: Record<string, unknown>) {
  const session = await world.signUp(email);
  const checkout = await world.call(session.accessToken, 'POST', '/v1/billing/checkout', body);
  expect(checkout.status).toBe(200);
  return world.fake.billing.sessions.get(checkout.body.sessionId) as { success_url: string; cancel_url: string };
}

describe('Stripe checkout return URLs', () => {
  it('the app’s checkout returns through the server page that hands over the tollgate:// link', async () => {
    const session = await sessionFor('app@example.com', { tier: 'professional', cycle: 'monthly', returnTo: 'app' });
    expect(session.success_url).toBe(
      `${world.server.url}/billing/done?checkout=success&app=1&session={CHECKOUT_SESSION_ID}`,
    );
    expect(session.cancel_url).toBe(`${world.server.url}/billing/done?checkout=canceled&app=1`);
  });

  it('the browser flow (no returnTo) is unchanged, and an unknown returnTo is refused', async () => {
    const session = await sessionFor('web@example.com', { tier: 'professional', cycle: 'monthly' });
    expect(session.success_url).toBe(`${world.server.url}/billing/done?checkout=success`);
    expect(session.cancel_url).toBe(`${world.server.url}/billing/done?checkout=canceled`);
    const other = await world.signUp('other@example.com');
    const refused = await world.call(other.accessToken, 'POST', '/v1/billing/checkout', {
      tier: 'professional',
      cycle: 'monthly',
      returnTo: 'tollgate://evil',
    });
    expect(refused.status).toBe(400);
  });
});

describe('Customer Portal return', () => {
  it('takes returnTo: app, an empty body or none, and the return page hands the app its link', async () => {
    const session = await world.subscribed('portal@example.com', 'professional');
    for (const body of [{ returnTo: 'app' }, {}, undefined]) {
      const portal = await world.call(session.accessToken, 'POST', '/v1/billing/portal', body);
      expect([body, portal.status, portal.body]).toEqual([body, 200, expect.anything()]);
    }
    const refused = await world.call(session.accessToken, 'POST', '/v1/billing/portal', { returnTo: 'elsewhere' });
    expect(refused.status).toBe(400);
    const page = async (query: string) => (await fetch(`${world.server.url}/billing/done?${query}`)).text();
    expect(await page('portal=closed&app=1')).toContain('href="tollgate://portal/return"');
    expect(await page('portal=closed')).not.toContain('tollgate://');
  });
});
