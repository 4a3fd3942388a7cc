import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname, release, type } from 'node:os';
import packageJson from '../package.json' with { type: 'json' };

/**
 * This machine's device id: SHA-256 of the operating system's machine identity and the vendor's
 * app id, so it is stable across reinstalls, differs between vendors, and does not travel with a
 * copied data folder (licenses carry it as `dev`). Where the OS offers no identity the host name
 * stands in — weaker, and said so in docs/security.md. The identity is a constructor argument in
 * tests, never an environment variable: nothing an end user sets may choose which machine this is.
 */

/** The operating system's machine identity: /etc/machine-id, IOPlatformUUID or MachineGuid. */
export function machineIdentity(platform: NodeJS.Platform = process.platform): string {
  try {
    if (platform === 'darwin') {
      const out = execFileSync('ioreg', ['-rd1', '-c', 'IOPlatformExpertDevice'], { encoding: 'utf8' });
      const uuid = /"IOPlatformUUID"\s*=\s*"([^"]+)"/.exec(out)?.[1];
      if (uuid) return uuid;
    } else if (platform === 'win32') {
      const out = execFileSync('reg', ['query', 'HKLM\\SOFTWARE\\Microsoft\\Cryptography', '/v', 'MachineGuid'], {
        encoding: 'utf8',
        windowsHide: true,
      });
      const guid = /MachineGuid\s+REG_SZ\s+(\S+)/.exec(out)?.[1];
      if (guid) return guid;
    } else {
      for (const path of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
        try {
          const id = readFileSync(path, 'utf8').trim();
          if (id) return id;
        } catch {
          // Try the next place.
        }
      }
    }
  } catch {
    // No identity from the OS tool: fall through.
  }
  return `host:${hostname()}`;
}

export function deviceIdFor(identity: string, appId: string): string {
  return `dev-${createHash('sha256').update(`${appId}\n${identity}`).digest('hex').slice(0, 32)}`;
}

/** What the server's device list shows for this machine (sent with every license request). */
export interface DeviceDescription {
  deviceName: string;
  os: string;
  appVersion: string;
}

export function describeDevice(): DeviceDescription {
  return {
    deviceName: hostname().slice(0, 80) || 'Unnamed device',
    os: `${type()} ${release()}`.slice(0, 80),
    appVersion: packageJson.version.slice(0, 40),
  };
}
