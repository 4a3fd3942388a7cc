import { describe, expect, it } from 'vitest';
import { banners } from '../../../src-renderer/view/standing.ts';
import {
  awaitingLicense,
  CLOCK_PROBLEMS,
  LICENSE_PROBLEMS,
  NOW,
  offline,
  signedIn,
  signedOut,
  TIME,
  withStanding,
} from '../../support/companion-states.ts';

describe('banners', () => {
  it('shows none when all is well or nobody is signed in', () => {
    expect(banners(signedIn('professional'), NOW, 'UTC')).toEqual([]);
    expect(banners(signedOut(), NOW, 'UTC')).toEqual([]);
  });

  it('says since when the companion is offline and until when the cached license works', () => {
    const [banner, ...rest] = banners(offline('professional'), NOW, 'UTC');
    expect(rest).toEqual([]);
    expect(banner).toMatchObject({ id: 'offline', tone: 'warning', title: 'Offline' });
    expect(banner?.body).toBe(
      "Can't reach the billing server since 26 Nov 2026, 10:00 (2 hours ago). " +
        'Your cached Professional license keeps working offline until 3 Dec 2026, 12:00 (in 7 days). ' +
        '2 usage records are saved here and will sync when you are back online.',
    );
  });

  it('does not promise a cached license that already ran out', () => {
    const state = offline('professional');
    state.license = { ...state.license, offlineValidUntil: NOW - TIME.HOUR };
    expect(banners(state, NOW, 'UTC')[0]?.body).not.toContain('keeps working');
  });

  it('explains an expired offline grace in plain words', () => {
    const state = withStanding(offline('professional'), 'OFFLINE_GRACE_EXPIRED');
    state.license = { ...state.license, offlineValidUntil: NOW - TIME.DAY };
    const standing = banners(state, NOW, 'UTC').find((banner) => banner.id === 'standing');
    expect(standing).toMatchObject({ tone: 'danger', title: 'Cached license expired' });
    expect(standing?.body).toContain('offline longer than your plan allows');
    expect(standing?.body).toContain('valid until 25 Nov 2026, 12:00 (1 day ago)');
    expect(standing?.body).toContain('no features or usage are unlocked');
    expect(standing?.body).not.toContain('Free plan');
  });

  it('explains a clock set back and a missing time record differently, in main’s words', () => {
    const behind = banners(
      withStanding(signedIn('professional'), 'CLOCK_TAMPERED', CLOCK_PROBLEMS.behind),
      NOW,
      'UTC',
    )[0];
    const unconfirmed = banners(
      withStanding(signedIn('professional'), 'CLOCK_TAMPERED', CLOCK_PROBLEMS.unconfirmed),
      NOW,
      'UTC',
    )[0];
    expect(behind?.body).toContain('clock is earlier than a time the companion has already seen');
    expect(unconfirmed?.body).toContain('connect to the billing server to confirm the time');
    expect(unconfirmed?.body).not.toMatch(/earlier/);
    for (const banner of [behind, unconfirmed]) {
      expect(banner?.body).toContain('no features or usage are unlocked');
      expect(banner?.body).not.toContain('Free plan');
    }
  });

  const refusals = Object.entries(LICENSE_PROBLEMS).filter(([name]) => name !== 'noLicense');
  it.each(refusals)('explains a refused license (%s) in main’s words', (_, message) => {
    const [banner] = banners(withStanding(signedIn('professional'), 'LICENSE_INVALID', message), NOW, 'UTC');
    expect(banner?.title).toBe('License not accepted');
    expect(banner?.body).toBe(`${message} Until then no features or usage are unlocked: apps are refused.`);
  });

  it('tells a user who just signed up that the license is on its way, not that one was refused', () => {
    const [banner, ...rest] = banners(awaitingLicense(), NOW, 'UTC');
    expect(rest).toEqual([]);
    expect(banner).toMatchObject({ id: 'standing', tone: 'warning', title: 'Getting your license' });
    expect(banner?.body).toBe(
      'The companion is fetching this account’s license from the billing server. ' +
        'Until then no features or usage are unlocked: apps are refused.',
    );
  });

  it('says, in main’s words, to connect when there is no license yet and the server cannot be reached', () => {
    const state = awaitingLicense();
    state.sync = { ...state.sync, status: 'offline', offlineSince: NOW - TIME.HOUR };
    const standing = banners(state, NOW, 'UTC').find((banner) => banner.id === 'standing');
    expect(standing?.title).toBe('Getting your license');
    expect(standing?.body).toContain(LICENSE_PROBLEMS.noLicense);
    expect(standing?.body).not.toContain('failed its check');
  });

  it('explains a license without main’s words in its own', () => {
    const [banner] = banners(withStanding(signedIn('professional'), 'LICENSE_INVALID'), NOW, 'UTC');
    expect(banner?.body).toContain('failed its check');
  });

  it('explains paid access that ended, with the free tier that applies', () => {
    const state = withStanding(signedIn('professional'), 'LICENSE_EXPIRED');
    state.license = { ...state.license, accessEndsAt: NOW - TIME.HOUR };
    const [banner] = banners(state, NOW, 'UTC');
    expect(banner?.title).toBe('Professional access ended');
    expect(banner?.body).toContain('ended on 26 Nov 2026, 11:00 (1 hour ago)');
    expect(banner?.body).toContain("Meanwhile you have the Free plan's features and limits.");
  });

  it('explains an inactive subscription and points at billing', () => {
    const [banner] = banners(withStanding(signedIn('professional'), 'SUBSCRIPTION_INACTIVE'), NOW, 'UTC');
    expect(banner?.title).toBe('Professional subscription not active');
    expect(banner?.body).toContain('Manage billing');
  });

  it('warns of an overdue payment with the grace end', () => {
    const state = signedIn('professional');
    state.subscription = { ...state.subscription!, status: 'past_due', pastDueGraceEndsAt: '2026-12-03T12:00:00.000Z' };
    const [banner] = banners(state, NOW, 'UTC');
    expect(banner).toMatchObject({ id: 'past-due', tone: 'warning' });
    expect(banner?.body).toContain('by 3 Dec 2026, 12:00 (in 7 days) to keep Professional');
  });

  it('passes a sync error on', () => {
    const state = signedIn('free');
    state.sync = { ...state.sync, status: 'error', lastError: 'The server answered 500' };
    expect(banners(state, NOW, 'UTC')).toEqual([
      { id: 'sync-error', tone: 'warning', title: 'Sync problem', body: 'The server answered 500' },
    ]);
  });
});
