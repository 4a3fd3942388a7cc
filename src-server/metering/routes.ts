import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  ConsumeBody,
  ConsumeResult,
  DecisionView,
  Problem,
  Reservation,
  ReserveBody,
  SizeCheckBody,
  UsageEvent,
  type UsageEventResult,
  UsageEventsBody,
  UsageEventsResponse,
} from '../../src-shared/api.ts';
import { decide } from '../../src-shared/decisions.ts';
import { periodOf } from '../../src-shared/period.ts';
import { accountOf, planOf } from '../http/context.ts';
import { ApiError } from '../http/errors.ts';
import { usageOutcomes } from '../http/metrics.ts';
import { countMeteredBatch } from '../http/rate-limit.ts';
import type { UsageOutcome, UsageRequest } from './decision.ts';
import { consumeAnswer, eventResult, eventStatus, recordUsage } from './metering.ts';
import { reservationView, reserve, settleReservation } from './reservations.ts';

const ReservationParams = z.strictObject({ id: z.string().min(1).max(100) });

/** Metering: single consumes, batches from the companion, reservations and the size gate. */
export const usageRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, dialect, catalog, now } = app.tollgate;
  const store = { db, dialect, catalog };

  /** Keeps the highest journal <seq> of (account, device); returns it, the one just sent included. */
  async function raiseJournalHead(account: string, journal: { deviceId: string; seq: number }, at: number) {
    const before = await db
      .selectFrom('journal_heads')
      .select('seq')
      .where('account_id', '=', account)
      .where('device_id', '=', journal.deviceId)
      .executeTakeFirst();
    // Only ever raised: racing requests of one device leave the highest.
    await db
      .insertInto('journal_heads')
      .values({ account_id: account, device_id: journal.deviceId, seq: journal.seq, updated_at: at })
      .onConflict((conflict) =>
        conflict
          .columns(['account_id', 'device_id'])
          .doUpdateSet((eb) => ({ seq: eb.ref('excluded.seq'), updated_at: eb.ref('excluded.updated_at') }))
          .where('journal_heads.seq', '<', (eb) => eb.ref('excluded.seq')),
      )
      .execute();
    return Math.max(Number(before?.seq ?? 0), journal.seq);
  }

  function knownOperation(operation: string): void {
    if (!Object.hasOwn(catalog.operations, operation)) {
      throw new ApiError('UNKNOWN_OPERATION', `Metered operations: ${Object.keys(catalog.operations).join(', ')}.`);
    }
  }

  app.post(
    '/v1/usage/consume',
    {
      config: { access: 'metered' },
      schema: {
        tags: ['usage'],
        summary: 'Spend units of an operation once per idempotency key (402 over the monthly limit)',
        body: ConsumeBody,
        response: { 200: ConsumeResult, 402: Problem },
      },
    },
    async (request, reply) => {
      knownOperation(request.body.operation);
      const { plan } = await planOf(request);
      const outcomes = await recordUsage(store, accountOf(request).id, plan, [request.body], now());
      const answer = consumeAnswer(outcomes[0] as UsageOutcome);
      usageOutcomes.inc({ kind: 'consume', outcome: eventStatus(outcomes[0] as UsageOutcome) });
      if (answer.status === 200) return reply.code(200).send(answer.body as ConsumeResult);
      return reply
        .code(402)
        .type('application/problem+json; charset=utf-8')
        .send(answer.body as Problem);
    },
  );

  app.post(
    '/v1/usage/events',
    {
      config: { access: 'housekeeping' },
      schema: {
        tags: ['usage'],
        summary: "Record a batch of the companion's usage events, each once per idempotency key",
        body: UsageEventsBody,
        response: { 200: UsageEventsResponse },
      },
    },
    async (request, reply) => {
      const { plan } = await planOf(request);
      const at = now();
      // Each event is checked on its own: a bad one is answered for itself and the rest are counted.
      const results: (UsageEventResult | null)[] = [];
      const usable: { index: number; event: UsageRequest }[] = [];
      // Outcomes are tallied and counted once each (a labelled counter costs a lookup per call).
      const tally = new Map<string, number>();
      const count = (outcome: string) => tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
      request.body.events.forEach((raw, index) => {
        const parsed = UsageEvent.safeParse(raw);
        if (!parsed.success) {
          results.push(refusedEvent(index, raw, 'EVENT_INVALID', z.prettifyError(parsed.error)));
          count('rejected');
        } else if (!Object.hasOwn(catalog.operations, parsed.data.operation)) {
          results.push(refusedEvent(index, raw, 'UNKNOWN_OPERATION'));
          count('rejected');
        } else {
          const { idempotencyKey, operation, units, occurredAt } = parsed.data;
          const event = { idempotencyKey, operation, units, occurredAt: occurredAt ? Date.parse(occurredAt) : null };
          usable.push({ index, event });
          results.push(null);
        }
      });
      try {
        if (usable.length > 0) await meterUsable();
      } finally {
        for (const [outcome, times] of tally) usageOutcomes.inc({ kind: 'batch', outcome }, times);
      }
      async function meterUsable() {
        await countMeteredBatch(request, reply);
        const outcomes = await recordUsage(
          store,
          accountOf(request).id,
          plan,
          usable.map((u) => u.event),
          at,
          request.body.deviceId,
        );
        outcomes.forEach((outcome, i) => {
          const { index } = usable[i] as { index: number };
          results[index] = eventResult(outcome, index);
          count(results[index].status);
        });
      }
      const journal = request.body.journal
        ? { highestSeq: await raiseJournalHead(accountOf(request).id, request.body.journal, at) }
        : undefined;
      return { period: periodOf(at), results: results as UsageEventResult[], ...(journal ? { journal } : {}) };
    },
  );

  app.post(
    '/v1/usage/reservations',
    {
      config: { access: 'metered' },
      schema: {
        tags: ['usage'],
        summary: 'Hold units for a long operation until committed, released or expired',
        body: ReserveBody,
        response: { 200: Reservation, 201: Reservation, 402: Problem },
      },
    },
    async (request, reply) => {
      knownOperation(request.body.operation);
      const { plan } = await planOf(request);
      const { reservation, fresh } = await reserve(store, accountOf(request).id, plan, request.body, now());
      return reply.code(fresh ? 201 : 200).send(reservation);
    },
  );

  app.get(
    '/v1/usage/reservations/:id',
    {
      config: { access: 'housekeeping' },
      schema: {
        tags: ['usage'],
        summary: 'One of your reservations',
        params: ReservationParams,
        response: { 200: Reservation },
      },
    },
    async (request) => {
      const row = await db
        .selectFrom('reservations')
        .selectAll()
        .where('id', '=', request.params.id)
        .where('account_id', '=', accountOf(request).id)
        .executeTakeFirst();
      if (!row) throw new ApiError('RESERVATION_NOT_FOUND');
      return reservationView(row);
    },
  );

  for (const settlement of ['commit', 'release'] as const) {
    app.post(
      `/v1/usage/reservations/:id/${settlement}`,
      {
        config: { access: 'housekeeping' },
        schema: {
          tags: ['usage'],
          summary:
            settlement === 'commit'
              ? 'Turn a held reservation into usage'
              : 'Give the units of a held reservation back',
          params: ReservationParams,
          response: { 200: Reservation },
        },
      },
      async (request) => {
        const { plan } = await planOf(request);
        return settleReservation(store, accountOf(request).id, plan, request.params.id, settlement, now());
      },
    );
  }

  app.post(
    '/v1/usage/size-check',
    {
      config: { access: 'housekeeping' },
      schema: {
        tags: ['usage'],
        summary: "May a project of this size be processed on the caller's plan?",
        body: SizeCheckBody,
        response: { 200: DecisionView },
      },
    },
    async (request) => {
      const { plan } = await planOf(request);
      return decide(
        { catalog, plan: { tier: plan.tier, limits: plan.limits, features: plan.features, standing: 'ok' } },
        { kind: 'size', sizeMb: request.body.sizeMb },
      );
    },
  );
};

/** The answer for a batch event that was not counted because the event itself is unusable. */
function refusedEvent(
  index: number,
  raw: unknown,
  code: 'EVENT_INVALID' | 'UNKNOWN_OPERATION',
  detail?: string,
): UsageEventResult {
  const key = (raw as { idempotencyKey?: unknown } | null)?.idempotencyKey;
  return {
    index,
    idempotencyKey: typeof key === 'string' && key.length <= 128 ? key : '',
    status: 'rejected',
    code,
    ...(detail ? { detail } : {}),
    used: 0,
    limit: 0,
  };
}
