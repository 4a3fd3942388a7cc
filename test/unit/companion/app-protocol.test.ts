import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contentTypeOf, rendererUrl, resolveAppFile } from '../../../src-main/app-protocol.ts';
import { isAllowedNavigation, isTrustedSender } from '../../../src-main/security.ts';

const ROOT = resolve('/opt/Tollgate/resources/app.asar/out/renderer');

describe('resolveAppFile: the app:// handler serves out/renderer and nothing else', () => {
  it('maps the app’s own URLs to files inside the renderer folder', () => {
    expect(resolveAppFile(ROOT, 'app://bundle/index.html')).toBe(join(ROOT, 'index.html'));
    expect(resolveAppFile(ROOT, 'app://bundle/')).toBe(join(ROOT, 'index.html'));
    expect(resolveAppFile(ROOT, 'app://bundle/assets/index-Cbr_eA86.js')).toBe(
      join(ROOT, 'assets', 'index-Cbr_eA86.js'),
    );
    expect(resolveAppFile(ROOT, 'app://bundle/assets/index.css?v=1#x')).toBe(join(ROOT, 'assets', 'index.css'));
    expect(resolveAppFile(ROOT, 'app://bundle/assets/my%20font.woff2')).toBe(join(ROOT, 'assets', 'my font.woff2'));
  });

  const hostile = [
    'app://bundle/../../../../etc/passwd',
    'app://bundle/..%2f..%2f..%2fetc%2fpasswd',
    'app://bundle/%2e%2e/%2e%2e/etc/passwd',
    'app://bundle/assets/..%2F..%2F..%2Fmain%2Findex.js',
    'app://bundle/..%5c..%5cwindows%5cwin.ini',
    'app://bundle/assets\\..\\..\\main\\index.js',
    'app://bundle/%2fetc%2fpasswd',
    'app://bundle//etc/passwd',
    'app://bundle/index.html%00.png',
    'app://bundle/.env',
    'app://bundle/assets/.secret',
    'app://bundle/%E0%A4%A',
    'app://bundle/a%0aHeader: x',
    'app://evil/index.html',
    'app://bundle.evil.example/index.html',
    'app://user:pass@bundle/index.html',
    'app://bundle:8080/index.html',
    'file:///etc/passwd',
    'https://bundle/index.html',
    'javascript:alert(1)',
    `app://bundle/${'a/'.repeat(2000)}x`,
    '',
    'not a url',
  ];
  it.each(hostile)('refuses %s', (url) => {
    expect(resolveAppFile(ROOT, url)).toBeNull();
  });

  it('refuses what is not a string', () => {
    expect(resolveAppFile(ROOT, null as unknown as string)).toBeNull();
    expect(resolveAppFile(ROOT, 42 as unknown as string)).toBeNull();
  });
});

describe('rendererUrl', () => {
  it('uses electron-vite’s dev server only in a development build', () => {
    const env = { ELECTRON_RENDERER_URL: 'http://localhost:5173/' };
    expect(rendererUrl(false, env)).toBe('http://localhost:5173/');
    expect(rendererUrl(true, env)).toBe('app://bundle/index.html');
    expect(rendererUrl(false, {})).toBe('app://bundle/index.html');
  });

  it('ignores a dev server URL that is not on this machine', () => {
    for (const url of [
      'https://evil.example/',
      'http://192.168.1.5:5173/',
      'file:///tmp/x.html',
      'http://localhost.evil.example/',
    ]) {
      expect(rendererUrl(false, { ELECTRON_RENDERER_URL: url })).toBe('app://bundle/index.html');
    }
  });
});

describe('the app:// page in the security rules', () => {
  const APP = 'app://bundle/index.html';
  it('allows the app’s own page and refuses another app:// host (Node gives both the origin "null")', () => {
    expect(isAllowedNavigation('app://bundle/index.html#/plans', APP)).toBe(true);
    expect(isAllowedNavigation('app://evil/index.html', APP)).toBe(false);
    expect(isAllowedNavigation('app://bundle/other.html', APP)).toBe(false);
    expect(isTrustedSender({ url: 'app://evil/index.html', isTopFrame: true }, APP)).toBe(false);
    expect(isTrustedSender({ url: APP, isTopFrame: true }, APP)).toBe(true);
  });
});

describe('contentTypeOf', () => {
  it('names the types the renderer build produces and serves anything else as bytes', () => {
    expect(contentTypeOf('/x/index.html')).toBe('text/html; charset=utf-8');
    expect(contentTypeOf('/x/a.JS')).toBe('text/javascript; charset=utf-8');
    expect(contentTypeOf('/x/a.css')).toBe('text/css; charset=utf-8');
    expect(contentTypeOf('/x/a.exe')).toBe('application/octet-stream');
  });
});
