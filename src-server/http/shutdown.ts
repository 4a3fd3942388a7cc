import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** How long a stopping server lets requests already being answered finish before it drops them. */
const DRAIN_MS = 10_000;
const POLL_MS = 25;

/**
 * Counts requests in flight so that `close` can stop the server as soon as none is left.
 *
 * Fastify's own close waits for every open connection that Node does not consider idle, and a
 * browser's preconnected socket (opened, no request sent yet) is not idle to Node: it is only
 * dropped by the headers timeout, a minute and a half later. A SIGTERM'd server would sit there
 * that long (systemd kills it at 90 s). Here, once the requests in flight are answered (or after
 * DRAIN_MS), every remaining connection is closed: none of them has anything left to receive.
 */
/** Returns the close function; it resolves to how many connections it closed that had no request. */
export function gracefulClose(app: FastifyInstance): () => Promise<number> {
  const connections = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  /** The sockets carrying a request that has not been answered yet. */
  const answering = new Set<Socket>();
  app.addHook('onRequest', async (request) => {
    answering.add(request.raw.socket);
  });
  const answered = async (request: FastifyRequest) => {
    answering.delete(request.raw.socket);
  };
  app.addHook('onResponse', answered);
  app.addHook('onRequestAbort', answered);

  return async () => {
    let closed = false;
    const closing = app.close().finally(() => {
      closed = true;
    });
    const deadline = Date.now() + DRAIN_MS;
    let dropped = 0;
    while (!closed) {
      const late = Date.now() >= deadline;
      if (late && answering.size > 0) {
        app.log.warn({ requests: answering.size }, `requests still running after ${DRAIN_MS / 1000} s dropped`);
      }
      for (const socket of connections) {
        if (!socket.destroyed && (late || !answering.has(socket))) {
          socket.destroy();
          dropped += 1;
        }
      }
      await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, POLL_MS))]);
    }
    return dropped;
  };
}
