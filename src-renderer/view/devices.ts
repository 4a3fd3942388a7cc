import type { Device } from '../../src-shared/api.ts';
import { formatCount, formatRelative } from '../../src-shared/format.ts';

/** The devices section in words: this computer first, then the others, and the plan's places. */

export interface DeviceRow {
  deviceId: string;
  name: string;
  /** "Linux 6.8.0 · last seen 5 minutes ago" */
  detail: string;
  thisDevice: boolean;
}

export function deviceRows(devices: readonly (Device & { thisDevice?: boolean })[], now: number): DeviceRow[] {
  return devices
    .map((device) => ({
      deviceId: device.deviceId,
      name: device.name,
      detail: [device.os, `last seen ${formatRelative(device.lastSeenAt, now)}`].filter(Boolean).join(' · '),
      thisDevice: device.thisDevice === true,
    }))
    .sort((a, b) => Number(b.thisDevice) - Number(a.thisDevice));
}

/** "2 of 3 devices", "1 device (no limit)". */
export function devicePlaces(active: number, maxDevices: number): string {
  const noun = (count: number) => (count === 1 ? 'device' : 'devices');
  if (maxDevices < 0) return `${formatCount(active)} ${noun(active)} (no limit)`;
  return `${formatCount(active)} of ${formatCount(maxDevices)} ${noun(maxDevices)}`;
}
