import { describe, expect, it } from 'vitest';
import { toCsv } from '../../../src-server/analytics/csv.ts';

describe('CSV export', () => {
  it('writes RFC 4180 rows: quotes around commas, quotes and line breaks, CRLF line ends', () => {
    expect(
      toCsv(
        ['a', 'b'],
        [
          ['plain', 'with, comma'],
          ['say "hi"', 'two\nlines'],
          [null, -12],
        ],
      ),
    ).toBe('a,b\r\nplain,"with, comma"\r\n"say ""hi""","two\nlines"\r\n,-12\r\n');
  });

  it('never lets customer text become a spreadsheet formula', () => {
    const hostile = ['=HYPERLINK("http://evil.example")', '+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx'];
    const lines = toCsv(
      ['email'],
      hostile.map((text) => [text]),
    )
      .split('\r\n')
      .slice(1, -1);
    // Each comes back prefixed with an apostrophe (quoted where it holds a quote or line break).
    expect(lines).toEqual([`"'=HYPERLINK(""http://evil.example"")"`, "'+1+1", "'-2+3", "'@SUM(A1)", "'\tx", `"'\rx"`]);
  });

  it('keeps negative amounts as numbers', () => {
    expect(toCsv(['net_new_cents'], [[-10100]])).toBe('net_new_cents\r\n-10100\r\n');
  });
});
