import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Companion, type CompanionOptions } from '../../../src-main/companion.ts';
import { HostSocketServer } from '../../../src-main/host-socket.ts';
import { plaintextCipher } from '../../../src-main/secrets.ts';
import { openNodeStore } from '../../../src-main/settings-store.ts';

/** A temp folder that a test owns and removes. */
export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A companion in-process, as `tollgate --headless` builds it, with its world overridable. */
export function openTestCompanion(options: Partial<CompanionOptions> & { home: string; serverUrl: string }) {
  return Companion.open({ openStore: openNodeStore, cipher: plaintextCipher, ...options });
}

export async function listenHostSocket(companion: Companion, path: string): Promise<HostSocketServer> {
  return HostSocketServer.listen({
    path,
    dispatch: (method, params) => companion.dispatch(method, params),
    state: companion.state,
  });
}

/** A client that speaks raw lines, for feeding the socket what a well-behaved SDK never would. */
export class RawClient {
  private buffer = '';
  private lines: string[] = [];
  private waiters: Array<(line: string) => void> = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      const parts = (this.buffer + chunk).split('\n');
      this.buffer = parts.pop() ?? '';
      for (const line of parts) {
        const waiter = this.waiters.shift();
        if (waiter) waiter(line);
        else this.lines.push(line);
      }
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }

  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  write(text: string): Promise<void> {
    return new Promise((resolve) => this.socket.write(text, () => resolve()));
  }

  nextLine(timeoutMs = 10_000): Promise<unknown> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(JSON.parse(line));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer from the companion')), timeoutMs);
      this.waiters.push((next) => {
        clearTimeout(timer);
        resolve(JSON.parse(next));
      });
    });
  }

  async request(method: string, params: unknown, id: number | string = 1): Promise<unknown> {
    await this.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    return this.nextLine();
  }

  close(): void {
    this.socket.destroy();
  }
}
