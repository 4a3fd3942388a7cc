import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Device, DeviceParams, DevicesResponse, RenameDeviceRequest } from '../../src-shared/api.ts';
import type { ServerContext } from '../http/context.ts';
import { accountOf, planOf } from '../http/context.ts';
import { ApiError } from '../http/errors.ts';
import { type DeviceStore, listDevices, releaseDevice, renameDevice } from './registry.ts';

export function deviceStore({ db, dialect, config }: ServerContext): DeviceStore {
  return { db, dialect, inactivityMs: config.deviceInactivityMs };
}

export const deviceRoutes: FastifyPluginAsyncZod = async (app) => {
  const store = deviceStore(app.tollgate);

  app.get(
    '/v1/devices',
    {
      config: { access: 'housekeeping' },
      schema: {
        tags: ['devices'],
        summary: "The account's active devices, most recently seen first, and the plan's max_devices",
        description:
          'After a downgrade more devices may be active than maxDevices allows: they all keep working, ' +
          'no new device can be activated until the user releases enough of them.',
        response: { 200: DevicesResponse },
      },
    },
    async (request) => {
      const { plan } = await planOf(request);
      const devices = await listDevices(store, accountOf(request).id, app.tollgate.now());
      return { devices, maxDevices: plan.limits.max_devices };
    },
  );

  app.patch(
    '/v1/devices/:deviceId',
    {
      config: { access: 'housekeeping' },
      schema: {
        tags: ['devices'],
        summary: 'Renames an active device',
        params: DeviceParams,
        body: RenameDeviceRequest,
        response: { 200: Device },
      },
    },
    async (request) => {
      const renamed = await renameDevice(store, accountOf(request).id, request.params.deviceId, request.body.name);
      if (!renamed) throw new ApiError('DEVICE_NOT_FOUND');
      return renamed;
    },
  );

  app.delete(
    '/v1/devices/:deviceId',
    {
      config: { access: 'housekeeping' },
      schema: {
        tags: ['devices'],
        summary: 'Releases a device: it frees its place at once and stops being honoured at its next sync',
        params: DeviceParams,
      },
    },
    async (request, reply) => {
      const released = await releaseDevice(store, accountOf(request).id, request.params.deviceId, app.tollgate.now());
      if (!released) throw new ApiError('DEVICE_NOT_FOUND');
      return reply.code(204).send();
    },
  );
};
