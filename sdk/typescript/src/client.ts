import { randomUUID } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';
import type { JSONWebKeySet } from 'jose';
import { ConnectionError, errorFromRpc, NotSignedInError, ProtocolError, TimeoutError } from './errors.ts';
import { type LicenseClaims, verifyLicenseToken } from './license.ts';
import { defaultSocketPath } from './socket-path.ts';
import { VENDOR_KEYS } from './vendor-keys.ts';
import {
  type ConsumeOutcome,
  type Decision,
  type Devices,
  isConsumeOutcome,
  isDecision,
  isDevices,
  isLicenseAnswer,
  isLicenseChanged,
  isSubscribed,
  isUsage,
  type LicenseAnswer,
  type LicenseChanged,
  type Usage,
} from './wire.ts';

export interface ClientOptions {
  /** The socket or pipe; default TOLLGATE_SOCKET, else the companion's default path for this user. */
  path?: string;
  /** The vendor's pinned license keys (a JWKS); default the build's `vendor-keys` module. */
  keys?: JSONWebKeySet;
  /** How long one request may take, reconnects included (ms). Default 10 000. */
  timeoutMs?: number;
  /** How many times a request is sent again after the connection dropped. Default 3. */
  retries?: number;
  /** Reconnect backoff: first delay and ceiling (ms), doubled each attempt, with full jitter. */
  backoff?: { initialMs: number; maxMs: number };
}

export interface LicenseResult extends LicenseAnswer {
  token: string;
  /** The token's claims, verified here against the pinned keys. */
  claims: LicenseClaims;
}

interface Pending {
  line: string;
  attempts: number;
  check: (value: unknown) => boolean;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

const KEY_PREFIX = 'tg-';

/**
 * A client of the companion's host socket. It connects on first use, pipelines requests (answers are
 * matched by id), reconnects with backoff when the companion restarts, and sends a request again
 * after a dropped connection — `usageConsume` with the same idempotency key, so it is never counted
 * twice. An idle connection does not keep the process alive.
 */
export class TollgateClient {
  readonly path: string;
  private readonly keys: JSONWebKeySet;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoff: { initialMs: number; maxMs: number };
  private socket: Socket | null = null;
  private connecting: Promise<Socket> | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(change: LicenseChanged) => void>();
  private nextId = 1;
  private buffer = '';
  private closed = false;

  constructor(options: ClientOptions = {}) {
    this.path = options.path ?? defaultSocketPath();
    this.keys = options.keys ?? VENDOR_KEYS;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retries = options.retries ?? 3;
    this.backoff = options.backoff ?? { initialMs: 50, maxMs: 2_000 };
  }

  /** May the user use this feature? A denial is an answer (`allowed: false`, `code`, `upgrade`). */
  gateCheck(feature: string): Promise<Decision> {
    return this.request('gate.check', { feature }, isDecision) as Promise<Decision>;
  }

  /** Would `units` of `operation` be allowed now? Records nothing. */
  usageCheck(operation: string, units = 1): Promise<Decision> {
    return this.request('usage.check', { operation, units }, isDecision) as Promise<Decision>;
  }

  /**
   * Spends `units` of `operation` when allowed. The idempotency key (generated unless given) is
   * sent again unchanged on every retry, so a request that reached the companion before the
   * connection dropped is not counted twice.
   */
  usageConsume(operation: string, units = 1, options: { idempotencyKey?: string } = {}): Promise<ConsumeOutcome> {
    const idempotencyKey = options.idempotencyKey ?? `${KEY_PREFIX}${randomUUID()}`;
    return this.request(
      'usage.consume',
      { operation, units, idempotencyKey },
      isConsumeOutcome,
    ) as Promise<ConsumeOutcome>;
  }

  /** The account's active devices, this one marked (read-only: the user releases devices in the companion). */
  devices(): Promise<Devices> {
    return this.request('devices.list', {}, isDevices) as Promise<Devices>;
  }

  usageGet(): Promise<Usage> {
    return this.request('usage.get', {}, isUsage) as Promise<Usage>;
  }

  /** The signed license, verified locally against the pinned keys; throws the typed error when it does not verify. */
  async license(now: Date = new Date()): Promise<LicenseResult> {
    const answer = (await this.request('license.get', {}, isLicenseAnswer)) as LicenseAnswer;
    if (answer.token === null) throw new NotSignedInError('No license: the companion is not signed in.');
    const claims = await verifyLicenseToken(answer.token, this.keys, now);
    return { token: answer.token, license: answer.license, claims };
  }

  /** Calls `listener` on every `license.changed`; resubscribes after a reconnect. Resolves to an unsubscribe. */
  async onLicenseChanged(listener: (change: LicenseChanged) => void): Promise<() => void> {
    const first = this.listeners.size === 0;
    this.listeners.add(listener);
    if (first) {
      try {
        await this.request('license.subscribe', {}, isSubscribed);
      } catch (error) {
        this.listeners.delete(listener);
        throw error;
      }
    }
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Any host method by name, unchecked (for methods newer than this client). */
  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    return this.request(method, params, () => true);
  }

  close(): void {
    this.closed = true;
    const error = new ConnectionError('The client was closed.');
    for (const [id, pending] of this.pending) this.settle(id, pending, error);
    this.socket?.destroy();
    this.socket = null;
  }

  private request(
    method: string,
    params: Record<string, unknown>,
    check: (value: unknown) => boolean,
  ): Promise<unknown> {
    if (this.closed) return Promise.reject(new ConnectionError('The client was closed.'));
    const id = this.nextId++;
    const line = `${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const pending = this.pending.get(id);
        if (pending) this.settle(id, pending, new TimeoutError(`${method}: no answer within ${this.timeoutMs} ms.`));
      }, this.timeoutMs);
      const pending: Pending = { line, attempts: 0, check, resolve, reject, timer };
      this.pending.set(id, pending);
      this.transmit(id, pending);
    });
  }

  private settle(id: number, pending: Pending, error: Error | null, value?: unknown): void {
    clearTimeout(pending.timer);
    this.pending.delete(id);
    // An idle connection does not keep the host's process alive (a CLI can exit when it is done).
    if (this.pending.size === 0) this.socket?.unref();
    if (error) pending.reject(error);
    else pending.resolve(value);
  }

  private transmit(id: number, pending: Pending): void {
    this.connection().then(
      (socket) => {
        if (this.pending.get(id) !== pending) return;
        socket.ref();
        // Requests made in the same turn leave in one write.
        if (socket.writableCorked === 0) {
          socket.cork();
          process.nextTick(() => socket.uncork());
        }
        socket.write(pending.line);
      },
      (error: Error) => {
        if (this.pending.get(id) === pending) this.settle(id, pending, error);
      },
    );
  }

  private connection(): Promise<Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    this.connecting ??= this.connectWithBackoff().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async connectWithBackoff(): Promise<Socket> {
    let lastError: Error | null = null;
    for (let attempt = 0; attempt <= this.retries; attempt += 1) {
      if (attempt > 0) {
        const ceiling = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** (attempt - 1));
        await new Promise((resolve) => setTimeout(resolve, ceiling / 2 + (Math.random() * ceiling) / 2));
      }
      if (this.closed) break;
      try {
        const socket = await this.open();
        this.adopt(socket);
        return socket;
      } catch (error) {
        lastError = error as Error;
      }
    }
    throw new ConnectionError(
      `Cannot reach the Tollgate companion at ${this.path}: ${lastError?.message ?? 'closed'}. Is it running?`,
    );
  }

  private open(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(this.path);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
      socket.once('error', reject);
    });
  }

  private adopt(socket: Socket): void {
    this.socket = socket;
    this.buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.receive(socket, chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.lost(socket));
    // A new connection has no subscription: ask again for the listeners already registered.
    if (this.listeners.size > 0) {
      socket.write(
        `${JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method: 'license.subscribe', params: {} })}\n`,
      );
    }
  }

  /** The connection dropped: send what is still unanswered again, on a new one, up to `retries` times. */
  private lost(socket: Socket): void {
    if (this.socket !== socket) return;
    this.socket = null;
    if (this.closed) return;
    for (const [id, pending] of this.pending) {
      pending.attempts += 1;
      if (pending.attempts > this.retries) {
        this.settle(id, pending, new ConnectionError('The companion closed the connection before answering.'));
      } else {
        this.transmit(id, pending);
      }
    }
  }

  private receive(socket: Socket, chunk: string): void {
    const lines = (this.buffer + chunk).split('\n');
    this.buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        this.broken(socket, 'The companion sent a line that is not JSON.');
        return;
      }
      this.handle(message);
    }
  }

  /** An answer that cannot be attributed: fail what is waiting on this connection and start afresh. */
  private broken(socket: Socket, reason: string): void {
    if (this.socket === socket) this.socket = null;
    for (const [id, pending] of this.pending) this.settle(id, pending, new ProtocolError(reason));
    socket.destroy();
  }

  private handle(message: unknown): void {
    if (typeof message !== 'object' || message === null) return;
    const { id, method, params, result, error } = message as Record<string, unknown>;
    if (method === 'license.changed') {
      if (isLicenseChanged(params)) for (const listener of this.listeners) listener(params);
      return;
    }
    if (typeof id !== 'number') return;
    const pending = this.pending.get(id);
    if (!pending) return;
    if (typeof error === 'object' && error !== null) {
      const rpc = error as { code?: unknown; message?: unknown; data?: { code?: unknown } };
      if (typeof rpc.code !== 'number' || typeof rpc.message !== 'string') {
        this.settle(id, pending, new ProtocolError('The companion sent an error without a code and message.'));
      } else {
        this.settle(id, pending, errorFromRpc({ code: rpc.code, message: rpc.message, data: rpc.data ?? {} }));
      }
    } else if (result !== undefined && pending.check(result)) {
      this.settle(id, pending, null, result);
    } else {
      this.settle(
        id,
        pending,
        new ProtocolError('The companion answered with a result this client does not understand.'),
      );
    }
  }
}
