import { createConnection, type Socket } from 'node:net';
import type {
  MethodOn,
  MethodWithoutParams,
  NotificationName,
  NotificationParams,
  Params,
  ResultOf,
} from '../src-shared/contract.ts';
import { notifications } from '../src-shared/contract.ts';
import { defaultSocketPath } from './host-socket.ts';

const LICENSE_CHANGED: NotificationName = 'license.changed';

/**
 * The host SDK for TypeScript: a typed JSON-RPC client for the companion's host socket. Host apps
 * (and the `tollgate` CLI, and the tests) use it; other languages follow docs/host-ipc.md.
 *
 *   const companion = await HostClient.connect();
 *   const gate = await companion.call('gate.check', { feature: 'sso' });
 *   if (!gate.allowed) showUpgrade(gate.upgrade);
 */

/** What a host app may call: the `host` surface of the contract table. */
export type HostMethod = MethodOn<'host'>;

/** A JSON-RPC error from the companion; `reason` is the stable reason code in `error.data.code`. */
export class HostError extends Error {
  override readonly name = 'HostError';
  constructor(
    readonly rpcCode: number,
    readonly reason: string | null,
    message: string,
  ) {
    super(message);
  }
}

interface Waiting {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export class HostClient {
  private nextId = 1;
  private buffer = '';
  private readonly waiting = new Map<number, Waiting>();
  private readonly licenseListeners = new Set<(change: NotificationParams<'license.changed'>) => void>();
  private closedError: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: string) => this.receive(chunk));
    const fail = (error?: Error) => {
      this.closedError = error ?? new Error('The companion closed the connection.');
      for (const waiting of this.waiting.values()) waiting.reject(this.closedError);
      this.waiting.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
  }

  /** Connects to a running companion (TOLLGATE_SOCKET, or the default path for this user). */
  static connect(path: string = defaultSocketPath()): Promise<HostClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new HostClient(socket));
      });
      socket.once('error', reject);
    });
  }

  call<M extends HostMethod>(
    method: M,
    ...[params]: M extends MethodWithoutParams ? [] : [Params<M>]
  ): Promise<ResultOf<M>> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      // Requests made in the same turn (a host firing many at once) go out in one write.
      if (this.socket.writableCorked === 0) {
        this.socket.cork();
        process.nextTick(() => this.socket.uncork());
      }
      this.socket.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params: params ?? {} })}\n`);
    });
  }

  /** Subscribes to license.changed (tier, standing or license validity changed); returns an unsubscribe. */
  async onLicenseChanged(listener: (change: NotificationParams<'license.changed'>) => void): Promise<() => void> {
    if (this.licenseListeners.size === 0) await this.call(notifications['license.changed'].subscribe);
    this.licenseListeners.add(listener);
    return () => this.licenseListeners.delete(listener);
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private receive(chunk: string): void {
    const lines = (this.buffer + chunk).split('\n');
    this.buffer = lines.pop() ?? '';
    for (const line of lines) if (line !== '') this.handle(JSON.parse(line));
  }

  private handle(message: {
    id?: number | null;
    method?: string;
    params?: unknown;
    result?: unknown;
    error?: { code: number; message: string; data?: { code?: string } };
  }): void {
    if (message.method === LICENSE_CHANGED) {
      const change = notifications[LICENSE_CHANGED].params.safeParse(message.params);
      if (change.success) for (const listener of this.licenseListeners) listener(change.data);
      return;
    }
    if (typeof message.id !== 'number') return;
    const waiting = this.waiting.get(message.id);
    if (!waiting) return;
    this.waiting.delete(message.id);
    if (message.error) {
      waiting.reject(new HostError(message.error.code, message.error.data?.code ?? null, message.error.message));
    } else {
      waiting.resolve(message.result);
    }
  }
}
