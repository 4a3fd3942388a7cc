import type { LicenseResponse } from '../../src-shared/api.ts';
import { effectiveFeatures, findTier } from '../../src-shared/catalog.ts';
import { type SubscriptionStatus, signLicense } from '../../src-shared/license.ts';
import type { AuthenticatedAccount } from '../accounts/sessions.ts';
import type { AccountPlan, ServerContext } from '../http/context.ts';
import { usageSnapshot } from '../metering/usage-snapshot.ts';
import { accessEndsAt } from '../plans/subscriptions.ts';

/**
 * Signs the license the companion caches: the plan that applies now, this period's usage and the
 * offline grace (`exp`). The status → access verdict is the server's, made in subscriptions.ts.
 * `nonce`, the request's, is signed in as is: it is what lets the companion trust this license's
 * `iat` as the time now (docs/security.md, "Trusted time").
 */
export async function issueLicense(
  context: ServerContext,
  account: AuthenticatedAccount,
  { row, plan }: AccountPlan,
  deviceId: string,
  nonce?: string,
): Promise<LicenseResponse> {
  const now = context.now();
  const usage = await usageSnapshot(context.db, context.catalog, account.id, plan, now);
  const offlineGraceSeconds = Math.floor(context.config.offlineGraceMs / 1000);
  const endsAt = accessEndsAt(row, plan);
  const token = await signLicense(
    {
      sub: account.id,
      dev: deviceId,
      email: account.email,
      // The subscribed tier, even when lapsed: `access` false makes the companion fall back to free.
      tier: plan.subscribedTier,
      status: row.status as SubscriptionStatus,
      access: plan.access,
      accessEndsAt: endsAt,
      // Without access these are already the free tier's (entitledPlan): the companion grants only them.
      features: plan.features,
      limits: plan.limits,
      // Paid access that ends by itself: the free tier that follows is signed too, so a companion
      // offline at that moment falls back to it without reading its (user-editable) cached catalog.
      ...(endsAt === null
        ? {}
        : {
            afterAccessEnds: {
              features: effectiveFeatures(context.catalog, 'free'),
              limits: findTier(context.catalog, 'free').limits,
            },
          }),
      period: usage.period,
      usage: Object.fromEntries(Object.entries(usage.operations).map(([op, counter]) => [op, counter.used])),
      ...(nonce === undefined ? {} : { nonce }),
    },
    context.licenseKey.privateJwk,
    { now, offlineGraceSeconds },
  );
  return {
    token,
    expiresAt: new Date((Math.floor(now / 1000) + offlineGraceSeconds) * 1000).toISOString(),
    serverTime: new Date(now).toISOString(),
  };
}
