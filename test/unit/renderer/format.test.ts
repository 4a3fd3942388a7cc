import { describe, expect, it } from 'vitest';
import { formatWindow, humanize } from '../../../src-renderer/view/format.ts';

// Money, counts, limits and dates are src-shared/format.ts (test/unit/format.test.ts).
describe('words', () => {
  it('turns catalog identifiers into words, spelling acronyms in capitals', () => {
    expect(humanize('export_formats')).toBe('Export formats');
    expect(humanize('ai_operations')).toBe('AI operations');
    expect(humanize('sso')).toBe('SSO');
    expect(humanize('dedicated_support')).toBe('Dedicated support');
  });

  it('names the API-call window', () => {
    expect(formatWindow(3600)).toBe('hour');
    expect(formatWindow(86_400)).toBe('24 hours');
    expect(formatWindow(60)).toBe('minute');
    expect(formatWindow(900)).toBe('15 minutes');
  });
});
