/**
 * How money, counts, limits and dates read on every screen: the companion's window and the vendor's
 * dashboard format with these, so "$49" on the plans table and "$49" in the MRR figure never
 * disagree. Pure and free of imports (the renderer bundles it), so the words are unit-tested.
 * Dates take an optional time zone: a window uses the user's own, tests pin UTC.
 */

// Building an Intl formatter is far dearer than using one (locale data is loaded each time), and
// a render formats dozens of values: each distinct formatter is built once.
const formatters = new Map<string, { format(value: number): string }>();
function formatter(key: string, build: () => { format(value: number): string }) {
  let cached = formatters.get(key);
  if (!cached) {
    cached = build();
    formatters.set(key, cached);
  }
  return cached;
}

/** Integer cents in the catalog's currency: "$49" for whole amounts, "$49.50" otherwise. */
export function formatMoney(cents: number, currency: string): string {
  const whole = cents % 100 === 0;
  const money = formatter(
    `money:${currency}:${whole}`,
    () =>
      new Intl.NumberFormat('en-US', {
        style: 'currency',
        currency: currency.toUpperCase(),
        minimumFractionDigits: whole ? 0 : 2,
        maximumFractionDigits: 2,
      }),
  );
  return money.format(cents / 100);
}

/** "1,234" */
export function formatCount(value: number): string {
  return formatter('count', () => new Intl.NumberFormat('en-US')).format(value);
}

/**
 * A catalog limit: "Unlimited" for -1 (the catalog's only negative value; see `UNLIMITED` in
 * catalog.ts, not imported so this module stays free of zod), else the count with its unit.
 */
export function formatLimit(limit: number, unit = ''): string {
  return limit < 0 ? 'Unlimited' : `${formatCount(limit)}${unit}`;
}

export type Instant = number | string;

const toMs = (instant: Instant): number => (typeof instant === 'number' ? instant : Date.parse(instant));

/** "3 Dec 2026" */
export function formatDate(instant: Instant, timeZone?: string): string {
  const dates = formatter(
    `date:${timeZone}`,
    () => new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone }),
  );
  return dates.format(toMs(instant));
}

/** "3 Dec 2026, 14:05" */
export function formatDateTime(instant: Instant, timeZone?: string): string {
  const times = formatter(
    `datetime:${timeZone}`,
    () =>
      new Intl.DateTimeFormat('en-GB', {
        day: 'numeric',
        month: 'short',
        year: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
        timeZone,
      }),
  );
  return times.format(toMs(instant));
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

const relativeWords = new Intl.RelativeTimeFormat('en', { numeric: 'always' });

/** "in 6 days", "2 hours ago", "just now": the largest whole unit, so it reads at a glance. */
export function formatRelative(instant: Instant, now: number): string {
  const delta = toMs(instant) - now;
  for (const [unit, size] of UNITS) {
    if (Math.abs(delta) >= size) return relativeWords.format(Math.trunc(delta / size), unit);
  }
  return 'just now';
}
