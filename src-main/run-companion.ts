import { Companion, type CompanionOptions } from './companion.ts';
import { defaultSocketPath, HostSocketServer } from './host-socket.ts';
import type { WebServer } from './web-server.ts';

/**
 * A running companion, in every mode: the services, the host socket host apps call, and (--web)
 * the UI over loopback HTTP. The CLI (headless, web) and the Electron entry both start it here;
 * Electron then adds its window and IPC.
 */

interface RunOptions extends CompanionOptions {
  /** The host socket's path (TOLLGATE_SOCKET, or the default for this user). */
  socketPath?: string;
  /** Serve this built renderer over loopback HTTP (--web mode). */
  webStaticDir?: string;
}

export interface RunningCompanion {
  companion: Companion;
  socket: HostSocketServer;
  web: WebServer | null;
  /** Stops serving, then closes the companion (its journal, its lock). */
  close(): Promise<void>;
}

/** Throws CompanionAlreadyRunning (owner-lock.ts) or SocketInUse (host-socket.ts) with a message to show. */
export async function runCompanion(options: RunOptions): Promise<RunningCompanion> {
  const { socketPath = defaultSocketPath(), webStaticDir, ...companionOptions } = options;
  const companion = await Companion.open(companionOptions);
  let socket: HostSocketServer | null = null;
  try {
    socket = await HostSocketServer.listen({ path: socketPath, dispatch: companion.dispatch, state: companion.state });
    companion.start();
    // Loaded only in --web mode: the Electron window and --headless never pay for Fastify's start-up.
    const web = webStaticDir
      ? await import('./web-server.ts').then(({ startWebServer }) =>
          startWebServer({ staticDir: webStaticDir, dispatch: companion.dispatch, state: companion.state }),
        )
      : null;
    const openSocket = socket;
    return {
      companion,
      socket: openSocket,
      web,
      async close() {
        await web?.close();
        await openSocket.close();
        await companion.close();
      },
    };
  } catch (error) {
    await socket?.close();
    await companion.close();
    throw error;
  }
}
