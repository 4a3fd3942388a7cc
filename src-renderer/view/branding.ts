/**
 * White label: the product name, accent colour and logo come from main's state (the vendor's
 * configuration). Values are checked before use: a colour that is not a colour, or a logo the
 * page's CSP would refuse, falls back to the default instead of breaking the window.
 */

export const DEFAULT_ACCENT = '#2457d6';

const HEX = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;

export interface Accent {
  color: string;
  /** Text colour that stays readable on the accent. */
  onColor: string;
}

function channels(hex: string): [number, number, number] {
  const digits = hex.slice(1);
  const full = digits.length === 3 ? [...digits].map((digit) => digit + digit).join('') : digits;
  return [0, 2, 4].map((start) => Number.parseInt(full.slice(start, start + 2), 16) / 255) as [number, number, number];
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
  const hex = HEX.test(color) ? color : DEFAULT_ACCENT;
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
