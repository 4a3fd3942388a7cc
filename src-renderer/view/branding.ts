/**
 * White label: the product name, accent colour and logo come from main's state (the vendor's
 * configuration). Values are checked before use: a colour main would not accept either
 * (src-shared/branding.ts: `#rrggbb` only), or a logo the page's CSP would refuse, falls back to the
 * default instead of breaking the window.
 */

import { DEFAULT_BRANDING, isAccentColor } from '../../src-shared/branding.ts';

export const DEFAULT_ACCENT = DEFAULT_BRANDING.accentColor;

export interface Accent {
  color: string;
  /** Text colour that stays readable on the accent. */
  onColor: string;
}

function channels(hex: string): [number, number, number] {
  return [1, 3, 5].map((start) => Number.parseInt(hex.slice(start, start + 2), 16) / 255) as [number, number, number];
}

/** WCAG relative luminance. */
function luminance(hex: string): number {
  const [r, g, b] = channels(hex).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)) as [
    number,
    number,
    number,
  ];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function accentOf(color: string): Accent {
  const hex = isAccentColor(color) ? color : DEFAULT_ACCENT;
  // White text needs a contrast of 4.5 (WCAG AA): (1.05) / (L + 0.05) ≥ 4.5 ⇔ L ≤ 0.183.
  return { color: hex, onColor: luminance(hex) <= 0.183 ? '#ffffff' : '#111111' };
}

/**
 * A logo the page's CSP allows (img-src 'self' data: https:): an inline image, a file beside the
 * page, or an https address. Anything else (plain http, other schemes) shows no logo.
 */
export function logoOf(url: string | null): string | null {
  if (url === null) return null;
  if (/^data:image\/(png|svg\+xml|jpeg|webp|gif);/.test(url)) return url;
  if (/^\.?\/[^/]/.test(url)) return url;
  if (/^https:\/\/[^/]/.test(url)) return url;
  return null;
}
