import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import {
  type FastifyPluginAsyncZod,
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { Redis } from 'ioredis';
import type { ProblemCode } from '../../src-shared/error-codes.ts';
import { accountRoutes } from '../accounts/routes.ts';
import { adminRoutes } from '../admin/routes.ts';
import { upgradePromptRoutes } from '../analytics/prompt-routes.ts';
import { analyticsRoutes } from '../analytics/routes.ts';
import type { Config } from '../config.ts';
import type { DatabaseHandle } from '../db/connection.ts';
import { deviceRoutes } from '../devices/routes.ts';
import { licenseRoutes } from '../licensing/routes.ts';
import type { ServerLicenseKeys } from '../licensing/signing-key.ts';
import { installBillable } from '../metering/billable.ts';
import { leaseRoutes } from '../metering/lease-routes.ts';
import { notificationRoutes } from '../metering/notification-routes.ts';
import { operationRoutes } from '../metering/operation-routes.ts';
import { usageRoutes } from '../metering/routes.ts';
import { outboxRoutes } from '../outbox/routes.ts';
import { paymentsRoutes } from '../payments/routes.ts';
import { planRoutes } from '../plans/routes.ts';
import { trialRoutes } from '../plans/trial-routes.ts';
import { installAccess } from './access.ts';
import { installApiCallWindows } from './api-call-window.ts';
import type { ServerContext } from './context.ts';
import { docsRoutes } from './docs-routes.ts';
import {
  ApiError,
  type ProblemBody,
  problemBody,
  storageUnavailable,
  UNAVAILABLE_RETRY_AFTER_SECONDS,
} from './errors.ts';
import { installMetrics } from './metrics.ts';
import { installRateLimits } from './rate-limit.ts';
import { serializerCompiler } from './serializer.ts';

/**
 * Every route plugin of the API. Each area adds its own with one line (e.g. `paymentsRoutes`);
 * a plugin reads configuration, storage and the clock from `app.tollgate`, and each route declares
 * who may call it with `config: { access }` (access.ts).
 */
const routePlugins: FastifyPluginAsyncZod[] = [
  docsRoutes,
  planRoutes,
  trialRoutes,
  accountRoutes,
  usageRoutes,
  leaseRoutes,
  notificationRoutes,
  licenseRoutes,
  deviceRoutes,
  operationRoutes,
  paymentsRoutes,
  analyticsRoutes,
  upgradePromptRoutes,
  outboxRoutes,
  adminRoutes,
];

interface AppDeps {
  config: Config;
  database: DatabaseHandle;
  licenseKey: ServerLicenseKeys;
  /** UTC ms; defaults to Date.now. */
  now?: () => number;
}

/** The request body size limit: a full batch of 1,000 usage events is about 150 KB. */
const BODY_LIMIT_BYTES = 512 * 1024;

/** Secrets that must never reach a log line, wherever they appear in a logged object. */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["stripe-signature"]',
  '*.password',
  '*.refreshToken',
  '*.accessToken',
  '*.token',
  '*.privateJwk',
  '*.private_jwk',
  '*.password_hash',
];

/**
 * One-time codes travel in links (`/claim?code=…`, a test checkout's `?code=…`): the request log
 * keeps the path and every other parameter, never a code.
 */
function loggedUrl(url: string): string {
  return url.replace(/([?&]code=)[^&#]*/g, '$1[redacted]');
}

function loggerOptions(config: Config): FastifyServerOptions['logger'] {
  if (config.logLevel === 'silent') return false;
  return {
    level: config.logLevel,
    redact: { paths: REDACT, censor: '[redacted]' },
    serializers: {
      // Fastify's own request serializer, with the URL's codes left out.
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: loggedUrl(request.url),
        host: request.host,
        remoteAddress: request.ip,
        remotePort: request.socket?.remotePort,
      }),
    },
  };
}

const FASTIFY_CODES: Record<string, ProblemCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
};

/** Any error → problem+json. Input problems are always 4xx; only our own faults are 5xx. */
function toProblem(error: FastifyError | Error): ProblemBody {
  if (error instanceof ApiError) return problemBody(error.code, error.detail, error.extras);
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((issue) => ({
      path: `${error.validationContext ?? ''}${issue.instancePath}`,
      message: issue.message ?? 'invalid',
    }));
    const first = issues[0];
    return problemBody('VALIDATION_FAILED', first ? `${first.path}: ${first.message}` : undefined, {
      errors: issues.slice(0, 20),
    });
  }
  const { code, statusCode } = error as FastifyError;
  const mapped = code ? FASTIFY_CODES[code] : undefined;
  if (mapped) return problemBody(mapped, error.message);
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    return { ...problemBody('BAD_REQUEST', error.message), status: statusCode };
  }
  return problemBody('INTERNAL');
}

// Security headers on every answer: nosniff, no framing (frame-ancestors 'none' and
// X-Frame-Options), and a CSP that lets the /docs and /admin pages load only their own scripts.
const HELMET_OPTIONS = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      frameAncestors: ["'none'"],
      formAction: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
    },
  },
  frameguard: { action: 'deny' as const },
  // The API is called cross-origin by nothing but our own pages; keep the defaults otherwise.
  crossOriginResourcePolicy: { policy: 'same-origin' as const },
};

/**
 * The headers helmet sets with HELMET_OPTIONS, asked of it once. @fastify/helmet builds helmet's
 * whole middleware — parsing the CSP directives — again on every request, a measurable share of a
 * consume's cost; the headers never differ between answers, so they are computed on a probe
 * instance at start and set from this list (a route's own CSP still replaces them, as before).
 */
async function securityHeaders(): Promise<[string, string][]> {
  const answer = async (withHelmet: boolean) => {
    const probe = Fastify();
    if (withHelmet) await probe.register(helmet, HELMET_OPTIONS);
    probe.get('/', async () => '');
    const response = await probe.inject('/');
    await probe.close();
    return response.headers;
  };
  const plain = await answer(false);
  const secured = await answer(true);
  return Object.entries(secured)
    .filter(([name]) => !(name in plain))
    .map(([name, value]) => [name, String(value)]);
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    logger: loggerOptions(config),
    bodyLimit: BODY_LIMIT_BYTES,
    // Client IPs come from the socket unless TOLLGATE_TRUST_PROXY names the reverse proxy: only its
    // X-Forwarded-For is believed, so a forged header from anyone else cannot dodge the IP limits.
    trustProxy: config.trustProxy,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const redis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: false }) : null;
  if (redis) {
    redis.on('error', (error) => app.log.warn({ err: error }, 'redis error'));
    app.addHook('onClose', async () => {
      redis.disconnect();
    });
  }

  const context: ServerContext = {
    config,
    db: deps.database.db,
    dialect: deps.database.dialect,
    catalog: config.catalog,
    now: deps.now ?? Date.now,
    licenseKey: deps.licenseKey,
    paymentProvider: null,
  };
  app.decorate('tollgate', context);
  app.decorateRequest('account', null);
  app.decorateRequest('administrator', null);
  await installRateLimits(app, redis);
  const headers = await securityHeaders();
  app.addHook('onRequest', (_request, reply, done) => {
    for (const [name, value] of headers) reply.raw.setHeader(name, value);
    done();
  });
  // Answers of signed-in, guest and admin routes carry tokens or one account's data: never cached.
  app.addHook('onSend', async (request, reply, payload) => {
    const access = request.routeOptions.config?.access;
    if (access !== undefined && access !== 'public' && !reply.hasHeader('cache-control')) {
      reply.header('cache-control', 'no-store');
    }
    return payload;
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const unavailable = storageUnavailable(error);
    const problem = toProblem(unavailable ?? error);
    if (unavailable) request.log.warn({ err: error }, 'database unavailable; answered 503');
    else if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    // Only an outage passes by itself; a 503 about configuration (no payments, no e-mail) does not.
    if (problem.code === 'UNAVAILABLE') reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    return reply.code(problem.status).type('application/problem+json; charset=utf-8').send(problem);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    return reply
      .code(404)
      .type('application/problem+json; charset=utf-8')
      .send(problemBody('NOT_FOUND', `No route ${request.method} ${path.slice(0, 200)}`));
  });

  // Route hooks, before swagger so each route's options (hooks, OpenAPI security) are complete when
  // it reads them. Their order is the order they run in: access (sign-in, then the rate limit),
  // then billable (reserve units once the caller is known and counted); each checks its
  // prerequisite was installed first.
  installAccess(app);
  installBillable(app);
  installApiCallWindows(app);
  installMetrics(app, config.metricsToken);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Tollgate billing API',
        version: '1',
        description: 'Plans, accounts, exactly-once usage metering, notifications and signed licenses.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    transform: jsonSchemaTransform,
  });
  for (const plugin of routePlugins) await app.register(plugin);
  return app;
}
