import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BRANDING_FILE, brandingFor, loadBranding } from '../../../src-main/branding.ts';
import { DEFAULT_BRANDING } from '../../../src-shared/branding.ts';

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'tollgate-branding-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const LOGO = 'data:image/svg+xml;base64,PHN2Zy8+';
const writeFile = (content: unknown) =>
  writeFileSync(join(home, BRANDING_FILE), typeof content === 'string' ? content : JSON.stringify(content));

describe('white-label configuration', () => {
  it('reads branding.json from the data folder', () => {
    writeFile({ productName: 'Acme Studio', accentColor: '#0b6e4f', logoUrl: LOGO });
    expect(loadBranding(home, {})).toEqual({
      configured: { productName: 'Acme Studio', accentColor: '#0b6e4f', logoUrl: LOGO },
      problems: [],
    });
  });

  it('lets the environment override the file, value by value', () => {
    writeFile({ productName: 'Acme Studio', accentColor: '#0b6e4f' });
    const { configured, problems } = loadBranding(home, {
      TOLLGATE_PRODUCT_NAME: 'Acme Cloud',
      TOLLGATE_LOGO_URL: 'https://cdn.acme.example/logo.png',
    });
    expect(problems).toEqual([]);
    expect(configured).toEqual({
      productName: 'Acme Cloud',
      accentColor: '#0b6e4f',
      logoUrl: 'https://cdn.acme.example/logo.png',
    });
  });

  it('refuses each bad value with a message naming it, and keeps the good ones', () => {
    writeFile({ productName: 'x'.repeat(41), accentColor: 'teal', logoUrl: LOGO, theme: 'dark' });
    const { configured, problems } = loadBranding(home, { TOLLGATE_LOGO_URL: 'http://acme.example/logo.png' });
    expect(configured).toEqual({});
    expect(problems).toEqual([
      'branding.json "productName" must be at most 40 characters: the default is used.',
      'branding.json "accentColor" must be a colour written #rrggbb: the default is used.',
      'branding.json "theme" is not a branding setting (productName, accentColor, logoUrl).',
      'TOLLGATE_LOGO_URL must be an https: address or a data:image URL: the default is used.',
    ]);
    expect(brandingFor(configured, true)).toEqual(DEFAULT_BRANDING);
  });

  it('refuses short colours, other schemes and empty names from the environment', () => {
    const { configured, problems } = loadBranding(home, {
      TOLLGATE_PRODUCT_NAME: '   ',
      TOLLGATE_ACCENT_COLOR: '#0b6',
      TOLLGATE_LOGO_URL: 'javascript:alert(1)',
    });
    expect(configured).toEqual({});
    expect(problems.map((problem) => problem.split(' ')[0])).toEqual([
      'TOLLGATE_PRODUCT_NAME',
      'TOLLGATE_ACCENT_COLOR',
      'TOLLGATE_LOGO_URL',
    ]);
  });

  it('says so when branding.json is not a JSON object, and uses the defaults', () => {
    writeFile('{ productName: Acme');
    expect(loadBranding(home, {})).toEqual({
      configured: {},
      problems: [expect.stringContaining('branding.json is not JSON')],
    });
    writeFile(['Acme']);
    expect(loadBranding(home, {}).problems).toEqual([expect.stringContaining('must hold a JSON object')]);
  });

  it('has nothing to say when nothing is configured', () => {
    expect(loadBranding(home, {})).toEqual({ configured: {}, problems: [] });
  });

  it('shows the configured branding only when the plan grants white label', () => {
    const configured = { productName: 'Acme Studio', accentColor: '#0b6e4f' };
    expect(brandingFor(configured, true)).toEqual({
      productName: 'Acme Studio',
      accentColor: '#0b6e4f',
      logoUrl: null,
    });
    expect(brandingFor(configured, false)).toEqual(DEFAULT_BRANDING);
    expect(DEFAULT_BRANDING.productName).toBe('Tollgate');
  });
});
