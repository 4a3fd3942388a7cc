/**
 * Where the companion window opens: where the user left it, as long as that is still on a screen
 * (a monitor may have been unplugged, the resolution lowered), and never larger than the screen's
 * work area (the area without task bar, dock or menu bar) — a 1366×768 laptop sees the whole panel.
 */

export interface Bounds {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const WINDOW_BOUNDS_KEY = 'window.bounds';
const DEFAULT_SIZE = { width: 1000, height: 760 };
export const MIN_SIZE = { width: 380, height: 520 };

function savedBounds(value: unknown): Bounds | null {
  if (typeof value !== 'object' || value === null) return null;
  const { x, y, width, height } = value as Record<string, unknown>;
  const numbers = [x, y, width, height];
  if (!numbers.every((n) => typeof n === 'number' && Number.isFinite(n) && Math.abs(n) < 100_000)) return null;
  const bounds = { x, y, width, height } as Bounds;
  return bounds.width > 0 && bounds.height > 0 ? bounds : null;
}

function overlap(a: Bounds, b: Bounds): number {
  const width = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const height = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return width > 0 && height > 0 ? width * height : 0;
}

const clamp = (value: number, min: number, max: number) => Math.min(Math.max(value, min), max);

/**
 * The window's bounds from what was saved (anything, validated here) and the displays' work areas
 * (the first is the primary display). A saved window goes back to the display it overlaps most,
 * shrunk to fit and moved fully into view; with nothing usable saved it is centred on the primary.
 */
export function fitWindowBounds(saved: unknown, workAreas: readonly Bounds[]): Bounds {
  const primary = workAreas[0] ?? { x: 0, y: 0, ...DEFAULT_SIZE };
  const previous = savedBounds(saved);
  let area = primary;
  if (previous) {
    let best = 0;
    for (const candidate of workAreas) {
      const shared = overlap(previous, candidate);
      if (shared > best) [best, area] = [shared, candidate];
    }
    if (best === 0) area = primary;
  }
  const wanted = previous ?? { x: 0, y: 0, ...DEFAULT_SIZE };
  const width = Math.round(Math.min(Math.max(wanted.width, MIN_SIZE.width), area.width));
  const height = Math.round(Math.min(Math.max(wanted.height, MIN_SIZE.height), area.height));
  if (!previous || overlap(previous, area) === 0) {
    return {
      x: Math.round(area.x + (area.width - width) / 2),
      y: Math.round(area.y + (area.height - height) / 2),
      width,
      height,
    };
  }
  return {
    x: Math.round(clamp(previous.x, area.x, area.x + area.width - width)),
    y: Math.round(clamp(previous.y, area.y, area.y + area.height - height)),
    width,
    height,
  };
}
