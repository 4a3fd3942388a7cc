import { type Kysely, sql } from 'kysely';
import { isPostgres } from './dialect.ts';

/**
 * 006_pg_metering: on PostgreSQL, the common case of metering in one statement — one round trip
 * for a whole group of consumes, or for a whole batch (src-server/metering/pg-meter.ts calls it).
 * SQLite has nothing to create: its metering runs in process (metering/metering.ts).
 *
 * `tollgate_meter(…)` takes one array per column (element i of each is event i) and returns, for
 * every event in order, one outcome:
 * - `seen`: the key was stored before (or earlier in this call): its first answer, changed nothing;
 * - `fresh`: accepted and stored now, its counter bumped;
 * - `slow`: not decided here, nothing of it stored — it does not fit (a refusal with its upgrade
 *   suggestion, or units held by reservations that may have expired) or it crosses a notification
 *   threshold. The server decides those in TypeScript, in a transaction of their own
 *   (metering/metering.ts), so the rules for refusals and notifications stay written once.
 * With `whole` (a batch, all or nothing like on SQLite) one slow event makes every event slow.
 *
 * Counter rows are created when missing and locked in one fixed order (account, operation,
 * period, in byte order) before anything is decided, so two calls never wait on each other in a cycle; the
 * accepting inequality is the same as the TypeScript one (`limit = -1 or used + reserved + units
 * <= limit`). A key another transaction stored meanwhile (racers on different operations hold
 * different counter locks) fails the call with serialization_failure: the caller decides again.
 */

const CREATE = sql`
CREATE FUNCTION tollgate_meter(
  p_accounts text[], p_operations text[], p_units bigint[], p_keys text[], p_limits bigint[],
  p_periods text[], p_occurred bigint[], p_created bigint[], p_thresholds int[], p_whole boolean
) RETURNS TABLE (outcome text, event_status text, result_json text)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  n int := coalesce(array_length(p_keys, 1), 0);
  first_of int[];
  counter_of int[];
  seen_status text[];
  seen_json text[];
  c_accounts text[];
  c_operations text[];
  c_periods text[];
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

  -- Work that needs no lock first: each event's first occurrence of its key in this call, and its
  -- counter's number in the lock order (byte order, "C": sorting is cheap and means the same to
  -- every caller, metering/counters.ts included). A call of one event has nothing to sort.
  IF n = 1 THEN
    first_of := ARRAY[1];
    counter_of := ARRAY[1];
    c_accounts := p_accounts;
    c_operations := p_operations;
    c_periods := p_periods;
  ELSE
    SELECT array_agg(s.first_i ORDER BY s.i), array_agg(s.counter_i ORDER BY s.i)
      INTO first_of, counter_of
      FROM (SELECT t.i::int AS i,
                   (min(t.i) OVER (PARTITION BY t.a, t.k))::int AS first_i,
                   (dense_rank() OVER (ORDER BY t.a COLLATE "C", t.o COLLATE "C", t.p COLLATE "C"))::int AS counter_i
              FROM unnest(p_accounts, p_keys, p_operations, p_periods) WITH ORDINALITY AS t(a, k, o, p, i)) AS s;
    SELECT array_agg(d.a ORDER BY d.a COLLATE "C", d.o COLLATE "C", d.p COLLATE "C"),
           array_agg(d.o ORDER BY d.a COLLATE "C", d.o COLLATE "C", d.p COLLATE "C"),
           array_agg(d.p ORDER BY d.a COLLATE "C", d.o COLLATE "C", d.p COLLATE "C")
      INTO c_accounts, c_operations, c_periods
      FROM (SELECT DISTINCT a, o, p FROM unnest(p_accounts, p_operations, p_periods) AS t(a, o, p)) AS d;
  END IF;

  -- Lock the counters in that order. A counter's first use this period creates it (a concurrent
  -- creator wins harmlessly), and then all of them are locked again.
  FOR attempt IN 1 .. 2 LOOP
    SELECT array_agg(l.used ORDER BY l.ord), array_agg(l.reserved ORDER BY l.ord), count(*)
      INTO c_used, c_reserved, stored
      FROM (SELECT u.used, u.reserved,
                   row_number() OVER (ORDER BY u.account_id COLLATE "C", u.operation COLLATE "C", u.period COLLATE "C") AS ord
              FROM (SELECT uc.account_id, uc.operation, uc.period, uc.used, uc.reserved
                      FROM usage_counters uc
                     WHERE (uc.account_id, uc.operation, uc.period) IN
                           (SELECT a, o, p FROM unnest(c_accounts, c_operations, c_periods) AS t(a, o, p))
                     ORDER BY uc.account_id COLLATE "C", uc.operation COLLATE "C", uc.period COLLATE "C"
                       FOR UPDATE) AS u) AS l;
    EXIT WHEN stored = array_length(c_accounts, 1) OR attempt = 2;
    INSERT INTO usage_counters (account_id, operation, period, used, reserved)
    SELECT a, o, p, 0, 0 FROM unnest(c_accounts, c_operations, c_periods) WITH ORDINALITY AS t(a, o, p, ord)
    ORDER BY ord
    ON CONFLICT DO NOTHING;
  END LOOP;
  IF stored <> array_length(c_accounts, 1) THEN
    RAISE EXCEPTION 'tollgate_meter: a usage counter disappeared' USING ERRCODE = 'serialization_failure';
  END IF;

  -- Under the counters' locks: a key stored before, by this account's earlier calls or anyone's.
  SELECT array_agg(e.status ORDER BY t.i), array_agg(e.result_json ORDER BY t.i)
    INTO seen_status, seen_json
    FROM unnest(p_accounts, p_keys) WITH ORDINALITY AS t(a, k, i)
    LEFT JOIN usage_events e ON e.account_id = t.a AND e.idempotency_key = t.k;
  c_delta := array_fill(0::bigint, ARRAY[array_length(c_used, 1)]);

  FOR i IN 1 .. n LOOP
    f := first_of[i];
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
    c := counter_of[i];
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
      SELECT p_accounts[j], p_keys[j], p_operations[j], p_units[j], p_periods[j], 'accepted', answers[j],
             p_occurred[j], p_created[j]
        FROM generate_series(1, n) AS j
       WHERE kinds[j] = 'fresh'
      ON CONFLICT DO NOTHING
      RETURNING 1
    ), bumped AS (
      UPDATE usage_counters u SET used = u.used + d.delta
        FROM unnest(c_accounts, c_operations, c_periods, c_delta) AS d(a, o, p, delta)
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

  RETURN QUERY SELECT kinds[j], statuses[j], answers[j] FROM generate_series(1, n) AS j ORDER BY j;
END
$fn$`;

const DROP = sql`DROP FUNCTION IF EXISTS tollgate_meter(text[], text[], bigint[], text[], bigint[], text[], bigint[], bigint[], int[], boolean)`;

export async function up(db: Kysely<unknown>): Promise<void> {
  if (isPostgres(db)) await CREATE.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (isPostgres(db)) await DROP.execute(db);
}
