import { describe, expect, it } from 'vitest';
import { fitWindowBounds } from '../../../src-main/window-bounds.ts';

const FULL_HD = { x: 0, y: 0, width: 1920, height: 1040 };
const LAPTOP = { x: 0, y: 0, width: 1366, height: 728 };
const RIGHT_MONITOR = { x: 1920, y: 0, width: 2560, height: 1400 };

describe('fitWindowBounds', () => {
  it('centres the default size on the primary display the first time', () => {
    expect(fitWindowBounds(undefined, [FULL_HD])).toEqual({ x: 460, y: 140, width: 1000, height: 760 });
  });

  it('fits a small screen: never taller or wider than its work area', () => {
    expect(fitWindowBounds(undefined, [LAPTOP])).toEqual({ x: 183, y: 0, width: 1000, height: 728 });
    expect(fitWindowBounds(undefined, [{ x: 0, y: 0, width: 800, height: 600 }])).toEqual({
      x: 0,
      y: 0,
      width: 800,
      height: 600,
    });
  });

  it('reopens where the user left it', () => {
    const saved = { x: 2200, y: 100, width: 700, height: 900 };
    expect(fitWindowBounds(saved, [FULL_HD, RIGHT_MONITOR])).toEqual(saved);
  });

  it('brings a window back from an unplugged monitor onto the primary', () => {
    const saved = { x: 2200, y: 100, width: 700, height: 900 };
    expect(fitWindowBounds(saved, [FULL_HD])).toEqual({ x: 610, y: 70, width: 700, height: 900 });
  });

  it('moves a window hanging off the edge fully into view, shrinking it to the screen', () => {
    expect(fitWindowBounds({ x: 1800, y: 900, width: 1000, height: 760 }, [FULL_HD])).toEqual({
      x: 920,
      y: 280,
      width: 1000,
      height: 760,
    });
    expect(fitWindowBounds({ x: -50, y: -20, width: 1600, height: 1000 }, [LAPTOP])).toEqual({
      x: 0,
      y: 0,
      width: 1366,
      height: 728,
    });
  });

  it('keeps the panel at its minimum size when the saved one is tiny', () => {
    expect(fitWindowBounds({ x: 100, y: 100, width: 50, height: 40 }, [FULL_HD])).toEqual({
      x: 100,
      y: 100,
      width: 380,
      height: 520,
    });
  });

  it('treats a corrupt saved value as nothing saved', () => {
    for (const saved of [
      null,
      'x',
      [],
      { x: 1 },
      { x: Number.NaN, y: 0, width: 800, height: 600 },
      { x: 0, y: 0, width: -5, height: 600 },
      { x: 1e12, y: 0, width: 800, height: 600 },
    ]) {
      expect(fitWindowBounds(saved, [FULL_HD])).toEqual({ x: 460, y: 140, width: 1000, height: 760 });
    }
  });
});
