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
  TOLLGATE_DEVICE_INACTIVITY_DAYS: days.default(60),
  TOLLGATE_METRICS_TOKEN: z.string().min(16, { error: 'use at least 16 characters' }).optional(),
  TOLLGATE_TRUST_PROXY: z
    .string()
    .trim()
    .regex(/^[\w.:/]+(\s*,\s*[\w.:/]+)*$/, {
      error: 'expected the proxy addresses or CIDR ranges, comma-separated (or loopback)',
    })
    .optional(),
  TOLLGATE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TOLLGATE_PAYMENTS: z
    .enum(['stripe', 'local'], {
      error: 'expected stripe or local (leave unset: Stripe when STRIPE_SECRET_KEY is set)',
    })
    .optional(),
  TOLLGATE_FORCE_LOCAL_PAYMENTS: z
    .enum(['0', '1', 'false', 'true'], { error: 'expected 1 or 0' })
    .transform((value) => value === '1' || value === 'true')
    .default(false),
  TOLLGATE_SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'expected an smtp:// or smtps:// URL' }).optional(),
  TOLLGATE_MAIL_FROM: nonEmpty.default('Tollgate <billing@localhost>'),
  TOLLGATE_OUTBOX_LEASE_SECONDS: z.coerce
    .number({ error: 'expected a number of seconds' })
    .int({ error: 'expected whole seconds' })
    .min(1, { error: 'expected at least 1 second' })
    .max(3600, { error: 'expected at most 3600 seconds' })
    .default(60),
  STRIPE_SECRET_KEY: nonEmpty.optional(),
  STRIPE_WEBHOOK_SECRET: nonEmpty.optional(),
  STRIPE_API_BASE: httpUrl.optional(),
});

type LogLevel = z.infer<typeof Env>['TOLLGATE_LOG_LEVEL'];

/**
 * Who takes payments: Stripe, the local test provider (fake: nothing is charged, chosen only
 * explicitly), or nobody — then checkout answers PAYMENTS_DISABLED rather than giving plans away.
 */
export type PaymentsMode = 'stripe' | 'local' | 'disabled';

const LOOPBACK_HOSTNAMES = new Set(['localhost', '[::1]']);

/** Is this URL's host this machine only (127.0.0.0/8, ::1, localhost)? */
export function isLoopbackUrl(url: string): boolean {
  const { hostname } = new URL(url);
  return LOOPBACK_HOSTNAMES.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

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
  /** A device not seen for this long stops counting against max_devices (it expires). */
  deviceInactivityMs: number;
  logLevel: LogLevel;
  payments: PaymentsMode;
  /** Whose X-Forwarded-For to believe (TOLLGATE_TRUST_PROXY): proxy addresses or CIDRs; false: nobody's. */
  trustProxy: string | false;
  /** Bearer token /metrics asks for (TOLLGATE_METRICS_TOKEN); null: /metrics is open. */
  metricsToken: string | null;
  stripe: { secretKey: string | null; webhookSecret: string | null; apiBase: string | null };
  /**
   * Outbound email and webhooks (src-server/outbox): the SMTP server (null: emails wait in the outbox
   * until one is set), the sender address, and how long a worker holds a message it is sending
   * before another may take it over (longer than any send takes).
   */
  outbox: { smtpUrl: string | null; mailFrom: string; leaseMs: number };
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
  const publicUrl = (e.TOLLGATE_PUBLIC_URL ?? `http://${e.TOLLGATE_HOST}:${e.TOLLGATE_PORT}`).replace(/\/$/, '');
  const dataDir = isAbsolute(e.TOLLGATE_DATA_DIR) ? e.TOLLGATE_DATA_DIR : join(cwd, e.TOLLGATE_DATA_DIR);
  return {
    port: e.TOLLGATE_PORT,
    host: e.TOLLGATE_HOST,
    dataDir,
    databaseUrl: e.TOLLGATE_DATABASE_URL ?? null,
    redisUrl: e.TOLLGATE_REDIS_URL ?? null,
    adminToken: e.TOLLGATE_ADMIN_TOKEN ?? null,
    publicUrl,
    catalog,
    licenseSigningKey,
    pastDueGraceMs: e.TOLLGATE_PAST_DUE_GRACE_DAYS * DAY_MS,
    offlineGraceMs: e.TOLLGATE_OFFLINE_GRACE_DAYS * DAY_MS,
    deviceInactivityMs: e.TOLLGATE_DEVICE_INACTIVITY_DAYS * DAY_MS,
    logLevel: e.TOLLGATE_LOG_LEVEL,
    payments: paymentsMode(e, publicUrl),
    trustProxy: e.TOLLGATE_TRUST_PROXY ?? false,
    metricsToken: e.TOLLGATE_METRICS_TOKEN ?? null,
    stripe: {
      secretKey: e.STRIPE_SECRET_KEY ?? null,
      webhookSecret: e.STRIPE_WEBHOOK_SECRET ?? null,
      apiBase: e.STRIPE_API_BASE ?? null,
    },
    outbox: {
      smtpUrl: e.TOLLGATE_SMTP_URL ?? null,
      mailFrom: e.TOLLGATE_MAIL_FROM,
      leaseMs: e.TOLLGATE_OUTBOX_LEASE_SECONDS * 1000,
    },
  };
}

function paymentsMode(e: z.infer<typeof Env>, publicUrl: string): PaymentsMode {
  const invalid = (line: string) => new ConfigError(`Invalid configuration:\n  ${line}`);
  if (e.TOLLGATE_PAYMENTS === 'local') {
    if (e.STRIPE_SECRET_KEY) {
      throw invalid('TOLLGATE_PAYMENTS: local (fake payments) and STRIPE_SECRET_KEY are both set: unset one of them.');
    }
    if (!isLoopbackUrl(publicUrl) && !e.TOLLGATE_FORCE_LOCAL_PAYMENTS) {
      throw invalid(
        `TOLLGATE_PAYMENTS: local gives paid plans away (its test checkout charges nothing), and ${publicUrl} ` +
          'is not a loopback address. Set STRIPE_SECRET_KEY for real payments, or TOLLGATE_FORCE_LOCAL_PAYMENTS=1 ' +
          'if this server is a test environment.',
      );
    }
    return 'local';
  }
  if (e.TOLLGATE_PAYMENTS === 'stripe' && !e.STRIPE_SECRET_KEY) {
    throw invalid('TOLLGATE_PAYMENTS: stripe needs STRIPE_SECRET_KEY (docs/stripe.md).');
  }
  return e.STRIPE_SECRET_KEY ? 'stripe' : 'disabled';
}
