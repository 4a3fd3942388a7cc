import type { Migration } from 'kysely/migration';
import * as core from './001_core.ts';
import * as payments from './002_payments.ts';
import * as analytics from './003_analytics.ts';
import * as devices from './004_devices.ts';
import * as leases from './005_leases.ts';
import * as pgMetering from './006_pg_metering.ts';
import * as outbox from './007_outbox.ts';
import * as adminConsole from './008_admin_console.ts';
import * as journalHeads from './012_journal_heads.ts';
import * as eventDates from './013_event_dates.ts';
import * as trials from './014_trials.ts';
import * as funnel from './015_funnel.ts';
import * as importClaims from './017_import_claims.ts';
import * as pgMeterPrepared from './018_pg_meter_prepared.ts';
import * as usageEventsLean from './019_usage_events_lean.ts';
import * as pgMeterSetBased from './020_pg_meter_set_based.ts';
import * as signInFailures from './021_sign_in_failures.ts';

/**
 * Every migration of every domain, in the order they run. A name is recorded in each database's
 * migration table, so an existing name never changes; a new migration takes the next number.
 */
export const migrations: Record<string, Migration> = {
  '001_core': core,
  '002_payments': payments,
  '003_analytics': analytics,
  '004_devices': devices,
  '005_leases': leases,
  '006_pg_metering': pgMetering,
  '007_outbox': outbox,
  '012_journal_heads': journalHeads,
  '008_admin_console': adminConsole,
  '013_event_dates': eventDates,
  '014_trials': trials,
  '015_funnel': funnel,
  '017_import_claims': importClaims,
  '018_pg_meter_prepared': pgMeterPrepared,
  '019_usage_events_lean': usageEventsLean,
  '020_pg_meter_set_based': pgMeterSetBased,
  '021_sign_in_failures': signInFailures,
};
