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
  });

  it('looks on Windows where the given environment says Program Files and the user’s AppData are', () => {
    const env = {
      LOCALAPPDATA: 'C:\\Users\\ada\\AppData\\Local',
      ProgramFiles: 'D:\\Programs',
      'ProgramFiles(x86)': 'D:\\Programs (x86)',
    };
    const system = browserCandidates(env, 'win32')
      .filter((candidate) => candidate.source === 'system browser')
      .map((candidate) => candidate.path);
    expect(system).toEqual([
      'C:\\Users\\ada\\AppData\\Local\\Google\\Chrome\\Application\\chrome.exe',
      'C:\\Users\\ada\\AppData\\Local\\Chromium\\Application\\chrome.exe',
      'C:\\Users\\ada\\AppData\\Local\\Microsoft\\Edge\\Application\\msedge.exe',
      'D:\\Programs\\Google\\Chrome\\Application\\chrome.exe',
      'D:\\Programs\\Chromium\\Application\\chrome.exe',
      'D:\\Programs\\Microsoft\\Edge\\Application\\msedge.exe',
      'D:\\Programs (x86)\\Google\\Chrome\\Application\\chrome.exe',
      'D:\\Programs (x86)\\Chromium\\Application\\chrome.exe',
      'D:\\Programs (x86)\\Microsoft\\Edge\\Application\\msedge.exe',
    ]);
    // Only the given environment counts (not this process's): without it there is nowhere to look.
    expect(browserCandidates({}, 'win32').filter((candidate) => candidate.source === 'system browser')).toEqual([]);
    expect(() => findChromium({ ProgramFiles: join(dir, 'no-such-folder') }, 'win32')).toThrow(
      /no-such-folder\\Google\\Chrome\\Application\\chrome\.exe \(system browser\)/,
    );
  });

  it('says what to install when no browser is found', () => {
    // A platform with no known places and no Playwright download: nothing exists.
    expect(() => findChromium({}, 'aix')).toThrow(
      /npx playwright-core install chromium[\s\S]*apt-get install chromium/,
    );
  });
});
