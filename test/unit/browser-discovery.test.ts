import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { browserCandidates, findChromium } from '../support/browser.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-browser-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('finding a browser for the UI tests', () => {
  it('uses TOLLGATE_CHROMIUM first, and names it when the path is wrong', () => {
    const browser = join(dir, 'my-chrome');
    writeFileSync(browser, '');
    chmodSync(browser, 0o755);
    expect(findChromium({ TOLLGATE_CHROMIUM: browser }, 'linux')).toBe(browser);
    expect(() => findChromium({ TOLLGATE_CHROMIUM: join(dir, 'missing') }, 'linux')).toThrow(
      /TOLLGATE_CHROMIUM=.*missing does not exist/,
    );
  });

  it("looks at Playwright's Chromium, then the usual places on Linux, macOS and Windows", () => {
    expect(browserCandidates({}).map((candidate) => candidate.source)[0]).toBe("Playwright's Chromium");
    expect(browserCandidates({}, 'linux').map((c) => c.path)).toContain('/usr/bin/chromium');
    expect(browserCandidates({}, 'darwin').map((c) => c.path)).toContain(
      '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    );
    // Windows paths come from the environment; the module read it at load, so check the shape only.
    expect(browserCandidates({}, 'win32').every((c) => c.source !== 'system browser' || /\.exe$/.test(c.path))).toBe(
      true,
    );
  });

  it('says what to install when no browser is found', () => {
    // A platform with no known places and no Playwright download: nothing exists.
    expect(() => findChromium({}, 'aix')).toThrow(/npx playwright install chromium[\s\S]*apt-get install chromium/);
  });
});
