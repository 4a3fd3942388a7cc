import { type Kysely, sql } from 'kysely';
import { up as createFirstVersion, down as dropFirstVersion } from './006_pg_metering.ts';
import { isPostgres } from './dialect.ts';

/**
 * 018_pg_meter_prepared: `tollgate_meter` decides the same things as in 006_pg_metering, at about
 * half the cost per event, so a batch holds its counter's lock for half as long (batches of one
 * account queue behind that lock). Measured on 1,000 events (bench/server.bench.ts), the time went
 * to work that does not need the database:
 * - which events repeat a key of the same call, and the counters' lock order, were two window
 *   sorts in SQL; the caller now passes them (`p_first`, `p_counter` and the distinct counters),
 *   which the server computes in one pass (metering/pg-meter.ts);
 * - the lookup of keys stored before was a hash join over all of usage_events (its cost grew with
 *   the table); it is now one index probe per event;
 * - the stored rows and the answers were read back by subscript (`kinds[j]`), each a walk along the
 *   array; they are now read by unnest;
 * - a batch (all or nothing, one account) looks its keys up before it waits for its counter's lock
 *   instead of while holding it.
 *
 * The counters' current values come back aligned with the caller's counter list by joining on the
 * key, so the lock order is still PostgreSQL's own byte order ("C") whatever order the caller sent.
 */

/** Each event's key as stored before (its status and first answer), or nulls: one index probe per event. */
const CREATE_SEEN = sql`
CREATE FUNCTION tollgate_meter_seen(p_accounts text[], p_keys text[], OUT statuses text[], OUT answers text[])
LANGUAGE plpgsql STABLE AS $fn$
BEGIN
  -- PL/pgSQL rather than SQL so that its plan is kept between calls.
  SELECT array_agg(e.status ORDER BY t.i), array_agg(e.result_json ORDER BY t.i)
    INTO statuses, answers
    FROM unnest(p_accounts, p_keys) WITH ORDINALITY AS t(a, k, i)
    LEFT JOIN LATERAL (SELECT ue.status, ue.result_json FROM usage_events ue
                        WHERE ue.account_id = t.a AND ue.idempotency_key = t.k) AS e ON true;
END
$fn$`;

const CREATE = sql`
CREATE FUNCTION tollgate_meter(
  p_accounts text[], p_operations text[], p_units bigint[], p_keys text[], p_limits bigint[],
  p_periods text[], p_occurred bigint[], p_created bigint[], p_thresholds int[], p_whole boolean,
  p_first int[], p_counter int[], p_counter_accounts text[], p_counter_operations text[], p_counter_periods text[]
) RETURNS TABLE (outcome text, event_status text, result_json text)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  n int := coalesce(array_length(p_keys, 1), 0);
  counters int := coalesce(array_length(p_counter_accounts, 1), 0);
  seen_status text[];
  seen_json text[];
  c_used bigint[];
  c_reserved bigint[];
  c_delta bigint[];
  kinds text[] := array_fill(NULL::text, ARRAY[n]);
  statuses text[] := array_fill(NULL::text, ARRAY[n]);
  answers text[] := array_fill(NULL::text, ARRAY[n]);
  fresh_count int := 0;
  any_slow boolean := false;
  stored int;
  i int;
  c int;
  f int;
  lim bigint;
  before bigint;
  after bigint;
  slow boolean;
  threshold int;
BEGIN
  IF n = 0 THEN RETURN; END IF;

  IF p_whole THEN
    -- A batch looks its keys up before it waits for its counter, which the account's other batches
    -- hold in turn: a key a racer stores meanwhile makes the insert below store fewer rows than it
    -- decided, and the call fails as a whole (serialization_failure) and is decided again.
    SELECT seen.statuses, seen.answers INTO seen_status, seen_json FROM tollgate_meter_seen(p_accounts, p_keys) AS seen;
  END IF;

  -- Lock the counters in byte order. A counter's first use this period creates it (a concurrent
  -- creator wins harmlessly), and then all of them are locked again.
  FOR attempt IN 1 .. 2 LOOP
    SELECT array_agg(l.used ORDER BY t.ord), array_agg(l.reserved ORDER BY t.ord), count(l.used)
      INTO c_used, c_reserved, stored
      FROM unnest(p_counter_accounts, p_counter_operations, p_counter_periods) WITH ORDINALITY AS t(a, o, p, ord)
      LEFT JOIN (SELECT uc.account_id, uc.operation, uc.period, uc.used, uc.reserved
                   FROM usage_counters uc
                  WHERE (uc.account_id, uc.operation, uc.period) IN
                        (SELECT a, o, p FROM unnest(p_counter_accounts, p_counter_operations, p_counter_periods) AS k(a, o, p))
                  ORDER BY uc.account_id COLLATE "C", uc.operation COLLATE "C", uc.period COLLATE "C"
                    FOR UPDATE) AS l
        ON l.account_id = t.a AND l.operation = t.o AND l.period = t.p;
    EXIT WHEN stored = counters OR attempt = 2;
    INSERT INTO usage_counters (account_id, operation, period, used, reserved)
    SELECT t.a, t.o, t.p, 0, 0
      FROM unnest(p_counter_accounts, p_counter_operations, p_counter_periods) AS t(a, o, p)
     ORDER BY t.a COLLATE "C", t.o COLLATE "C", t.p COLLATE "C"
    ON CONFLICT DO NOTHING;
  END LOOP;
  IF stored <> counters THEN
    RAISE EXCEPTION 'tollgate_meter: a usage counter disappeared' USING ERRCODE = 'serialization_failure';
  END IF;

  IF NOT p_whole THEN
    -- Under the counters' locks: a key stored before, by this account's earlier calls or anyone's
    -- (so a replay racing its original on the same counter finds it, rather than failing the group).
    SELECT seen.statuses, seen.answers INTO seen_status, seen_json FROM tollgate_meter_seen(p_accounts, p_keys) AS seen;
  END IF;
  c_delta := array_fill(0::bigint, ARRAY[counters]);

  FOR i IN 1 .. n LOOP
    f := p_first[i];
    IF f < i THEN
      -- The same key earlier in this call: its answer stands.
      kinds[i] := CASE WHEN kinds[f] = 'slow' THEN 'slow' ELSE 'seen' END;
      statuses[i] := statuses[f];
      answers[i] := answers[f];
      CONTINUE;
    END IF;
    IF seen_status[i] IS NOT NULL THEN
      kinds[i] := 'seen';
      statuses[i] := seen_status[i];
      answers[i] := seen_json[i];
      CONTINUE;
    END IF;
    c := p_counter[i];
    lim := p_limits[i];
    before := c_used[c];
    after := before + p_units[i];
    slow := false;
    IF lim <> -1 THEN
      slow := before + c_reserved[c] + p_units[i] > lim;
      IF NOT slow AND lim > 0 THEN
        FOREACH threshold IN ARRAY p_thresholds LOOP
          IF before * 100 < threshold * lim AND after * 100 >= threshold * lim THEN slow := true; END IF;
        END LOOP;
      END IF;
    END IF;
    IF slow THEN
      kinds[i] := 'slow';
      any_slow := true;
      CONTINUE;
    END IF;
    c_used[c] := after;
    c_delta[c] := c_delta[c] + p_units[i];
    fresh_count := fresh_count + 1;
    kinds[i] := 'fresh';
    statuses[i] := 'accepted';
    answers[i] := json_build_object(
      'status', 200,
      'body', CASE WHEN lim = -1
        THEN json_build_object('idempotencyKey', p_keys[i], 'operation', p_operations[i], 'units', p_units[i],
                               'period', p_periods[i], 'used', after, 'limit', lim)
        ELSE json_build_object('idempotencyKey', p_keys[i], 'operation', p_operations[i], 'units', p_units[i],
                               'period', p_periods[i], 'used', after, 'limit', lim,
                               'remaining', greatest(0, lim - after - c_reserved[c]))
      END)::text;
  END LOOP;

  IF p_whole AND any_slow THEN
    RETURN QUERY SELECT 'slow'::text, NULL::text, NULL::text FROM generate_series(1, n);
    RETURN;
  END IF;

  IF fresh_count > 0 THEN
    -- One statement stores the accepted events and bumps each counter once.
    WITH stored_events AS (
      INSERT INTO usage_events
        (account_id, idempotency_key, operation, units, period, status, result_json, occurred_at, created_at)
      SELECT t.a, t.k, t.o, t.u, t.p, 'accepted', t.answer, t.oc, t.cr
        FROM unnest(p_accounts, p_keys, p_operations, p_units, p_periods, answers, p_occurred, p_created, kinds)
               AS t(a, k, o, u, p, answer, oc, cr, kind)
       WHERE t.kind = 'fresh'
      ON CONFLICT DO NOTHING
      RETURNING 1
    ), bumped AS (
      UPDATE usage_counters u SET used = u.used + d.delta
        FROM unnest(p_counter_accounts, p_counter_operations, p_counter_periods, c_delta) AS d(a, o, p, delta)
       WHERE d.delta > 0 AND u.account_id = d.a AND u.operation = d.o AND u.period = d.p
      RETURNING 1
    )
    -- (A data-modifying WITH runs to completion whether or not it is read.)
    SELECT count(*) INTO stored FROM stored_events;
    IF stored <> fresh_count THEN
      -- Raising undoes the whole call, the counter bumps included.
      RAISE EXCEPTION 'tollgate_meter: an idempotency key was stored concurrently' USING ERRCODE = 'serialization_failure';
    END IF;
  END IF;

  RETURN QUERY SELECT * FROM unnest(kinds, statuses, answers);
END
$fn$`;

const DROP = sql`DROP FUNCTION IF EXISTS tollgate_meter(text[], text[], bigint[], text[], bigint[], text[], bigint[], bigint[], int[], boolean, int[], int[], text[], text[], text[])`;
const DROP_SEEN = sql`DROP FUNCTION IF EXISTS tollgate_meter_seen(text[], text[])`;

/** This version of tollgate_meter in place of whichever is there (020's down). */
export async function createMeter(db: Kysely<unknown>): Promise<void> {
  await DROP.execute(db);
  await CREATE.execute(db);
}

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  await dropFirstVersion(db);
  await CREATE_SEEN.execute(db);
  await CREATE.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  await DROP.execute(db);
  await DROP_SEEN.execute(db);
  await createFirstVersion(db);
}
