import { describe, expect, it } from 'vitest';
import { VENDOR_KEYS } from '../../sdk/typescript/src/vendor-keys.ts';
import vendor from '../../vendor.config.json' with { type: 'json' };

describe('the TypeScript host SDK', () => {
  it('embeds exactly the license keys the companion is built with', () => {
    expect(VENDOR_KEYS).toEqual(vendor.licenseKeys);
  });
});
