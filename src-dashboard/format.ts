/** How the dashboard writes numbers; the e2e test formats the API's values with the same functions. */

export function formatMoney(cents: number | null, currency: string): string {
  if (cents === null) return '—';
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase() }).format(cents / 100);
}

export function formatRate(rate: number | null): string {
  if (rate === null) return '—';
  return `${(rate * 100).toFixed(1)} %`;
}

export function formatCount(count: number): string {
  return new Intl.NumberFormat('en-US').format(count);
}
