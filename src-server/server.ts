import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { createDatabase, type DatabaseHandle } from './db/connection.ts';
import { buildApp } from './http/app.ts';
import { gracefulClose } from './http/shutdown.ts';
import { loadLicenseKey } from './licensing/signing-key.ts';
import { expireHeldLeases } from './metering/leases.ts';
import { expireHeldReservations } from './metering/reservations.ts';
import { startOutbox } from './outbox/start.ts';

interface RunningServer {
  app: FastifyInstance;
  database: DatabaseHandle;
  config: Config;
  /** The base URL it listens on, e.g. http://127.0.0.1:8787. */
  url: string;
  /** Stops it; resolves to how many open connections had no request left and were closed. */
  close(): Promise<number>;
}

/** How often held reservations past their expiry are released when nobody needed the room. */
const RESERVATION_SWEEP_MS = 30_000;

/**
 * Opens the database (migrating it), loads or creates the license key, builds the app and
 * listens. `now` replaces the clock (tests).
 */
export async function startServer(config: Config, options: { now?: () => number } = {}): Promise<RunningServer> {
  const now = options.now ?? Date.now;
  const database = await createDatabase(config);
  let app: FastifyInstance | undefined;
  try {
    const licenseKey = config.licenseSigningKey ?? (await loadLicenseKey(database.db, now()));
    app = await buildApp({ config, database, licenseKey, now });
    const log = app.log;
    if (!config.licenseSigningKey) {
      log.warn(
        'TOLLGATE_LICENSE_SIGNING_KEY is not set: licenses are signed with a key generated in the database, ' +
          'which companions built with a vendor.config.json (licenseKeys) do not trust. Set it to the vendor key ' +
          '(docs/operations.md, "License signing keys").',
      );
    }
    database.onIdleConnectionError((error) =>
      log.warn({ err: error }, 'PostgreSQL closed an idle connection; the pool opens a new one when needed'),
    );
    const closeHttp = gracefulClose(app);
    const address = await app.listen({ port: config.port, host: config.host });
    const url = address.replace('[::1]', 'localhost');
    // Port 0 (tests) is only known now: the derived public URL follows the real port.
    if (config.publicUrl.endsWith(':0')) config.publicUrl = url;
    const sweeper = setInterval(() => {
      expireHeldReservations(database, now()).catch((error) =>
        app?.log.warn({ err: error }, 'reservation sweep failed'),
      );
      expireHeldLeases(database, now()).catch((error) => app?.log.warn({ err: error }, 'lease sweep failed'));
    }, RESERVATION_SWEEP_MS);
    sweeper.unref();
    // The one place the outbox worker (emails, webhooks) starts; close() stops it after the HTTP
    // server, waiting for a delivery in flight to be recorded.
    const outbox = startOutbox({ config, database, now, log });
    const running = app;
    return {
      app: running,
      database,
      config,
      url,
      close: async () => {
        clearInterval(sweeper);
        const closedConnections = await closeHttp();
        await outbox.stop();
        await database.destroy();
        return closedConnections;
      },
    };
  } catch (error) {
    await app?.close();
    await database.destroy();
    throw error;
  }
}
