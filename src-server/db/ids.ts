import { randomUUID } from 'node:crypto';

/** A new random id with a prefix that says what it names (`rsv_…`, `billable_…`). */
export function newId(prefix: string): string {
  return `${prefix}_${randomUUID()}`;
}
