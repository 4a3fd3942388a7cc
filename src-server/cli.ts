import { ConfigError, loadConfig } from './config.ts';
import { startServer } from './server.ts';

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
  console.log(`tollgate-server listening on ${server.url} (${store}); API docs at ${server.url}/docs`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`tollgate-server: ${signal}, finishing requests in flight`);
    server.close().then(
      () => process.exit(0),
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
