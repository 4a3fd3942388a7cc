/**
 * The renderer's own words: catalog identifiers and the API-call window. Money, counts, limits and
 * dates are formatted by src-shared/format.ts, which the dashboard uses too.
 */

// prompt.ts reads counts from here; the implementation is the shared one.
export { formatCount } from '../../src-shared/format.ts';

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
