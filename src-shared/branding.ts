/**
 * White-label branding, the rules main and the renderer share. An accent colour is written exactly
 * `#rrggbb` (case-insensitive): main refuses anything else in the vendor's configuration and the
 * renderer falls back to the default for anything else in the state, so both accept the same
 * values. The short `#rgb` form is refused everywhere: one form, one way to compare and store it.
 */

export interface Branding {
  productName: string;
  accentColor: string;
  logoUrl: string | null;
}

export const DEFAULT_BRANDING: Branding = { productName: 'Tollgate', accentColor: '#2457d6', logoUrl: null };

const ACCENT_COLOR = /^#[0-9a-f]{6}$/i;

/** What a refused colour is told (main's configuration messages). */
export const ACCENT_COLOR_RULE = 'must be a colour written #rrggbb';

export function isAccentColor(value: unknown): value is string {
  return typeof value === 'string' && ACCENT_COLOR.test(value);
}
