/**
 * Usage periods are calendar months in UTC, written `YYYY-MM` (as in the seed). Time is UTC
 * milliseconds everywhere inside the code.
 */

export const PERIOD_PATTERN = /^\d{4}-(0[1-9]|1[0-2])$/;

export function periodOf(ms: number): string {
  const date = new Date(ms);
  const month = String(date.getUTCMonth() + 1).padStart(2, '0');
  return `${date.getUTCFullYear()}-${month}`;
}

/** First millisecond of the period. */
export function periodStart(period: string): number {
  const [year, month] = parsePeriod(period);
  return Date.UTC(year, month - 1, 1);
}

/** First millisecond of the next period: when this period's usage resets. */
export function periodEnd(period: string): number {
  const [year, month] = parsePeriod(period);
  return Date.UTC(year, month, 1);
}

export function addMonths(period: string, months: number): string {
  const [year, month] = parsePeriod(period);
  return periodOf(Date.UTC(year, month - 1 + months, 1));
}

function parsePeriod(period: string): [number, number] {
  if (!PERIOD_PATTERN.test(period)) throw new RangeError(`not a period (YYYY-MM): ${period}`);
  return [Number(period.slice(0, 4)), Number(period.slice(5, 7))];
}
