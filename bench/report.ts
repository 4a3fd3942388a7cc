import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One row of a benchmark table: what was measured beside its ceiling or baseline. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  /** The same work done by the simplest possible code in the same run, when there is one. */
  ceiling?: number;
  target?: string;
  pass?: boolean;
  [extra: string]: unknown;
}

/** Prints the table and writes bench/results/<name>.json. */
export function report(name: string, rows: BenchRow[], context: Record<string, unknown> = {}): void {
  const table = rows.map((row) => ({
    measure: row.name,
    value: `${round(row.value)} ${row.unit}`,
    ceiling: row.ceiling === undefined ? '' : `${round(row.ceiling)} ${row.unit}`,
    ratio: row.ceiling ? `${Math.round((row.value / row.ceiling) * 100)} %` : '',
    target: row.target ?? '',
    met: row.pass === undefined ? '' : row.pass ? 'yes' : 'NO',
  }));
  console.table(table);
  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${name}.json`),
    `${JSON.stringify({ name, measuredAt: new Date().toISOString(), context, rows }, null, 2)}\n`,
  );
}

function round(value: number): number {
  return value >= 100 ? Math.round(value) : Math.round(value * 100) / 100;
}

/** Percentile of a list of samples (ms). */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
