import type { z } from 'zod';
import {
  FunnelResponse,
  MrrSeriesResponse,
  type ReportName,
  RevenueResponse,
  SummaryResponse,
  UpsellResponse,
  UsageResponse,
} from '../src-shared/admin-api.ts';

/** The dashboard's view of the admin API: every call carries the token as a bearer header. */

export class AdminApiError extends Error {
  override readonly name = 'AdminApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function request(token: string, path: string): Promise<Response> {
  const response = await fetch(path, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
  if (!response.ok) {
    const problem = (await response.json().catch(() => null)) as { title?: string; detail?: string } | null;
    throw new AdminApiError(response.status, problem?.detail ?? problem?.title ?? `HTTP ${response.status}`);
  }
  return response;
}

async function read<T>(token: string, path: string, schema: z.ZodType<T>): Promise<T> {
  const response = await request(token, path);
  return schema.parse(await response.json());
}

export interface MonthData {
  summary: SummaryResponse;
  mrr: MrrSeriesResponse;
  revenue: RevenueResponse;
  usage: UsageResponse;
  upsell: UpsellResponse;
  funnel: FunnelResponse;
}

const UPSELL_ROWS = 50;

export async function loadMonth(token: string, month: string): Promise<MonthData> {
  const query = `month=${encodeURIComponent(month)}`;
  const [summary, mrr, revenue, usage, upsell, funnel] = await Promise.all([
    read(token, `/v1/admin/metrics/summary?${query}`, SummaryResponse),
    read(token, `/v1/admin/metrics/mrr?${query}&months=12`, MrrSeriesResponse),
    read(token, `/v1/admin/metrics/revenue?${query}&months=12`, RevenueResponse),
    read(token, `/v1/admin/metrics/usage?${query}`, UsageResponse),
    read(token, `/v1/admin/upsell?${query}&limit=${UPSELL_ROWS}`, UpsellResponse),
    read(token, `/v1/admin/metrics/funnel?${query}`, FunnelResponse),
  ]);
  return { summary, mrr, revenue, usage, upsell, funnel };
}

/**
 * Downloads a CSV export. A plain link cannot carry the bearer header (and the token must not go in
 * the URL), so the file is fetched and handed to the browser as a blob.
 */
async function download(token: string, path: string, filename: string): Promise<void> {
  const response = await request(token, path);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.click();
  URL.revokeObjectURL(url);
}

export function downloadCsv(token: string, report: ReportName, month: string): Promise<void> {
  return download(
    token,
    `/v1/admin/export/${report}.csv?month=${encodeURIComponent(month)}&months=12`,
    `tollgate-${report}-${month}.csv`,
  );
}

/** One customer's audit log as CSV (the same file as /v1/admin/audit.csv, filtered). */
export function downloadAuditCsv(token: string, accountId: string): Promise<void> {
  return download(
    token,
    `/v1/admin/audit.csv?accountId=${encodeURIComponent(accountId)}`,
    `tollgate-audit-${accountId}.csv`,
  );
}

/** One admin API call with a JSON body and answer (the customers pages and their actions). */
export async function adminCall<T = unknown>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? null : JSON.stringify(body),
    cache: 'no-store',
  });
  const answer = (await response.json().catch(() => null)) as { title?: string; detail?: string } | null;
  if (!response.ok)
    throw new AdminApiError(response.status, answer?.detail ?? answer?.title ?? `HTTP ${response.status}`);
  return answer as T;
}

/** Signs a named administrator in: the session token the dashboard then sends as its bearer. */
export async function signInAdministrator(email: string, password: string): Promise<string> {
  const response = await fetch('/v1/admin/sessions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const answer = (await response.json().catch(() => null)) as {
    token?: string;
    detail?: string;
    title?: string;
  } | null;
  if (!response.ok || !answer?.token)
    throw new AdminApiError(response.status, answer?.detail ?? answer?.title ?? 'Sign-in failed');
  return answer.token;
}
