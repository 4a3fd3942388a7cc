import type { Migration } from 'kysely/migration';
import * as core from './001_core.ts';
import * as payments from './002_payments.ts';
import * as analytics from './003_analytics.ts';
import * as adminConsole from './008_admin_console.ts';

/**
 * Every migration of every domain, in the order they run. A name is recorded in each database's
 * migration table, so an existing name never changes; a new migration takes the next number.
 */
export const migrations: Record<string, Migration> = {
  '001_core': core,
  '002_payments': payments,
  '003_analytics': analytics,
  '008_admin_console': adminConsole,
};
