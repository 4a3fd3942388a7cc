import { describe, expect, it } from 'vitest';
import { accentOf, DEFAULT_ACCENT, logoOf } from '../../../src-renderer/view/branding.ts';

describe('white label', () => {
  it('uses the configured accent with readable text on it', () => {
    expect(accentOf('#0b6e4f')).toEqual({ color: '#0b6e4f', onColor: '#ffffff' });
    expect(accentOf('#ffd400')).toEqual({ color: '#ffd400', onColor: '#111111' });
    expect(accentOf('#FFD400')).toEqual({ color: '#FFD400', onColor: '#111111' });
  });

  it('falls back to the default accent for anything main would not accept as #rrggbb', () => {
    for (const hostile of [
      '',
      '#fff',
      'red; background: url(http://evil)',
      'expression(alert(1))',
      '#12345',
      'url(x)',
    ]) {
      expect(accentOf(hostile).color).toBe(DEFAULT_ACCENT);
    }
  });

  it('shows only logos the page CSP allows', () => {
    expect(logoOf('data:image/png;base64,iVBORw0KGgo=')).toBe('data:image/png;base64,iVBORw0KGgo=');
    expect(logoOf('/branding/logo.svg')).toBe('/branding/logo.svg');
    expect(logoOf('https://cdn.vendor.example/logo.png')).toBe('https://cdn.vendor.example/logo.png');
    for (const refused of [
      'http://vendor.example/logo.png',
      '//evil.example/x.png',
      'javascript:alert(1)',
      'data:text/html;base64,PGgxPg==',
    ]) {
      expect(logoOf(refused)).toBeNull();
    }
    expect(logoOf(null)).toBeNull();
  });
});
