import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  AccountLtv,
  FunnelResponse,
  ListQuery,
  LtvListResponse,
  MonthQuery,
  MrrSeriesResponse,
  REPORT_NAMES,
  type ReportName,
  RevenueResponse,
  SeriesQuery,
  SummaryResponse,
  UpsellResponse,
  UsageResponse,
} from '../../src-shared/admin-api.ts';
import { periodOf } from '../../src-shared/period.ts';
import { ApiError } from '../http/errors.ts';
import { ReportData, SERIES_MONTHS } from './report-data.ts';
import {
  type AnalyticsSource,
  accountLtvReport,
  csvReport,
  funnelReport,
  ltvReport,
  mrrReport,
  revenueReport,
  summaryReport,
  upsellReport,
  usageByTierReport,
} from './reports.ts';

/** Built by `npm run build:dashboard` (vite.dashboard.config.ts). */
const DASHBOARD_DIR = join(import.meta.dirname, '..', '..', 'out', 'dashboard');

const DEFAULT_LIST_ROWS = 100;
const CSV_FILES = REPORT_NAMES.map((name) => `${name}.csv`) as [`${ReportName}.csv`, ...`${ReportName}.csv`[]];

/**
 * The vendor's analytics: the admin API under /v1/admin (TOLLGATE_ADMIN_TOKEN) and the dashboard
 * at /admin. Definitions of every figure: docs/analytics.md.
 */
export const analyticsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, catalog, now, config } = app.tollgate;
  const source: AnalyticsSource = { db, catalog, data: new ReportData(db), now };
  if (config.adminToken !== null) {
    // Replay the event history and read the address book once at start, so the vendor's first
    // dashboard load finds them in memory; a failure here only means the first request reads them.
    app.addHook('onReady', async () => {
      source.data.warmUp(periodOf(now())).catch((error: unknown) => {
        app.log.warn({ err: error }, 'analytics preload failed');
      });
    });
  }
  const monthOf = (query: { month?: string | undefined }) => query.month ?? periodOf(now());
  const route = (summary: string) => ({ tags: ['admin'], summary });

  app.get(
    '/v1/admin/metrics/summary',
    {
      config: { access: 'admin' },
      schema: {
        ...route("The month's KPIs: MRR and its movements, ARR, subscribers, churn, conversion, ARPU, LTV"),
        querystring: MonthQuery,
        response: { 200: SummaryResponse },
      },
    },
    async (request) => summaryReport(source, monthOf(request.query)),
  );

  app.get(
    '/v1/admin/metrics/mrr',
    {
      config: { access: 'admin' },
      schema: {
        ...route('MRR, ARR, subscribers and MRR movements for each month of a series'),
        querystring: SeriesQuery,
        response: { 200: MrrSeriesResponse },
      },
    },
    async (request) => mrrReport(source, monthOf(request.query), request.query.months ?? SERIES_MONTHS),
  );

  app.get(
    '/v1/admin/metrics/revenue',
    {
      config: { access: 'admin' },
      schema: {
        ...route('Revenue collected by tier for each month of a series (setup fees in, refunds out)'),
        querystring: SeriesQuery,
        response: { 200: RevenueResponse },
      },
    },
    async (request) => revenueReport(source, monthOf(request.query), request.query.months ?? SERIES_MONTHS),
  );

  app.get(
    '/v1/admin/metrics/usage',
    {
      config: { access: 'admin' },
      schema: {
        ...route('Usage per operation and tier, with the accounts at 80 % and at 100 % of their limit'),
        querystring: MonthQuery,
        response: { 200: UsageResponse },
      },
    },
    async (request) => usageByTierReport(source, monthOf(request.query)),
  );

  app.get(
    '/v1/admin/metrics/funnel',
    {
      config: { access: 'admin' },
      schema: {
        ...route(
          'The conversion funnel of each sign-up cohort: sign-up → first use → first limit → upgrade prompt shown → checkout started → paid, counted up to now',
        ),
        querystring: SeriesQuery,
        response: { 200: FunnelResponse },
      },
    },
    async (request) => funnelReport(source, monthOf(request.query), request.query.months ?? 1),
  );

  app.get(
    '/v1/admin/upsell',
    {
      config: { access: 'admin' },
      schema: {
        ...route('Accounts at 80 % or more of a limit this month, fullest first'),
        querystring: ListQuery,
        response: { 200: UpsellResponse },
      },
    },
    async (request) => upsellReport(source, monthOf(request.query), request.query.limit ?? DEFAULT_LIST_ROWS),
  );

  app.get(
    '/v1/admin/ltv',
    {
      config: { access: 'admin' },
      schema: {
        ...route("Accounts by what they actually paid, with the month's LTV estimate"),
        querystring: ListQuery,
        response: { 200: LtvListResponse },
      },
    },
    async (request) => ltvReport(source, monthOf(request.query), request.query.limit ?? DEFAULT_LIST_ROWS),
  );

  app.get(
    '/v1/admin/accounts/:accountId/ltv',
    {
      config: { access: 'admin' },
      schema: {
        ...route("One account's actual LTV up to the month's end"),
        params: z.strictObject({ accountId: z.string().min(1).max(200) }),
        querystring: MonthQuery,
        response: { 200: AccountLtv },
      },
    },
    async (request) => {
      const found = await accountLtvReport(source, request.params.accountId, monthOf(request.query));
      if (!found) throw new ApiError('NOT_FOUND', 'No account with this id.');
      return found;
    },
  );

  app.get(
    '/v1/admin/export/:file',
    {
      config: { access: 'admin' },
      schema: {
        ...route('A report as CSV (every row; amounts in cents): mrr, revenue, usage, upsell, ltv or funnel'),
        params: z.strictObject({ file: z.enum(CSV_FILES) }),
        querystring: SeriesQuery,
      },
    },
    async (request, reply) => {
      const report = request.params.file.replace(/\.csv$/, '') as ReportName;
      const month = monthOf(request.query);
      const csv = await csvReport(source, report, month, request.query.months ?? SERIES_MONTHS);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="tollgate-${report}-${month}.csv"`)
        .header('cache-control', 'no-store')
        .send(csv);
    },
  );

  // The dashboard: static files; it reads the API above with the token the vendor signs in with.
  app.get('/admin', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) =>
    reply.redirect('/admin/'),
  );
  if (existsSync(join(DASHBOARD_DIR, 'index.html'))) {
    await app.register(fastifyStatic, { root: DASHBOARD_DIR, prefix: '/admin/', decorateReply: false });
  } else {
    app.get('/admin/*', { config: { access: 'public' }, schema: { hide: true } }, async () => {
      throw new ApiError(
        'NOT_FOUND',
        'The dashboard is not built: run `npm run build:dashboard`, then restart the server.',
      );
    });
  }
};
