import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ACCENT_COLOR_RULE, type Branding, DEFAULT_BRANDING, isAccentColor } from '../src-shared/branding.ts';

/**
 * White label (the catalog's enterprise `white_label` feature): the vendor names the product, its
 * accent colour and logo in configuration, never in code —
 *   `branding.json` in the companion's data folder (TOLLGATE_HOME): { "productName", "accentColor", "logoUrl" }
 *   TOLLGATE_PRODUCT_NAME, TOLLGATE_ACCENT_COLOR, TOLLGATE_LOGO_URL (these win over the file).
 * Each value is checked on its own: a bad one is refused with a message naming it and its default
 * is used, the good ones still apply. The configured branding shows only while the account's plan
 * grants `white_label` (or `all_features`); everyone else sees Tollgate.
 */

export const BRANDING_FILE = 'branding.json';

const LOGO_DATA_URL = /^data:image\/(png|svg\+xml|jpeg|webp|gif);/;

const FIELDS = {
  productName: z.string().trim().min(1, 'must not be empty').max(40, 'must be at most 40 characters'),
  accentColor: z.string().refine(isAccentColor, ACCENT_COLOR_RULE),
  logoUrl: z
    .string()
    .refine(
      (url) => LOGO_DATA_URL.test(url) || z.url({ protocol: /^https$/ }).safeParse(url).success,
      'must be an https: address or a data:image URL',
    ),
} satisfies Record<keyof Branding, z.ZodType>;

const ENV: Record<keyof Branding, string> = {
  productName: 'TOLLGATE_PRODUCT_NAME',
  accentColor: 'TOLLGATE_ACCENT_COLOR',
  logoUrl: 'TOLLGATE_LOGO_URL',
};

export interface BrandingConfig {
  /** The values that passed their check; absent ones fall back to the default. */
  configured: Partial<Branding>;
  /** One message per refused value, naming where it came from. */
  problems: string[];
}

export function loadBranding(home: string, env: NodeJS.ProcessEnv = process.env): BrandingConfig {
  const configured: Partial<Branding> = {};
  const problems: string[] = [];
  const take = (field: keyof Branding, value: unknown, source: string) => {
    const parsed = FIELDS[field].safeParse(value);
    if (parsed.success) {
      configured[field] = parsed.data;
      return;
    }
    // Refused outright, even over a good value from the file: the vendor sees the default and fixes it.
    delete configured[field];
    problems.push(`${source} ${parsed.error.issues[0]?.message ?? 'is not valid'}: the default is used.`);
  };

  const path = join(home, BRANDING_FILE);
  let text: string | null = null;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`${path} cannot be read: ${error}`);
  }
  if (text !== null) {
    let file: unknown;
    try {
      file = JSON.parse(text);
    } catch {
      problems.push(`${path} is not JSON: the default branding is used.`);
    }
    if (typeof file === 'object' && file !== null && !Array.isArray(file)) {
      for (const [key, value] of Object.entries(file)) {
        if (key in FIELDS) take(key as keyof Branding, value, `${BRANDING_FILE} "${key}"`);
        else problems.push(`${BRANDING_FILE} "${key}" is not a branding setting (productName, accentColor, logoUrl).`);
      }
    } else if (file !== undefined) {
      problems.push(`${path} must hold a JSON object: the default branding is used.`);
    }
  }
  for (const field of Object.keys(ENV) as (keyof Branding)[]) {
    const value = env[ENV[field]];
    if (value !== undefined && value !== '') take(field, value, ENV[field]);
  }
  return { configured, problems };
}

/** The branding to show: the configured one only while the plan grants white label. */
export function brandingFor(configured: Partial<Branding>, whiteLabel: boolean): Branding {
  return whiteLabel ? { ...DEFAULT_BRANDING, ...configured } : DEFAULT_BRANDING;
}
