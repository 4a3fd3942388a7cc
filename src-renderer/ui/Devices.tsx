import { useEffect, useState } from 'react';
import type { CompanionState } from '../../src-shared/contract.ts';
import { useUi } from '../store.ts';
import { type DeviceRow, devicePlaces, deviceRows } from '../view/devices.ts';
import { offerPrice } from '../view/offer.ts';
import { useNow } from './use-now.ts';

/** "Release", then "Release <name>?" with a confirmation: a released computer loses the plan at its next sync. */
function ReleaseButton({ row }: { row: DeviceRow }) {
  const releaseDevice = useUi((ui) => ui.releaseDevice);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!confirming) {
    return (
      <button type="button" onClick={() => setConfirming(true)} aria-label={`Release ${row.name}`}>
        Release
      </button>
    );
  }
  return (
    <fieldset className="confirm">
      <legend>Release {row.name}? It stops using your plan at its next sync.</legend>
      <button
        type="button"
        className="primary"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          void releaseDevice(row.deviceId).finally(() => setBusy(false));
        }}
      >
        Yes, release
      </button>
      <button type="button" onClick={() => setConfirming(false)}>
        Cancel
      </button>
    </fieldset>
  );
}

function DeviceList({ rows, releasable }: { rows: DeviceRow[]; releasable: boolean }) {
  return (
    <ul className="devices" data-testid="device-list">
      {rows.map((row) => (
        <li key={row.deviceId} data-testid={row.thisDevice ? 'this-device' : 'other-device'}>
          <div>
            <strong>{row.name}</strong>
            {row.thisDevice && <span className="badge ok">This device</span>}
            <p className="meta">{row.detail}</p>
          </div>
          {releasable && !row.thisDevice && <ReleaseButton row={row} />}
        </li>
      ))}
    </ul>
  );
}

/** The account's devices while this one holds a place: this device first, the others releasable. */
function DevicesPanel({ state }: { state: CompanionState }) {
  const now = useNow();
  const devices = useUi((ui) => ui.devices);
  const loadDevices = useUi((ui) => ui.loadDevices);
  const accountId = state.account?.id;
  // Each license this device receives is a license request the server counted as "seen": list again
  // then, so this device appears once activated and "last seen" stays current.
  const licensedAt = state.license.issuedAt;

  useEffect(() => {
    if (accountId && licensedAt !== undefined) void loadDevices();
  }, [accountId, licensedAt, loadDevices]);

  return (
    <section className="card" aria-labelledby="devices-heading" data-testid="devices">
      <h2 id="devices-heading">Devices</h2>
      {devices === null ? (
        <p>Loading your devices…</p>
      ) : (
        <>
          <p data-testid="device-places">{devicePlaces(devices.devices.length, devices.maxDevices)}</p>
          <DeviceList rows={deviceRows(devices.devices, now)} releasable />
        </>
      )}
    </section>
  );
}

/**
 * Every place of the plan is taken (the server refused this computer a license): the devices that
 * hold them, each releasable, and the plan that allows one more.
 */
function DeviceLimitScreen({ state }: { state: CompanionState }) {
  const now = useNow();
  const cycle = useUi((ui) => ui.cycle);
  const checkout = useUi((ui) => ui.checkout);
  const limit = state.deviceLimit;
  const offer = limit?.upgrade ?? null;
  const places = limit ? `${limit.limit} device${limit.limit === 1 ? '' : 's'}` : 'its devices';
  return (
    <section className="card prompt limit_reached" aria-labelledby="device-limit-heading" data-testid="device-limit">
      <h2 id="device-limit-heading">Every device place of your plan is in use</h2>
      <p>
        Your plan allows {places}, and all are in use, so this computer has no license: apps here get the free plan
        until you release one of these devices{offer ? ' or upgrade' : ''}.
      </p>
      {limit && <DeviceList rows={deviceRows(limit.devices, now)} releasable />}
      {offer && (
        <>
          <p>
            <strong>{offer.name}</strong> allows more devices —{' '}
            {offerPrice(offer, cycle, state.plans?.currency ?? 'usd')}.
          </p>
          <div className="actions">
            <button
              type="button"
              className="primary"
              disabled={state.checkout.status === 'opening'}
              onClick={() => void checkout(offer.tier)}
            >
              {offer.contactSales ? 'Contact sales' : `Upgrade to ${offer.name}`}
            </button>
          </div>
        </>
      )}
    </section>
  );
}

/** This computer was released from the account (here or on another device): say so, offer it back. */
function DeviceReleasedScreen({ state }: { state: CompanionState }) {
  const reactivateDevice = useUi((ui) => ui.reactivateDevice);
  const busy = state.sync.status === 'syncing';
  return (
    <section className="card prompt denied" aria-labelledby="device-released-heading" data-testid="device-released">
      <h2 id="device-released-heading">This computer was released from your account</h2>
      <p>
        It no longer holds one of your plan's device places, so apps here get the free plan. Using it again takes a
        place back (if every place is taken, you will be asked to release another device).
      </p>
      <div className="actions">
        <button type="button" className="primary" disabled={busy} onClick={() => void reactivateDevice()}>
          Use Tollgate on this computer again
        </button>
      </div>
    </section>
  );
}

/** At the top of the signed-in window when the server refused this computer: why, and the way out. */
export function DeviceStanding({ state }: { state: CompanionState }) {
  if (state.standing.code === 'DEVICE_LIMIT_REACHED') return <DeviceLimitScreen state={state} />;
  if (state.standing.code === 'DEVICE_RELEASED') return <DeviceReleasedScreen state={state} />;
  return null;
}

/** The devices list, while this computer holds a place (otherwise DeviceStanding explains). */
export function Devices({ state }: { state: CompanionState }) {
  const refused = state.standing.code === 'DEVICE_LIMIT_REACHED' || state.standing.code === 'DEVICE_RELEASED';
  return refused ? null : <DevicesPanel state={state} />;
}
