import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TrialBody, TrialResponse } from '../../src-shared/api.ts';
import { findTier } from '../../src-shared/catalog.ts';
import { inTransaction } from '../db/transactions.ts';
import { listDevices } from '../devices/registry.ts';
import { deviceStore } from '../devices/routes.ts';
import { accountOf, planOf } from '../http/context.ts';
import { ApiError } from '../http/errors.ts';
import { sweepTrialEndings } from './trial-ending.ts';
import { grantTrial, readTrialClaim } from './trials.ts';

const DAY_MS = 86_400_000;
/** How often the trial.ending sweep may run, by the server's clock (a test clock moved on days runs it at once). */
const TRIAL_SWEEP_EVERY_MS = 60_000;
const TRIAL_SWEEP_POLL_MS = 1_000;

/** The cardless trial a free account starts itself, and the sweep that announces its end (trial.ending). */
export const trialRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, dialect, catalog, now } = app.tollgate;

  app.post(
    '/v1/trial',
    {
      config: { access: 'housekeeping' },
      schema: {
        tags: ['plans'],
        summary: "Starts the catalog's cardless trial of a paid tier: once per account and once per device",
        description:
          'No card and no checkout: the account gets the trial tier until `endsAt` (licenses say so in ' +
          '`accessEndsAt`), then falls back to free by itself. `deviceId` is the id the companion sends ' +
          'with its license requests; the device must be active on this account. 409 TRIAL_ALREADY_USED ' +
          'when this account, or any account on this device, had the trial; 409 TRIAL_NOT_AVAILABLE when ' +
          'the catalog offers none or the account is not on the free plan.',
        body: TrialBody,
        response: { 201: TrialResponse },
      },
    },
    async (request, reply) => {
      const account = accountOf(request);
      const offer = catalog.trial;
      if (!offer) throw new ApiError('TRIAL_NOT_AVAILABLE', 'This product offers no free trial.');
      const tierName = findTier(catalog, offer.tier).name;
      const earlier = await readTrialClaim(db, account.id);
      if (earlier) throw alreadyUsedByAccount(tierName, earlier.endsAt);
      const { plan } = await planOf(request);
      if (plan.tier !== 'free') {
        throw new ApiError(
          'TRIAL_NOT_AVAILABLE',
          plan.trialEndsAt === undefined
            ? `Your plan is ${findTier(catalog, plan.tier).name} already: the free trial is for accounts on the free plan.`
            : `A trial of ${findTier(catalog, plan.tier).name} is running until ${day(plan.trialEndsAt)}.`,
        );
      }
      const at = now();
      const { deviceId } = request.body;
      const devices = await listDevices(deviceStore(app.tollgate), account.id, at);
      if (!devices.some((device) => device.deviceId === deviceId)) {
        throw new ApiError(
          'DEVICE_NOT_FOUND',
          'This device is not active on your account: let the companion sync (its license request activates it), then start the trial.',
        );
      }
      const trial = { tier: offer.tier, grantedAt: at, endsAt: at + offer.days * DAY_MS };
      await inTransaction(db, async (trx) => {
        // Both keys are unique: of two racing claims by one account or on one device, one inserts.
        const claimed = await trx
          .insertInto('trial_claims')
          .values({
            account_id: account.id,
            device_id: deviceId,
            tier: offer.tier,
            started_at: at,
            ends_at: trial.endsAt,
          })
          .onConflict((conflict) => conflict.doNothing())
          .returning('account_id')
          .executeTakeFirst();
        if (!claimed) {
          const mine = await readTrialClaim(trx, account.id);
          if (mine) throw alreadyUsedByAccount(tierName, mine.endsAt);
          throw new ApiError(
            'TRIAL_ALREADY_USED',
            `This device already had the free ${tierName} trial, with another account. Upgrade to ${tierName} to keep its limits and features.`,
          );
        }
        await grantTrial(trx, account.id, trial);
      });
      return reply.code(201).send({
        tier: offer.tier,
        days: offer.days,
        startedAt: new Date(at).toISOString(),
        endsAt: new Date(trial.endsAt).toISOString(),
      });
    },
  );

  let nextSweepAt = 0;
  const sweep = setInterval(() => {
    const at = now();
    if (at < nextSweepAt) return;
    nextSweepAt = at + TRIAL_SWEEP_EVERY_MS;
    sweepTrialEndings({ db, dialect }, at).catch((error: unknown) =>
      app.log.warn({ err: error }, 'trial.ending sweep failed'),
    );
  }, TRIAL_SWEEP_POLL_MS);
  sweep.unref();
  app.addHook('onClose', async () => clearInterval(sweep));
};

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function alreadyUsedByAccount(tierName: string, endedAt: number): ApiError {
  return new ApiError(
    'TRIAL_ALREADY_USED',
    `This account already had its free ${tierName} trial (until ${day(endedAt)}): it is once per account. Upgrade to ${tierName} to keep its limits and features.`,
  );
}
