import type { Config } from '../config.ts';
import type { DatabaseHandle } from '../db/connection.ts';
import { smtpSender } from './email.ts';
import { OutboxWorker } from './worker.ts';

/** Starts the outbox worker of a server process; `stop()` ends it once its deliveries are recorded. */
export function startOutbox(deps: {
  config: Config;
  database: DatabaseHandle;
  now: () => number;
  log: { warn(object: object, message: string): void };
}): { stop(): Promise<void> } {
  const { config, database, now, log } = deps;
  const email = config.outbox.smtpUrl ? smtpSender(config.outbox.smtpUrl, config.outbox.mailFrom) : null;
  if (!email) log.warn({}, 'TOLLGATE_SMTP_URL is not set: customer emails are kept in the outbox, unsent, until it is');
  const worker = new OutboxWorker({
    db: database.db,
    dialect: database.dialect,
    catalog: config.catalog,
    now,
    email,
    publicUrl: () => config.publicUrl,
    leaseMs: config.outbox.leaseMs,
    log,
  });
  worker.start();
  return {
    stop: async () => {
      await worker.stop();
      email?.close();
    },
  };
}
