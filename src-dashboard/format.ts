import { formatMoney } from '../src-shared/format.ts';

/**
 * The dashboard's own figures: amounts and rates the API may not have (null, e.g. churn in a month
 * that began with no subscribers). Money and counts themselves are src-shared/format.ts, as in the
 * companion's window.
 */

const MISSING = '—';

export function formatAmount(cents: number | null, currency: string): string {
  return cents === null ? MISSING : formatMoney(cents, currency);
}

export function formatRate(rate: number | null): string {
  if (rate === null) return MISSING;
  return `${(rate * 100).toFixed(1)} %`;
}
