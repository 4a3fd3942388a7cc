/**
 * Decodes the SDK's `application/x-www-form-urlencoded` bodies (`items[0][price]=x`, `expand[]=y`)
 * into nested objects and arrays, the way Stripe's API reads them.
 */
export type FormValue = string | FormObject | FormValue[];
export interface FormObject {
  [key: string]: FormValue;
}

export function decodeForm(text: string): FormObject {
  const root: FormObject = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const [head, ...rest] = rawKey.split('[');
    const path = [head as string, ...rest.map((part) => part.replace(/]$/, ''))];
    let node: FormObject | FormValue[] = root;
    path.forEach((key, index) => {
      const last = index === path.length - 1;
      const container = node as Record<string, FormValue>;
      const slot = key === '' && Array.isArray(node) ? String(node.length) : key;
      if (last) {
        container[slot] = value;
        return;
      }
      const nextIsArray = /^\d*$/.test(path[index + 1] as string);
      container[slot] ??= nextIsArray ? [] : {};
      node = container[slot] as FormObject | FormValue[];
    });
  }
  return root;
}

export function str(value: FormValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function list(value: FormValue | undefined): FormValue[] {
  if (Array.isArray(value)) return value;
  if (value && typeof value === 'object') return Object.values(value);
  return value === undefined ? [] : [value];
}
