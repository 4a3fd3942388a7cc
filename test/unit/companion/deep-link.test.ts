import { describe, expect, it } from 'vitest';
import { deepLinkInArgs, followDeepLink, parseDeepLink } from '../../../src-main/deep-link.ts';
import { createMainStore } from '../../../src-main/state.ts';
import { checkoutReturnLink } from '../../../src-shared/app-links.ts';

describe('parseDeepLink', () => {
  it('reads the links Checkout and the Customer Portal return with', () => {
    expect(parseDeepLink('tollgate://checkout/success?session=cs_test_a1B2c3')).toEqual({
      kind: 'checkout',
      outcome: 'success',
      session: 'cs_test_a1B2c3',
    });
    expect(parseDeepLink('tollgate://checkout/success')).toEqual({
      kind: 'checkout',
      outcome: 'success',
      session: null,
    });
    expect(parseDeepLink('tollgate://checkout/cancel')).toEqual({ kind: 'checkout', outcome: 'cancel' });
    expect(parseDeepLink('tollgate://portal/return')).toEqual({ kind: 'portal', outcome: 'return' });
  });

  const hostile: unknown[] = [
    // unknown hosts and other paths
    'tollgate://evil/success',
    'tollgate://checkout/succeeded',
    'tollgate://checkout/success/extra',
    'tollgate://checkout/',
    'tollgate://checkout',
    'tollgate://portal/return/../../checkout/success',
    'tollgate://checkout/cancel/../success',
    'tollgate://checkout/./success',
    'tollgate://auth/signout',
    'tollgate://usage/consume?units=1000000',
    // other schemes and look-alikes
    'https://checkout/success',
    'http://tollgate/checkout/success',
    'javascript:alert(1)//tollgate://checkout/success',
    'tollgatex://checkout/success',
    'file:///checkout/success',
    'TOLLGATE://CHECKOUT/SUCCESS',
    ' tollgate://checkout/success',
    'tollgate://checkout/success ',
    // credentials, ports, fragments, extra or malformed parameters
    'tollgate://user:pass@checkout/success',
    'tollgate://checkout:80/success',
    'tollgate://checkout/success#session=x',
    'tollgate://checkout/success?session=cs_1&next=https://evil.example',
    'tollgate://checkout/success?redirect=https%3A%2F%2Fevil.example',
    'tollgate://checkout/success?session=cs_1&session=cs_2',
    'tollgate://checkout/success?session=',
    'tollgate://checkout/success?session=<script>',
    'tollgate://checkout/cancel?session=cs_1',
    // encoded tricks
    'tollgate://checkout/%73uccess',
    'tollgate://checkout%2Fsuccess',
    'tollgate://checkout/success%00',
    'tollgate://checkout/success?session=cs%2F..%2F',
    'tollgate://checkout\\success',
    'tollgate://check%6Fut/success',
    'tollgate://checkout/success\n',
    'tollgate://xn--checkut-pya/success',
    // huge or not text at all
    `tollgate://checkout/success?session=${'a'.repeat(600)}`,
    `tollgate://checkout/success?session=cs_${'a'.repeat(300)}`,
    'tollgate://'.repeat(1000),
    '',
    null,
    undefined,
    42,
    { href: 'tollgate://checkout/success' },
    ['tollgate://checkout/success'],
  ];
  it.each(hostile.map((link) => [String(link).slice(0, 80), link]))('ignores %s', (_name, link) => {
    expect(parseDeepLink(link)).toBeNull();
  });
});

describe('the server’s links and the companion’s parser agree', () => {
  it('reads back every link the return page builds, and drops a session that is not one', () => {
    expect(parseDeepLink(checkoutReturnLink('success', 'local_cs_Ab-9'))).toEqual({
      kind: 'checkout',
      outcome: 'success',
      session: 'local_cs_Ab-9',
    });
    expect(parseDeepLink(checkoutReturnLink('cancel', 'cs_1'))).toEqual({ kind: 'checkout', outcome: 'cancel' });
    expect(checkoutReturnLink('success', '"><script>')).toBe('tollgate://checkout/success');
    expect(checkoutReturnLink('success', '{CHECKOUT_SESSION_ID}')).toBe('tollgate://checkout/success');
  });
});

describe('deepLinkInArgs: a second launch on Windows and Linux', () => {
  it('finds the link among the arguments', () => {
    expect(deepLinkInArgs(['/opt/Tollgate/tollgate', '--no-sandbox', 'tollgate://checkout/cancel'])).toEqual({
      kind: 'checkout',
      outcome: 'cancel',
    });
  });

  it('finds nothing in an ordinary launch or among hostile arguments', () => {
    expect(deepLinkInArgs(['/opt/Tollgate/tollgate'])).toBeNull();
    expect(deepLinkInArgs(['tollgate', '--url=tollgate://checkout/success', 'tollgate://evil/x'])).toBeNull();
    expect(deepLinkInArgs([...Array(100).fill('x'), 'tollgate://checkout/cancel'])).toBeNull();
  });
});

describe('followDeepLink', () => {
  function target() {
    const state = createMainStore('http://127.0.0.1:8787', Date.parse('2026-12-02T10:00:00Z'));
    state.setState({ checkout: { status: 'waiting', tier: 'professional', cycle: 'monthly', error: null } });
    const calls: string[] = [];
    return { state, calls, dispatch: async (method: string) => void calls.push(method) };
  }

  it('syncs on success and on the portal’s return, leaving the checkout to what the server says', async () => {
    for (const link of [
      parseDeepLink('tollgate://checkout/success?session=cs_1'),
      parseDeepLink('tollgate://portal/return'),
    ]) {
      const world = target();
      await followDeepLink(world, link!);
      expect(world.calls).toEqual(['sync.now']);
      expect(world.state.getState().checkout.status).toBe('waiting');
    }
  });

  it('stops waiting for a cancelled checkout without asking the server', async () => {
    const world = target();
    await followDeepLink(world, { kind: 'checkout', outcome: 'cancel' });
    expect(world.calls).toEqual([]);
    expect(world.state.getState().checkout).toEqual({ status: 'idle', tier: null, cycle: null, error: null });
  });

  it('leaves a completed checkout completed when a stale cancel link arrives', async () => {
    const world = target();
    const completed = { status: 'completed', tier: 'professional', cycle: 'monthly', error: null } as const;
    world.state.setState({ checkout: completed });
    await followDeepLink(world, { kind: 'checkout', outcome: 'cancel' });
    expect(world.state.getState().checkout).toEqual(completed);
  });
});
