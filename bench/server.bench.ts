import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { sql } from 'kysely';
import { createDatabase, type DatabaseHandle } from '../src-server/db/connection.ts';
import { recordUsage } from '../src-server/metering/metering.ts';
import { entitledPlan, loadSubscription } from '../src-server/plans/subscriptions.ts';
import { defaultCatalog } from '../src-shared/catalog.ts';
import { createTestDatabase, type TestDialect, testDialects } from '../test/support/databases.ts';
import { setPlan, signUp, spawnTestServer, testLimits } from '../test/support/server.ts';
import { type BenchRow, percentile, report } from './report.ts';

/**
 * The billing server's metering over HTTP: single consumes with 1, 8 and 64 concurrent clients and
 * batch ingest (1,000 events a request, 16 clients), on SQLite and (when TOLLGATE_TEST_DATABASE_URL
 * is set) PostgreSQL. The server runs in its own process (`src-server/cli.ts`, as in production);
 * this process is the client. Beside each, in the same run, the ceiling: the same rows written by a
 * bare insert loop on the same database (one row per transaction for consumes, 1,000 rows per
 * transaction for batches), with no HTTP, no auth, no idempotency check and no limit. A second
 * baseline shows what HTTP alone costs on this machine now: a bare Fastify route answering the same
 * POST from its own process, driven by the same client. A third row per database shows what the
 * metering itself costs without HTTP: recordUsage called in this process, 64 at a time.
 * Targets (issue 3): single consume ≥ 3,000 requests/s and batch ingest ≥ 20,000 events/s on SQLite.
 * Issue 14 adds the realistic rows: 64 clients spread over 1,000 accounts and both operations
 * (the rows above hammer one account's counter), once against one server process and once against
 * two on the same database, each beside its ceiling, with p50/p99 and the load average.
 */

const WARMUP_MS = 1000;
const MEASURE_MS = 3000;
const BATCH_EVENTS = 1000;
const BATCH_CLIENTS = 16;

interface Load {
  perSecond: number;
  latenciesMs: number[];
  failures: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 128 });

function post(url: URL, token: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${token}`,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `clients` loops each sending one request, waiting for it, and repeating; counts after warm-up. */
async function load(clients: number, send: (n: number) => Promise<number>, unitsPerRequest = 1): Promise<Load> {
  let measuring = false;
  let stop = false;
  let done = 0;
  let failures = 0;
  let sequence = 0;
  const latenciesMs: number[] = [];
  const worker = async () => {
    while (!stop) {
      const started = performance.now();
      const status = await send(sequence++);
      if (!measuring) continue;
      if (status === 200) {
        done += unitsPerRequest;
        latenciesMs.push(performance.now() - started);
      } else {
        failures += 1;
      }
    }
  };
  const running = Promise.all(Array.from({ length: clients }, worker));
  await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
  measuring = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, MEASURE_MS));
  measuring = false;
  const elapsed = (performance.now() - started) / 1000;
  stop = true;
  await running;
  return { perSecond: done / elapsed, latenciesMs, failures };
}

/** The ceiling: `rows` rows into a scratch table shaped like usage_events, `perTransaction` at a time. */
async function bareInserts(handle: DatabaseHandle, rows: number, perTransaction: number): Promise<number> {
  const { db } = handle;
  await db.schema
    .createTable('bench_ceiling')
    .ifNotExists()
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('operation', 'text', (c) => c.notNull())
    .addColumn('units', 'bigint', (c) => c.notNull())
    .addColumn('period', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('result_json', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('bench_ceiling_pk', ['account_id', 'idempotency_key'])
    .execute();
  await sql`delete from bench_ceiling`.execute(db);
  const row = (i: number) => ({
    account_id: 'acct_ceiling',
    idempotency_key: `ceiling-${perTransaction}-${i}`,
    operation: 'ai_operations',
    units: 1,
    period: '2026-01',
    status: 'accepted',
    result_json: '{"status":200,"body":{}}',
    created_at: Date.now(),
  });
  const table = sql.table('bench_ceiling');
  const started = performance.now();
  for (let i = 0; i < rows; i += perTransaction) {
    const batch = Array.from({ length: Math.min(perTransaction, rows - i) }, (_, j) => row(i + j));
    const values = sql.join(
      batch.map(
        (r) =>
          sql`(${r.account_id}, ${r.idempotency_key}, ${r.operation}, ${r.units}, ${r.period}, ${r.status}, ${r.result_json}, ${r.created_at})`,
      ),
    );
    // One statement per transaction (autocommit): the cheapest durable way to write these rows.
    await sql`insert into ${table} (account_id, idempotency_key, operation, units, period, status, result_json, created_at) values ${values}`.execute(
      db,
    );
  }
  return rows / ((performance.now() - started) / 1000);
}

/** Consumes through recordUsage directly, `concurrency` at a time, for MEASURE_MS; per second. */
async function inProcessConsumes(handle: DatabaseHandle, accountId: string, concurrency: number): Promise<number> {
  const store = { db: handle.db, dialect: handle.dialect, catalog: defaultCatalog };
  const plan = entitledPlan(defaultCatalog, await loadSubscription(handle.db, accountId), Date.now(), 0);
  const prefix = `direct-${Date.now()}`;
  let sequence = 0;
  let done = 0;
  const until = performance.now() + MEASURE_MS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const idempotencyKey = `${prefix}-${sequence++}`;
        await recordUsage(
          store,
          accountId,
          plan,
          [{ idempotencyKey, operation: 'ai_operations', units: 1 }],
          Date.now(),
        );
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

/** A Fastify app whose one route parses the JSON body and answers `{}`, in its own process. */
async function bareHttpBaseline(): Promise<BenchRow[]> {
  const program = `
    const app = require('fastify')();
    app.post('/v1/usage/consume', async () => ({}));
    app.listen({ port: 0, host: '127.0.0.1' }).then((url) => console.log('listening on ' + url));`;
  const child = spawn(process.execPath, ['-e', program], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /listening on (\S+)/.exec(chunk.toString());
      if (match?.[1]) resolve(match[1]);
    });
  });
  const rows: BenchRow[] = [];
  try {
    const target = new URL('/v1/usage/consume', url);
    for (const clients of [1, 8, 64]) {
      const result = await load(clients, (n) =>
        post(target, 'none', JSON.stringify({ operation: 'ai_operations', units: 1, idempotencyKey: `bare-${n}` })),
      );
      rows.push({
        name: `baseline: bare Fastify POST, ${clients} client${clients === 1 ? '' : 's'}`,
        value: result.perSecond,
        unit: 'req/s',
        p50Ms: percentile(result.latenciesMs, 50),
        p99Ms: percentile(result.latenciesMs, 99),
        failures: result.failures,
      });
    }
  } finally {
    child.kill();
  }
  return rows;
}

const SPREAD_ACCOUNTS = 1000;

/**
 * `count` signed-in accounts on an unlimited custom plan, written straight into the database (1,000
 * sign-ups would mostly measure scrypt): each with a session whose access token is returned.
 */
async function seedAccounts(handle: DatabaseHandle, template: string, count: number): Promise<string[]> {
  const { db } = handle;
  const subscription = await db
    .selectFrom('subscriptions')
    .selectAll()
    .where('account_id', '=', template)
    .executeTakeFirstOrThrow();
  const now = Date.now();
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 100) {
    const ids = Array.from({ length: Math.min(100, count - i) }, () => `acct_bench_${randomUUID()}`);
    const batchTokens = ids.map(() => `tga_${randomBytes(32).toString('base64url')}`);
    await db
      .insertInto('accounts')
      .values(ids.map((id) => ({ id, email: `${id}@bench.test`, password_hash: 'none', created_at: now })))
      .execute();
    await db
      .insertInto('subscriptions')
      .values(ids.map((id) => ({ ...subscription, account_id: id })))
      .execute();
    await db
      .insertInto('sessions')
      .values(
        ids.map((id, j) => ({
          id: randomUUID(),
          account_id: id,
          access_token_hash: createHash('sha256')
            .update(batchTokens[j] as string)
            .digest('hex'),
          access_expires_at: now + 3600_000,
          refresh_token_hash: randomUUID(),
          refresh_expires_at: now + 3600_000,
          created_at: now,
          revoked_at: null,
        })),
      )
      .execute();
    tokens.push(...batchTokens);
  }
  return tokens;
}

/** 64 clients, each request for a random one of the accounts and a random operation. */
function spreadLoad(urls: URL[], tokens: string[], prefix: string): Promise<Load> {
  return load(64, (n) =>
    post(
      urls[n % urls.length] as URL,
      tokens[Math.floor(Math.random() * tokens.length)] as string,
      JSON.stringify({
        operation: n % 2 === 0 ? 'ai_operations' : 'data_processing',
        units: 1,
        idempotencyKey: `${prefix}-${n}`,
      }),
    ),
  );
}

/** BATCH_CLIENTS clients each posting batches of BATCH_EVENTS new events, as `tokenOf(n)`'s account. */
function batchLoad(eventsUrl: URL, tokenOf: (n: number) => string, prefix: string): Promise<Load> {
  return load(
    BATCH_CLIENTS,
    (n) =>
      post(
        eventsUrl,
        tokenOf(n),
        JSON.stringify({
          events: Array.from({ length: BATCH_EVENTS }, (_, i) => ({
            idempotencyKey: `${prefix}-${n}-${i}`,
            operation: 'data_processing',
            units: 1,
          })),
        }),
      ),
    BATCH_EVENTS,
  );
}

async function benchDialect(dialect: TestDialect): Promise<BenchRow[]> {
  const database = await createTestDatabase(dialect);
  const server = await spawnTestServer({ database });
  const handle = await createDatabase({ dataDir: database.dataDir, databaseUrl: database.databaseUrl });
  const rows: BenchRow[] = [];
  try {
    const account = await signUp(server.url);
    await setPlan(handle.db, account.id, { tier: 'custom', limits: testLimits(-1) });
    const consumeUrl = new URL('/v1/usage/consume', server.url);
    const eventsUrl = new URL('/v1/usage/events', server.url);

    for (const clients of [1, 8, 64]) {
      const prefix = `c${clients}-${Date.now()}`;
      const result = await load(clients, (n) =>
        post(
          consumeUrl,
          account.token,
          JSON.stringify({ operation: 'ai_operations', units: 1, idempotencyKey: `${prefix}-${n}` }),
        ),
      );
      const ceiling = await bareInserts(handle, Math.max(1000, Math.round(result.perSecond * 2)), 1);
      rows.push({
        name: `${dialect}: consume, ${clients} client${clients === 1 ? '' : 's'}`,
        value: result.perSecond,
        unit: 'req/s',
        ceiling,
        p50Ms: percentile(result.latenciesMs, 50),
        p99Ms: percentile(result.latenciesMs, 99),
        failures: result.failures,
        ...(dialect === 'sqlite' ? { target: '≥ 3,000 req/s', pass: result.perSecond >= 3000 } : {}),
        ...(dialect === 'postgres' && clients === 64
          ? { target: '≥ 2,000 req/s', pass: result.perSecond >= 2000 }
          : {}),
        loadAverage: loadavg()[0],
      });
    }

    const tokens = await seedAccounts(handle, account.id, SPREAD_ACCOUNTS);
    // Statistics as a running database has them (pgbench analyzes after loading too): the planner
    // sees the accounts just written rather than the near-empty tables of a fresh database.
    await sql`analyze`.execute(handle.db);
    const spread = await spreadLoad([consumeUrl], tokens, `s1-${Date.now()}`);
    rows.push({
      name: `${dialect}: consume, 64 clients over ${SPREAD_ACCOUNTS} accounts, both operations`,
      value: spread.perSecond,
      unit: 'req/s',
      ceiling: await bareInserts(handle, Math.max(1000, Math.round(spread.perSecond * 2)), 1),
      p50Ms: percentile(spread.latenciesMs, 50),
      p99Ms: percentile(spread.latenciesMs, 99),
      failures: spread.failures,
      loadAverage: loadavg()[0],
      ...(dialect === 'postgres' ? { target: '≥ 3,000 req/s, p99 < 100 ms', pass: spread.perSecond >= 3000 } : {}),
    });
    const second = await spawnTestServer({ database });
    try {
      // Warmed first, as a process behind a load balancer is: a fresh one is still loading its
      // modules and opening its pool, which is not what this row measures.
      await spreadLoad([new URL('/v1/usage/consume', second.url)], tokens, `w2-${Date.now()}`);
      const both = await spreadLoad([consumeUrl, new URL('/v1/usage/consume', second.url)], tokens, `s2-${Date.now()}`);
      rows.push({
        name: `${dialect}: consume, two server processes, 64 clients over ${SPREAD_ACCOUNTS} accounts`,
        value: both.perSecond,
        unit: 'req/s',
        ceiling: await bareInserts(handle, Math.max(1000, Math.round(both.perSecond * 2)), 1),
        p50Ms: percentile(both.latenciesMs, 50),
        p99Ms: percentile(both.latenciesMs, 99),
        failures: both.failures,
        loadAverage: loadavg()[0],
        target: '≥ one process',
        pass: both.perSecond >= spread.perSecond,
      });
    } finally {
      await second.kill('SIGTERM');
    }

    const direct = await inProcessConsumes(handle, account.id, 64);
    const directCeiling = await bareInserts(handle, Math.max(1000, Math.round(direct * 2)), 1);
    rows.push({
      name: `${dialect}: recordUsage in-process (no HTTP), 64 concurrent`,
      value: direct,
      unit: 'consumes/s',
      ceiling: directCeiling,
      ...(dialect === 'postgres' ? { target: '≥ 5,000/s', pass: direct >= 5000 } : {}),
    });

    const batch = await batchLoad(eventsUrl, () => account.token, `b-${Date.now()}`);
    const batchCeiling = await bareInserts(handle, Math.max(20_000, Math.round(batch.perSecond * 2)), BATCH_EVENTS);
    rows.push({
      name: `${dialect}: batch ingest, ${BATCH_CLIENTS} clients × ${BATCH_EVENTS} events`,
      value: batch.perSecond,
      unit: 'events/s',
      ceiling: batchCeiling,
      p50Ms: percentile(batch.latenciesMs, 50),
      p99Ms: percentile(batch.latenciesMs, 99),
      failures: batch.failures,
      ...(dialect === 'sqlite' ? { target: '≥ 20,000 events/s', pass: batch.perSecond >= 20_000 } : {}),
      ...(dialect === 'postgres' ? { target: '≥ 50,000 events/s', pass: batch.perSecond >= 50_000 } : {}),
      loadAverage: loadavg()[0],
    });

    // The same load from 16 companions of 16 accounts, as a fleet sends it: where it is no faster
    // than the row above, what bounds that row is the machine rather than one account's counter lock.
    const fleet = await batchLoad(eventsUrl, (n) => tokens[n % BATCH_CLIENTS] as string, `f-${Date.now()}`);
    rows.push({
      name: `${dialect}: batch ingest, ${BATCH_CLIENTS} clients of ${BATCH_CLIENTS} accounts × ${BATCH_EVENTS} events`,
      value: fleet.perSecond,
      unit: 'events/s',
      ceiling: batchCeiling,
      p50Ms: percentile(fleet.latenciesMs, 50),
      p99Ms: percentile(fleet.latenciesMs, 99),
      failures: fleet.failures,
      loadAverage: loadavg()[0],
    });
  } finally {
    await handle.destroy();
    await server.stop();
  }
  return rows;
}

const rows: BenchRow[] = await bareHttpBaseline();
for (const dialect of testDialects()) rows.push(...(await benchDialect(dialect)));
agent.destroy();
console.table(
  rows
    .filter((row) => typeof row.p50Ms === 'number')
    .map((row) => ({
      measure: row.name,
      p50: `${(row.p50Ms as number).toFixed(2)} ms`,
      p99: `${(row.p99Ms as number).toFixed(2)} ms`,
      failures: row.failures,
    })),
);
report('server', rows, {
  warmupMs: WARMUP_MS,
  measureMs: MEASURE_MS,
  cpus: cpus().length,
  // Other work on the machine skews every number: recorded so runs can be compared honestly.
  loadAverageAtEnd: loadavg()[0],
});
