import { describe, expect, it } from 'vitest';
import { loadBranding } from '../../src-main/branding.ts';
import { accentOf, DEFAULT_ACCENT } from '../../src-renderer/view/branding.ts';
import { isAccentColor } from '../../src-shared/branding.ts';

// One rule for an accent colour, in main's configuration and in the renderer alike: #rrggbb.

const HOSTILE = [
  '',
  '#fff',
  '#12345',
  '#1234567',
  '#gggggg',
  '0b6e4f',
  ' #0b6e4f',
  '#0b6e4f ',
  '#0b6e4f\n',
  '#0b6e4f;background:url(https://evil.example)',
  'red',
  'rgb(0,0,0)',
  'var(--x)',
  'expression(alert(1))',
  'url(javascript:alert(1))',
  '#0b6e4f</style><script>alert(1)</script>',
  '＃0b6e4f',
];

describe('accent colour', () => {
  it('accepts #rrggbb in either case', () => {
    for (const colour of ['#0b6e4f', '#FFD400', '#aBcDeF', '#000000']) expect(isAccentColor(colour)).toBe(true);
  });

  it.each(HOSTILE)('refuses %j in main and in the renderer', (hostile) => {
    expect(isAccentColor(hostile)).toBe(false);
    expect(accentOf(hostile).color).toBe(DEFAULT_ACCENT);
    const { configured, problems } = loadBranding('/nonexistent-tollgate-home', { TOLLGATE_ACCENT_COLOR: hostile });
    if (hostile !== '') {
      expect(configured.accentColor).toBeUndefined();
      expect(problems).toEqual(['TOLLGATE_ACCENT_COLOR must be a colour written #rrggbb: the default is used.']);
    }
  });

  it('refuses what is not a string', () => {
    for (const value of [null, undefined, 0x0b6e4f, ['#0b6e4f'], { toString: () => '#0b6e4f' }]) {
      expect(isAccentColor(value)).toBe(false);
    }
  });
});
