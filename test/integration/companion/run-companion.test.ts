import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostClient } from '../../../src-main/host-client.ts';
import { SocketInUse } from '../../../src-main/host-socket.ts';
import { runCompanion } from '../../../src-main/run-companion.ts';
import { plaintextCipher } from '../../../src-main/secrets.ts';
import { openNodeStore } from '../../../src-main/settings-store.ts';
import { closeAfterEach, tempDir, VENDOR_TRUST } from './harness.ts';

// runCompanion, as the CLI and the Electron entry start the companion: the services and the host
// socket come up together, and a start that fails half-way leaves nothing behind.

const closing = closeAfterEach();
/** A data folder for this test, removed after what was opened in it is closed. */
const newFolder = () => closing(tempDir('tollgate-run-'), (folder) => folder.remove());

const optionsIn = (home: string, socketPath: string) => ({
  home,
  serverUrl: 'http://127.0.0.1:9',
  openStore: openNodeStore,
  cipher: plaintextCipher,
  ...VENDOR_TRUST,
  socketPath,
});

describe('runCompanion', () => {
  it('answers host apps on its socket until closed', async () => {
    const folder = newFolder();
    const socketPath = join(folder.path, 'companion.sock');
    const running = await runCompanion(optionsIn(join(folder.path, 'home'), socketPath));
    const client = await HostClient.connect(socketPath);
    expect(await client.call('gate.check', { feature: 'sso' })).toMatchObject({
      allowed: false,
      code: 'NOT_SIGNED_IN',
    });
    client.close();
    await running.close();
    await expect(HostClient.connect(socketPath)).rejects.toThrow();
  });

  it('refuses a socket another companion answers on, and releases the data folder it had opened', async () => {
    const folder = newFolder();
    const socketPath = join(folder.path, 'companion.sock');
    const first = await runCompanion(optionsIn(join(folder.path, 'first'), socketPath));
    closing(first, (running) => running.close());
    const secondHome = join(folder.path, 'second');
    await expect(runCompanion(optionsIn(secondHome, socketPath))).rejects.toBeInstanceOf(SocketInUse);
    // The failed start closed its companion: the folder's lock is free for the next one.
    const retry = await runCompanion(optionsIn(secondHome, join(folder.path, 'other.sock')));
    closing(retry, (running) => running.close());
    expect(retry.companion.state.getState().account).toBeNull();
  });

  it('serves the web bridge only when asked', async () => {
    const folder = newFolder();
    const headless = await runCompanion(optionsIn(join(folder.path, 'home'), join(folder.path, 'companion.sock')));
    closing(headless, (running) => running.close());
    expect(headless.web).toBeNull();
  });
});
