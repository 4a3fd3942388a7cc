/**
 * How numbers, money and dates read in the window. Pure, so the words a user sees are unit-tested.
 * Dates take an optional time zone: the window uses the user's own, tests pin UTC.
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

export function formatCount(value: number): string {
  return formatter('count', () => new Intl.NumberFormat('en-US')).format(value);
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

/** `export_formats` → "Export formats": catalog identifiers shown as words. */
export function humanize(identifier: string): string {
  const words = identifier.replaceAll('_', ' ').trim();
  if (words === '') return identifier;
  const spelled = words.replace(/\b(ai|sso|api)\b/gi, (word) => word.toUpperCase());
  return spelled.charAt(0).toUpperCase() + spelled.slice(1);
}

/** "1 hour", "24 hours": the API-call window from its length in seconds. */
export function formatWindow(seconds: number): string {
  if (seconds % 3600 === 0) {
    const hours = seconds / 3600;
    return hours === 1 ? 'hour' : `${hours} hours`;
  }
  const minutes = Math.max(1, Math.round(seconds / 60));
  return minutes === 1 ? 'minute' : `${minutes} minutes`;
}
