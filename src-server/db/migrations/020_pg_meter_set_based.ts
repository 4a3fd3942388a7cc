import { type Kysely, sql } from 'kysely';
import { createMeter as createPreviousVersion } from './018_pg_meter_prepared.ts';
import { isPostgres } from './dialect.ts';

/**
 * 020_pg_meter_set_based: `tollgate_meter` decides as in 018_pg_meter_prepared, with a set-based
 * path for the common case (no key of the call repeated or stored before, nothing slow). A batch
 * holds its account's counter lock from the lock to the commit, so everything the function does
 * after the lock is paid by every other batch of that account in turn. Measured one call at a time
 * (backend CPU per call): a 1,000-event batch 33–35 ms → 13.5–14.5 ms, a group of 8 consumes over
 * many accounts 2.3–3.5 ms → 1.5–1.8 ms. Where it went:
 * - the store was INSERT … ON CONFLICT DO NOTHING, a speculative insertion per row (the index is
 *   probed, the row inserted, then the insertion confirmed), about twice a plain insert;
 * - every call looked each key up first (one index probe per event) although a repeated key is
 *   the rare case: the plain insert's own uniqueness check now finds it, and only then is the call
 *   decided one event at a time, with the lookup, as before;
 * - the per-event PL/pgSQL loop (about fifteen statements an event) is one statement with a running
 *   sum per counter;
 * - each answer was two json_build_object calls, which look up every argument's type on every
 *   call; it is now written by tollgate_meter_answer, a SQL expression PostgreSQL inlines (about
 *   half the cost). Both paths use it, so an answer reads the same whichever path stored it; the
 *   text differs from the earlier versions' only in spacing;
 * - the counters were locked through a join the planner ran as a sequential scan and a hash join
 *   (a table of a few thousand rows looks cheap to scan), and updated through another; they are now
 *   locked by one index probe each, in the order sent, and updated by row address;
 * - every statement was planned again on every call (see the function's settings below).
 * A batch no longer looks its keys up before it waits for its counter: the set-based path does no
 * lookup, and the one-at-a-time path looks them up under the lock, as a group of consumes does.
 */

/** A fresh event's answer as stored and returned (`remaining` only on a limited plan). */
const CREATE_ANSWER = sql`
CREATE FUNCTION tollgate_meter_answer(
  p_key text, p_operation text, p_units bigint, p_period text, p_used bigint, p_limit bigint, p_reserved bigint
) RETURNS text LANGUAGE sql STABLE AS $fn$
  SELECT '{"status":200,"body":{"idempotencyKey":' || to_json(p_key) || ',"operation":' || to_json(p_operation)
      || ',"units":' || p_units || ',"period":' || to_json(p_period) || ',"used":' || p_used || ',"limit":' || p_limit
      || CASE WHEN p_limit = -1 THEN '' ELSE ',"remaining":' || greatest(0, p_limit - p_used - p_reserved) END
      || '}}'
$fn$`;

const DROP_ANSWER = sql`DROP FUNCTION IF EXISTS tollgate_meter_answer(text, text, bigint, text, bigint, bigint, bigint)`;

const CREATE = sql`
CREATE OR REPLACE FUNCTION tollgate_meter(
  p_accounts text[], p_operations text[], p_units bigint[], p_keys text[], p_limits bigint[],
  p_periods text[], p_occurred bigint[], p_created bigint[], p_thresholds int[], p_whole boolean,
  p_first int[], p_counter int[], p_counter_accounts text[], p_counter_operations text[], p_counter_periods text[]
) RETURNS TABLE (outcome text, event_status text, result_json text)
LANGUAGE plpgsql VOLATILE
-- Every table is read by key, one index probe per element of a list sent: planned once per
-- connection rather than on every call, and never as a sequential scan. Statistics taken while a
-- table was nearly empty (a new database, or the first days of a period) make a scan look cheaper
-- than a probe; measured with 1,000 accounts analyzed before their counters existed, that tripled
-- the database's CPU per consume until the next analyze.
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $fn$
DECLARE
  n int := coalesce(array_length(p_keys, 1), 0);
  counters int := coalesce(array_length(p_counter_accounts, 1), 0);
  seen_status text[];
  seen_json text[];
  c_used bigint[];
  c_reserved bigint[];
  c_delta bigint[];
  c_rows tid[];
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

  -- Lock the counters in byte order, one index probe each: the sorted list drives a nested loop
  -- (a subquery with FOR UPDATE is never flattened into a join), so the rows are locked in the
  -- list's order whatever the table's size; row addresses are kept for the update below (a row
  -- this transaction has locked cannot move). A counter's first use this period creates it (a
  -- concurrent creator wins harmlessly), and then all of them are locked again.
  FOR attempt IN 1 .. 2 LOOP
    SELECT array_agg(l.used ORDER BY t.ord), array_agg(l.reserved ORDER BY t.ord), array_agg(l.ctid ORDER BY t.ord),
           count(l.used)
      INTO c_used, c_reserved, c_rows, stored
      FROM (SELECT * FROM unnest(p_counter_accounts, p_counter_operations, p_counter_periods) WITH ORDINALITY AS u(a, o, p, ord)
             ORDER BY u.a COLLATE "C", u.o COLLATE "C", u.p COLLATE "C") AS t
      LEFT JOIN LATERAL (SELECT uc.used, uc.reserved, uc.ctid FROM usage_counters uc
                          WHERE uc.account_id = t.a AND uc.operation = t.o AND uc.period = t.p
                            FOR UPDATE) AS l ON true;
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

  -- The common case in a few set-based statements: no key repeats within the call, none was stored
  -- before, and nothing is slow. Every event is counted as fresh (a running sum per counter) and
  -- stored with a plain insert. A key stored before, by an earlier call or by a racer that has
  -- just committed, fails that insert at its first such key (unique_violation): what the block
  -- did is undone and the call is decided one event at a time below. So is one that is slow.
  IF NOT EXISTS (SELECT 1 FROM unnest(p_first) WITH ORDINALITY AS t(f, i) WHERE t.f < t.i) THEN
    BEGIN
      SELECT bool_or(v.slow), array_agg(v.answer ORDER BY v.i) INTO any_slow, answers
        FROM (SELECT w.i,
                     w.lim <> -1 AND (w.after + c_reserved[w.c] > w.lim
                       OR (w.lim > 0 AND EXISTS (SELECT 1 FROM unnest(p_thresholds) AS th(v)
                                                  WHERE (w.after - w.u) * 100 < th.v * w.lim AND w.after * 100 >= th.v * w.lim))) AS slow,
                     tollgate_meter_answer(w.k, w.o, w.u, w.p, w.after, w.lim, c_reserved[w.c]) AS answer
                FROM (SELECT t.i, t.k, t.o, t.u, t.p, t.lim, t.c,
                             (c_used[t.c] + sum(t.u) OVER (PARTITION BY t.c ORDER BY t.i ROWS UNBOUNDED PRECEDING))::bigint AS after
                        FROM unnest(p_keys, p_operations, p_units, p_periods, p_limits, p_counter)
                               WITH ORDINALITY AS t(k, o, u, p, lim, c, i)) AS w) AS v;
      IF NOT any_slow THEN
        INSERT INTO usage_events
          (account_id, idempotency_key, operation, units, period, status, result_json, occurred_at, created_at)
        SELECT t.a, t.k, t.o, t.u, t.p, 'accepted', t.answer, t.oc, t.cr
          FROM unnest(p_accounts, p_keys, p_operations, p_units, p_periods, answers, p_occurred, p_created)
                 AS t(a, k, o, u, p, answer, oc, cr);
        UPDATE usage_counters u SET used = u.used + d.delta
          FROM (SELECT c_rows[x.c] AS row, sum(x.u)::bigint AS delta FROM unnest(p_counter, p_units) AS x(c, u) GROUP BY x.c) AS d
         WHERE u.ctid = d.row;
        fresh_count := n;
      END IF;
    EXCEPTION WHEN unique_violation THEN
      fresh_count := 0;
    END;
    IF fresh_count = n THEN
      RETURN QUERY SELECT 'fresh'::text, 'accepted'::text, x.answer FROM unnest(answers) AS x(answer);
      RETURN;
    END IF;
    answers := array_fill(NULL::text, ARRAY[n]);
    any_slow := false;
  END IF;

  -- One event at a time. Under the counters' locks: each key as stored before, by this account's
  -- earlier calls or anyone's (so a replay racing its original on the same counter finds it).
  SELECT seen.statuses, seen.answers INTO seen_status, seen_json FROM tollgate_meter_seen(p_accounts, p_keys) AS seen;
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
    answers[i] := tollgate_meter_answer(p_keys[i], p_operations[i], p_units[i], p_periods[i], after, lim, c_reserved[c]);
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
        FROM unnest(c_rows, c_delta) AS d(row, delta)
       WHERE d.delta > 0 AND u.ctid = d.row
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

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  await CREATE_ANSWER.execute(db);
  await CREATE.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  await createPreviousVersion(db);
  await DROP_ANSWER.execute(db);
}
