import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { homedir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import {
  type CompanionFailure,
  type Dispatch,
  type MethodName,
  methodsOn,
  type NotificationName,
  type NotificationParams,
  notifications,
  RPC_ERRORS,
} from '../src-shared/contract.ts';
import type { Result } from '../src-shared/result.ts';
import type { MainStore } from './state.ts';

/**
 * The host socket: JSON-RPC 2.0, one JSON value per line (UTF-8, "\n"), for host apps in any
 * language. A Unix domain socket (0600, in a 0700 folder) or, on Windows, a named pipe. Every frame
 * is untrusted: bad JSON, huge or half-written lines, unknown methods and wrong params get JSON-RPC
 * errors on that connection only. docs/host-ipc.md is the protocol's specification.
 */

/** A line longer than this (in characters) is refused and skipped up to its newline; no request needs more. */
export const MAX_LINE_LENGTH = 1024 * 1024;
/** A client that stops reading its answers is cut off before it can make main buffer without end. */
const MAX_UNREAD_BYTES = 8 * 1024 * 1024;

const HOST_METHODS = new Set<string>(methodsOn('host'));

export class SocketInUse extends Error {
  override readonly name = 'SocketInUse';
  constructor(readonly path: string) {
    super(
      `A Tollgate companion is already answering on ${path}. Use it (tollgate status), or stop it before ` +
        'starting another; two companions must never share a usage journal.',
    );
  }
}

/** Where the socket lives: TOLLGATE_SOCKET, else $XDG_RUNTIME_DIR/tollgate, else ~/.tollgate/run; a pipe on Windows. */
export function defaultSocketPath(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  if (env.TOLLGATE_SOCKET) return env.TOLLGATE_SOCKET;
  if (platform === 'win32') return `\\\\.\\pipe\\tollgate-companion-${userInfo().username}`;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'tollgate', 'companion.sock');
  return join(home, '.tollgate', 'run', 'companion.sock');
}

const LICENSE_CHANGED: NotificationName = 'license.changed';

type Id = string | number | null;
type Response =
  | { jsonrpc: '2.0'; id: Id; result: unknown }
  | { jsonrpc: '2.0'; id: Id; error: { code: number; message: string; data?: unknown } };

const rpcError = (id: Id, code: number, message: string, data?: unknown): Response => ({
  jsonrpc: '2.0',
  id,
  error: data === undefined ? { code, message } : { code, message, data },
});

function rpcCodeOf(problem: CompanionFailure): number {
  if (problem.code === 'INVALID_PARAMS') return RPC_ERRORS.invalidParams;
  if (problem.code === 'INTERNAL') return RPC_ERRORS.internalError;
  return RPC_ERRORS.domainError;
}

type Reply = Response | Response[] | null;

/**
 * Results that cannot change (frozen, like the gate's remembered decisions) are serialized once: a
 * host asks the same gate again and again, and the answer's JSON is most of the work.
 */
const serializedResults = new WeakMap<object, string>();

/** One answer as a line. */
function frame(reply: Response | Response[]): string {
  if (!Array.isArray(reply) && 'result' in reply) {
    const { result } = reply;
    if (typeof result === 'object' && result !== null && Object.isFrozen(result)) {
      let json = serializedResults.get(result);
      if (json === undefined) {
        json = JSON.stringify(result);
        serializedResults.set(result, json);
      }
      return `{"jsonrpc":"2.0","id":${JSON.stringify(reply.id)},"result":${json}}\n`;
    }
  }
  return `${JSON.stringify(reply)}\n`;
}

/**
 * Answers one parsed JSON-RPC value (a request, a notification or a batch); null when nothing is
 * owed. Synchronous when the method is (the hot path: gate.check), a promise otherwise.
 */
function answer(message: unknown, dispatch: Dispatch, onSubscribe: () => void): Reply | Promise<Reply> {
  if (Array.isArray(message)) {
    if (message.length === 0) return rpcError(null, RPC_ERRORS.invalidRequest, 'Empty batch');
    return Promise.all(message.map((item) => answerOne(item, dispatch, onSubscribe))).then((answers) => {
      const owed = answers.filter((item): item is Response => item !== null);
      return owed.length > 0 ? owed : null;
    });
  }
  return answerOne(message, dispatch, onSubscribe);
}

function answerOne(
  message: unknown,
  dispatch: Dispatch,
  onSubscribe: () => void,
): Response | null | Promise<Response | null> {
  if (typeof message !== 'object' || message === null) {
    return rpcError(null, RPC_ERRORS.invalidRequest, 'Expected a JSON-RPC 2.0 request object');
  }
  const request = message as { jsonrpc?: unknown; method?: unknown; params?: unknown; id?: unknown };
  const hasId = 'id' in request;
  const idValid =
    !hasId ||
    request.id === null ||
    typeof request.id === 'string' ||
    (typeof request.id === 'number' && Number.isFinite(request.id));
  const id: Id = hasId && idValid ? (request.id as Id) : null;
  if (request.jsonrpc !== '2.0' || typeof request.method !== 'string' || !idValid) {
    return rpcError(id, RPC_ERRORS.invalidRequest, 'Expected {"jsonrpc":"2.0","method":string,"id"?:string|number}');
  }
  const method = request.method;
  if (!HOST_METHODS.has(method)) {
    return owed(hasId, rpcError(id, RPC_ERRORS.methodNotFound, `Unknown method ${method.slice(0, 100)}`));
  }
  if (request.params !== undefined && (typeof request.params !== 'object' || Array.isArray(request.params))) {
    return owed(
      hasId,
      rpcError(id, RPC_ERRORS.invalidParams, 'params must be an object (named parameters)', { code: 'INVALID_PARAMS' }),
    );
  }
  const outcome = dispatch(method as MethodName, request.params ?? {});
  if (outcome instanceof Promise) return outcome.then((late) => answerFor(late, method, id, hasId, onSubscribe));
  return answerFor(outcome, method, id, hasId, onSubscribe);
}

/** A notification (no id) gets no answer, even when it failed: JSON-RPC 2.0 §4.1. */
const owed = (hasId: boolean, reply: Response): Response | null => (hasId ? reply : null);

/** The answer owed for a method's outcome. A plain function, not a closure: gate.check is the hot path. */
function answerFor(
  outcome: Result<unknown, CompanionFailure>,
  method: string,
  id: Id,
  hasId: boolean,
  onSubscribe: () => void,
): Response | null {
  if (!outcome.ok) {
    return owed(hasId, rpcError(id, rpcCodeOf(outcome.error), outcome.error.message, { code: outcome.error.code }));
  }
  if (method === notifications[LICENSE_CHANGED].subscribe) onSubscribe();
  return owed(hasId, { jsonrpc: '2.0', id, result: outcome.value });
}

export interface HostSocketOptions {
  path: string;
  dispatch: Dispatch;
  /** license.changed is sent to subscribed connections when this changes. */
  state: MainStore;
}

export class HostSocketServer {
  private readonly connections = new Set<Socket>();
  private readonly subscribed = new Set<Socket>();
  private unsubscribe: () => void = () => undefined;

  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {}

  /** Listens on the socket path, refusing to take it over from a live companion. */
  static async listen(options: HostSocketOptions): Promise<HostSocketServer> {
    const { path } = options;
    const isPipe = path.startsWith('\\\\');
    if (!isPipe) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      chmodSync(dirname(path), 0o700);
      if (await isAnswering(path)) throw new SocketInUse(path);
      try {
        unlinkSync(path);
      } catch {
        // No stale socket to remove.
      }
    }
    const server = createServer();
    const host = new HostSocketServer(server, path);
    server.on('connection', (socket) => host.accept(socket, options.dispatch));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'EADDRINUSE' ? new SocketInUse(path) : error),
      );
      server.listen(path, () => resolve());
    });
    if (!isPipe) chmodSync(path, 0o600);
    host.watchLicense(options.state);
    return host;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  async close(): Promise<void> {
    this.unsubscribe();
    for (const socket of this.connections) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private watchLicense(state: MainStore): void {
    const keyOf = (s: ReturnType<MainStore['getState']>) => JSON.stringify([s.license, s.effectiveTier, s.standing]);
    let last = keyOf(state.getState());
    this.unsubscribe = state.subscribe((current) => {
      const key = keyOf(current);
      if (key === last) return;
      last = key;
      const params: NotificationParams<'license.changed'> = {
        license: current.license,
        effectiveTier: current.effectiveTier,
        standing: current.standing,
      };
      const line = `${JSON.stringify({ jsonrpc: '2.0', method: LICENSE_CHANGED, params })}\n`;
      for (const socket of this.subscribed) this.send(socket, line);
    });
  }

  /**
   * Writes a line, cut off a client that has stopped reading its answers, and batches: the lines
   * written in one turn (a chunk's synchronous answers, a group commit acknowledging dozens of
   * consumes) leave in one write when the turn ends instead of one system call each.
   */
  private send(socket: Socket, line: string): void {
    if (socket.destroyed) return;
    if (socket.writableLength > MAX_UNREAD_BYTES) {
      socket.destroy();
      return;
    }
    if (socket.writableCorked === 0) {
      socket.cork();
      process.nextTick(() => socket.uncork());
    }
    socket.write(line);
  }

  private accept(socket: Socket, dispatch: Dispatch): void {
    this.connections.add(socket);
    socket.setEncoding('utf8');
    let buffer = '';
    // After an over-long line: drop input until the next newline, then carry on with the next frame.
    let skipping = false;
    const onSubscribe = () => this.subscribed.add(socket);
    const tooLong = frame(rpcError(null, RPC_ERRORS.invalidRequest, `Line longer than ${MAX_LINE_LENGTH} characters`));
    const handleLine = (line: string) => {
      if (line.length > MAX_LINE_LENGTH) {
        this.send(socket, tooLong);
        return;
      }
      if (line.trim() === '') return;
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        this.send(socket, frame(rpcError(null, RPC_ERRORS.parseError, 'Parse error: invalid JSON')));
        return;
      }
      const answered = answer(message, dispatch, onSubscribe);
      if (answered instanceof Promise) {
        answered.then(
          (late) => {
            if (late !== null) this.send(socket, frame(late));
          },
          (error: Error) => {
            this.send(socket, frame(rpcError(null, RPC_ERRORS.internalError, error.message)));
          },
        );
      } else if (answered !== null) {
        this.send(socket, frame(answered));
      }
    };
    socket.on('data', (chunk: string) => {
      // The chunk's synchronous answers (gate.check and the like) leave together as soon as it is read.
      socket.cork();
      try {
        receive(chunk);
      } finally {
        socket.uncork();
      }
    });
    const receive = (chunk: string) => {
      let start = 0;
      for (let newline = chunk.indexOf('\n'); newline !== -1; newline = chunk.indexOf('\n', start)) {
        const piece = chunk.slice(start, newline);
        start = newline + 1;
        if (skipping) {
          skipping = false;
          buffer = '';
          continue;
        }
        const line = buffer + piece;
        buffer = '';
        handleLine(line);
      }
      if (skipping) return;
      buffer += chunk.slice(start);
      if (buffer.length > MAX_LINE_LENGTH) {
        buffer = '';
        skipping = true;
        this.send(socket, tooLong);
      }
    };
    const forget = () => {
      this.connections.delete(socket);
      this.subscribed.delete(socket);
    };
    socket.on('error', forget);
    socket.on('close', forget);
  }
}

/** Is a companion answering on this socket path right now? */
function isAnswering(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
