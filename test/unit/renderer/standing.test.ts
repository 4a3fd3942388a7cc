import { describe, expect, it } from 'vitest';
import { banners } from '../../../src-renderer/view/standing.ts';
import { NOW, offline, signedIn, signedOut, TIME, withStanding } from '../../support/companion-states.ts';

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
    expect(standing?.body).toContain("Meanwhile you have the Free plan's features and limits.");
  });

  it('explains a clock set back', () => {
    const [banner] = banners(withStanding(signedIn('professional'), 'CLOCK_TAMPERED'), NOW, 'UTC');
    expect(banner?.title).toBe("This computer's clock looks wrong");
    expect(banner?.body).toContain('Set the correct date and time');
  });

  it('explains a tampered license', () => {
    const [banner] = banners(withStanding(signedIn('professional'), 'LICENSE_INVALID'), NOW, 'UTC');
    expect(banner?.title).toBe('Saved license failed its check');
    expect(banner?.body).toContain('was changed or damaged');
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
