import { ConfigError, isLoopbackUrl, loadConfig, type PaymentsMode } from './config.ts';
import { startServer } from './server.ts';

const PAYMENTS: Record<PaymentsMode, string> = {
  stripe: 'Stripe',
  local: 'local test provider, FAKE',
  disabled: 'disabled, set STRIPE_SECRET_KEY or TOLLGATE_PAYMENTS=local',
};

/** `npm run server` / `tollgate-server`: configuration from the environment (docs/operations.md). */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`tollgate-server: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const server = await startServer(config);
  const store = config.databaseUrl ? 'PostgreSQL' : `SQLite in ${config.dataDir}`;
  console.log(
    `tollgate-server listening on ${server.url} (${store}; payments: ${PAYMENTS[config.payments]}); ` +
      `API docs at ${server.url}/docs`,
  );
  if (config.payments === 'local') {
    console.error(
      `tollgate-server: WARNING: payments are FAKE (TOLLGATE_PAYMENTS=local): anyone who opens a checkout on ` +
        `${config.publicUrl} gets the paid plan without paying.${isLoopbackUrl(config.publicUrl) ? '' : ' This server is not on loopback (TOLLGATE_FORCE_LOCAL_PAYMENTS=1).'}`,
    );
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`tollgate-server: ${signal}, finishing requests in flight`);
    server.close().then(
      (closedConnections) => {
        const idle = closedConnections === 1 ? '1 connection' : `${closedConnections} connections`;
        console.log(`tollgate-server: stopped${closedConnections > 0 ? ` (closed ${idle} no request was using)` : ''}`);
        process.exit(0);
      },
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error) => {
  console.error(`tollgate-server failed to start: ${(error as Error).message}`);
  process.exit(1);
});
