import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { type Catalog, defaultCatalog } from '../src-shared/catalog.ts';
import { parseSigningKeyFile, type ServerLicenseKeys } from './licensing/signing-key.ts';
import { loadCatalogFile } from './plans/catalog-file.ts';

/**
 * The server's configuration, read once from the environment at start. A bad value stops start-up
 * with a ConfigError naming the variable, so a typo never silently falls back to a default.
 */

const DAY_MS = 24 * 3600 * 1000;

const port = z.coerce
  .number({ error: 'expected a port number' })
  .int({ error: 'expected a whole port number' })
  .min(0, { error: 'expected a port from 0 to 65535' })
  .max(65535, { error: 'expected a port from 0 to 65535' });
const days = z.coerce
  .number({ error: 'expected a number of days' })
  .min(0, { error: 'expected 0 or more days' })
  .max(365, { error: 'expected at most 365 days' });
const nonEmpty = z.string().trim().min(1, { error: 'must not be empty when set' });
const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

const Env = z.object({
  TOLLGATE_PORT: port.default(8787),
  TOLLGATE_HOST: nonEmpty.default('127.0.0.1'),
  TOLLGATE_DATA_DIR: nonEmpty.default('./.tollgate/server'),
  TOLLGATE_DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'expected a postgres:// URL (leave unset for the embedded SQLite)' })
    .optional(),
  TOLLGATE_REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' }).optional(),
  TOLLGATE_ADMIN_TOKEN: z
    .string()
    .min(32, { error: 'use at least 32 characters (e.g. openssl rand -base64 32)' })
    .optional(),
  TOLLGATE_PUBLIC_URL: httpUrl.optional(),
  TOLLGATE_CATALOG: nonEmpty.optional(),
  TOLLGATE_LICENSE_SIGNING_KEY: nonEmpty.optional(),
  TOLLGATE_PAST_DUE_GRACE_DAYS: days.default(7),
  TOLLGATE_OFFLINE_GRACE_DAYS: days.default(7),
  TOLLGATE_METRICS_TOKEN: z.string().min(16, { error: 'use at least 16 characters' }).optional(),
  TOLLGATE_TRUST_PROXY: z
    .string()
    .trim()
    .regex(/^[\w.:/]+(\s*,\s*[\w.:/]+)*$/, {
      error: 'expected the proxy addresses or CIDR ranges, comma-separated (or loopback)',
    })
    .optional(),
  TOLLGATE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  STRIPE_SECRET_KEY: nonEmpty.optional(),
  STRIPE_WEBHOOK_SECRET: nonEmpty.optional(),
  STRIPE_API_BASE: httpUrl.optional(),
});

type LogLevel = z.infer<typeof Env>['TOLLGATE_LOG_LEVEL'];

export interface Config {
  port: number;
  host: string;
  /** Absolute path of the folder holding the SQLite file. */
  dataDir: string;
  /** A postgres:// URL, or null for the embedded SQLite database in dataDir. */
  databaseUrl: string | null;
  redisUrl: string | null;
  adminToken: string | null;
  /** Where browsers reach this server (checkout return URLs); defaults to http://host:port. */
  publicUrl: string;
  catalog: Catalog;
  /**
   * The vendor's license signing key (TOLLGATE_LICENSE_SIGNING_KEY: a private JWK, or a JWKS whose
   * first private key signs and whose other keys are published too); null: a key generated and
   * kept in the database, which companions pinning the vendor's keys do not trust.
   */
  licenseSigningKey: ServerLicenseKeys | null;
  pastDueGraceMs: number;
  offlineGraceMs: number;
  logLevel: LogLevel;
  /** Whose X-Forwarded-For to believe (TOLLGATE_TRUST_PROXY): proxy addresses or CIDRs; false: nobody's. */
  trustProxy: string | false;
  /** Bearer token /metrics asks for (TOLLGATE_METRICS_TOKEN); null: /metrics is open. */
  metricsToken: string | null;
  stripe: { secretKey: string | null; webhookSecret: string | null; apiBase: string | null };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads the configuration from an environment (process.env by default); throws ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  // Empty strings (VAR= in a shell) mean "not set", as most tools read them.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = Env.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${String(issue.path[0])}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  let catalog = defaultCatalog;
  if (e.TOLLGATE_CATALOG) {
    try {
      catalog = loadCatalogFile(resolve(cwd, e.TOLLGATE_CATALOG));
    } catch (error) {
      throw new ConfigError(`Invalid configuration:\n  TOLLGATE_CATALOG: ${(error as Error).message}`);
    }
  }
  let licenseSigningKey: ServerLicenseKeys | null = null;
  if (e.TOLLGATE_LICENSE_SIGNING_KEY) {
    const path = resolve(cwd, e.TOLLGATE_LICENSE_SIGNING_KEY);
    try {
      licenseSigningKey = parseSigningKeyFile(JSON.parse(readFileSync(path, 'utf8')));
    } catch (error) {
      throw new ConfigError(
        `Invalid configuration:\n  TOLLGATE_LICENSE_SIGNING_KEY: ${path}: ${(error as Error).message}`,
      );
    }
  }
  const dataDir = isAbsolute(e.TOLLGATE_DATA_DIR) ? e.TOLLGATE_DATA_DIR : join(cwd, e.TOLLGATE_DATA_DIR);
  return {
    port: e.TOLLGATE_PORT,
    host: e.TOLLGATE_HOST,
    dataDir,
    databaseUrl: e.TOLLGATE_DATABASE_URL ?? null,
    redisUrl: e.TOLLGATE_REDIS_URL ?? null,
    adminToken: e.TOLLGATE_ADMIN_TOKEN ?? null,
    publicUrl: (e.TOLLGATE_PUBLIC_URL ?? `http://${e.TOLLGATE_HOST}:${e.TOLLGATE_PORT}`).replace(/\/$/, ''),
    catalog,
    licenseSigningKey,
    pastDueGraceMs: e.TOLLGATE_PAST_DUE_GRACE_DAYS * DAY_MS,
    offlineGraceMs: e.TOLLGATE_OFFLINE_GRACE_DAYS * DAY_MS,
    logLevel: e.TOLLGATE_LOG_LEVEL,
    trustProxy: e.TOLLGATE_TRUST_PROXY ?? false,
    metricsToken: e.TOLLGATE_METRICS_TOKEN ?? null,
    stripe: {
      secretKey: e.STRIPE_SECRET_KEY ?? null,
      webhookSecret: e.STRIPE_WEBHOOK_SECRET ?? null,
      apiBase: e.STRIPE_API_BASE ?? null,
    },
  };
}
