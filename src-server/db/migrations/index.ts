import type { Migration } from 'kysely/migration';
import * as analytics from '../../analytics/migration.ts';
import * as payments from '../../payments/migration.ts';
import * as core from './001_core.ts';

/**
 * Every migration, keyed by a name that sorts in the order they must run. Kysely's Migrator applies
 * the missing ones at start. Each area adds its own entry here (e.g. '002_payments').
 */
export const migrations: Record<string, Migration> = {
  '001_core': core,
  '002_payments': payments,
  '003_analytics': analytics,
};
