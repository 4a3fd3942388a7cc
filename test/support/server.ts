import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { type Config, loadConfig } from '../../src-server/config.ts';
import type { Database, SubscriptionUpdate } from '../../src-server/db/schema.ts';
import { startServer } from '../../src-server/server.ts';
import type { Session } from '../../src-shared/api.ts';
import type { Limits, TierId } from '../../src-shared/catalog.ts';
import { createTestDatabase, type TestDatabase, type TestDialect } from './databases.ts';

/**
 * The real billing server for tests, on a free port and a private database.
 *
 *   const server = await startTestServer({ dialect });           // in this process
 *   const alice = await signUp(server.url);                      // a fresh free account
 *   const res = await alice.post('/v1/usage/consume', { … });    // { status, body, headers }
 *   await server.stop();                                         // closes and drops the database
 *
 * `spawnTestServer` runs it as a child process instead (to SIGKILL it, or to run two processes
 * on one database). Logs are silent unless TOLLGATE_LOG_LEVEL is set in the environment.
 */

const ROOT = join(import.meta.dirname, '..', '..');
/** The development vendor key: test servers sign with it, so companions pinning vendor.config.json trust them. */
const DEV_SIGNING_KEY_PATH = join(ROOT, 'dev-keys', 'license-signing.dev.jwk.json');

export interface TestServerOptions {
  dialect?: TestDialect;
  /** Extra server environment (e.g. TOLLGATE_ADMIN_TOKEN, TOLLGATE_CATALOG). */
  env?: Record<string, string>;
  /** An existing database to use (it is then NOT dropped by stop()); default: a fresh one. */
  database?: TestDatabase;
  /** A fixed clock (UTC ms) for the in-process server. */
  now?: () => number;
}

export interface TestServer {
  url: string;
  app: FastifyInstance;
  db: Kysely<Database>;
  config: Config;
  database: TestDatabase;
  /** Closes the server and, unless the database was passed in, drops it. */
  stop(): Promise<void>;
}

function serverEnv(database: TestDatabase, env: Record<string, string> = {}): Record<string, string> {
  return {
    TOLLGATE_PORT: '0',
    TOLLGATE_HOST: '127.0.0.1',
    TOLLGATE_LOG_LEVEL: process.env.TOLLGATE_LOG_LEVEL ?? 'silent',
    TOLLGATE_LICENSE_SIGNING_KEY: DEV_SIGNING_KEY_PATH,
    ...database.env,
    ...env,
  };
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const database = options.database ?? (await createTestDatabase(options.dialect ?? 'sqlite'));
  const owned = options.database === undefined;
  try {
    const config = loadConfig(serverEnv(database, options.env), ROOT);
    const running = await startServer(config, options.now ? { now: options.now } : {});
    return {
      url: running.url,
      app: running.app,
      db: running.database.db,
      config,
      database,
      stop: async () => {
        await running.close();
        if (owned) await database.cleanup();
      },
    };
  } catch (error) {
    if (owned) await database.cleanup();
    throw error;
  }
}

export interface SpawnedServer {
  url: string;
  pid: number;
  database: TestDatabase;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Sends a signal (SIGKILL to crash it) and waits for the process to end. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Its exit code once it has ended (null while it runs or when a signal ended it). */
  exitCode(): number | null;
  /** Stops it gracefully (SIGTERM) and, unless the database was passed in, drops the database. */
  stop(): Promise<void>;
}

/** Runs `src-server/cli.ts` in a child process, exactly as `npm run server` does. */
export async function spawnTestServer(options: Omit<TestServerOptions, 'now'> = {}): Promise<SpawnedServer> {
  const database = options.database ?? (await createTestDatabase(options.dialect ?? 'sqlite'));
  const owned = options.database === undefined;
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src-server', 'cli.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...serverEnv(database, options.env) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  let url: string;
  try {
    url = await listeningUrl(child);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    if (owned) await database.cleanup();
    throw error;
  }
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return {
    url,
    pid: child.pid as number,
    database,
    output: () => output,
    kill,
    exitCode: () => child.exitCode,
    stop: async () => {
      await kill('SIGTERM');
      if (owned) await database.cleanup();
    },
  };
}

function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
}

// ── A small typed HTTP client for tests ─────────────────────────────────────────────────────────

/** Response bodies as tests read them: assertions, not the compiler, check their shape. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies and assert on them.
export type Json = any;

export interface ApiResponse<T = Json> {
  status: number;
  headers: Headers;
  /** Parsed JSON (or the raw text when the body is not JSON; undefined when empty). */
  body: T;
}

export interface RequestOptions {
  token?: string | null;
  headers?: Record<string, string>;
  /** Send this exact string as the body instead of JSON-encoding `body`. */
  raw?: string;
}

/** One HTTP call: JSON in, JSON out, never throws on an HTTP error status. */
export async function request<T = Json>(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  options: RequestOptions = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  const payload = options.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(new URL(path, baseUrl), { method, headers, body: payload });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/** A signed-in account: its session plus get/post bound to its current access token. */
export interface TestAccount {
  id: string;
  email: string;
  password: string;
  /** The latest session (replaced by refresh()). */
  session: Session;
  token: string;
  get<T = Json>(path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  post<T = Json>(path: string, body?: unknown, options?: RequestOptions): Promise<ApiResponse<T>>;
  /** Rotates the session with its refresh token (after a test clock jumps past the access expiry). */
  refresh(): Promise<void>;
}

export function uniqueEmail(): string {
  return `user-${randomBytes(6).toString('hex')}@example.test`;
}

/** Signs up a fresh account (free tier) and returns a client bound to its access token. */
export async function signUp(
  baseUrl: string,
  email = uniqueEmail(),
  password = 'a long test password',
): Promise<TestAccount> {
  const response = await request<Session>(baseUrl, 'POST', '/v1/auth/sign-up', { email, password });
  if (response.status !== 201) throw new Error(`sign-up failed: ${response.status} ${JSON.stringify(response.body)}`);
  const account: TestAccount = {
    id: response.body.account.id,
    email,
    password,
    session: response.body,
    token: response.body.accessToken,
    get: (path, options) => request(baseUrl, 'GET', path, undefined, { token: account.token, ...options }),
    post: (path, body, options) => request(baseUrl, 'POST', path, body, { token: account.token, ...options }),
    refresh: async () => {
      const refreshed = await request<Session>(baseUrl, 'POST', '/v1/auth/refresh', {
        refreshToken: account.session.refreshToken,
      });
      if (refreshed.status !== 200) throw new Error(`refresh failed: ${refreshed.status}`);
      account.session = refreshed.body;
      account.token = refreshed.body.accessToken;
    },
  };
  return account;
}

/**
 * Puts an account on a plan directly in the database (what a completed checkout does), e.g. a
 * custom contract with its own limits: `setPlan(db, id, { tier: 'custom', limits: { … } })`.
 */
export async function setPlan(
  db: Kysely<Database>,
  accountId: string,
  plan: { tier: TierId; limits?: Limits; features?: string[]; patch?: SubscriptionUpdate },
): Promise<void> {
  await db
    .updateTable('subscriptions')
    .set({
      tier: plan.tier,
      status: 'active',
      custom_limits_json: plan.limits ? JSON.stringify(plan.limits) : null,
      custom_features_json: plan.features ? JSON.stringify(plan.features) : null,
      updated_at: Date.now(),
      ...plan.patch,
    })
    .where('account_id', '=', accountId)
    .execute();
}

/** Limits for tests that need room: `ai_operations` capped as given, no hourly API cap. */
export function testLimits(aiOperations: number, dataProcessing = -1): Limits {
  return {
    monthly: { ai_operations: aiOperations, data_processing: dataProcessing },
    max_project_size_mb: 100,
    api_calls_per_hour: -1,
    max_devices: -1,
  };
}
