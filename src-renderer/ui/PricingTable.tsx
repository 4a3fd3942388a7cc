import type { BillingCycle } from '../../src-shared/api.ts';
import type { CompanionState } from '../../src-shared/contract.ts';
import { useUi } from '../store.ts';
import { type PlanColumn, pricingTable } from '../view/pricing.ts';

function PlanAction({ column, busy }: { column: PlanColumn; busy: boolean }) {
  const checkout = useUi((ui) => ui.checkout);
  const manageBilling = useUi((ui) => ui.manageBilling);
  const startFree = useUi((ui) => ui.startFree);
  switch (column.action) {
    case 'start_free':
      return (
        <button type="button" className="primary" onClick={startFree}>
          Start free
        </button>
      );
    case 'none':
      return null;
    case 'current':
      return <span className="badge ok">Current plan</span>;
    case 'checkout':
      return (
        <button type="button" className="primary" disabled={busy} onClick={() => void checkout(column.tier)}>
          Choose {column.name}
        </button>
      );
    case 'contact_sales':
      return (
        <button type="button" disabled={busy} onClick={() => void checkout(column.tier)}>
          Contact sales
        </button>
      );
    case 'manage':
      return (
        <button type="button" onClick={() => void manageBilling()}>
          Switch in billing
        </button>
      );
  }
}

const CYCLES: { value: BillingCycle; label: string }[] = [
  { value: 'monthly', label: 'Monthly' },
  { value: 'yearly', label: 'Yearly' },
];

/** Plans side by side: price for the chosen cycle, setup fee, limits, features, and the way to get each. */
export function PricingTable({ state }: { state: CompanionState }) {
  const cycle = useUi((ui) => ui.cycle);
  const setCycle = useUi((ui) => ui.setCycle);
  if (!state.plans) return null;
  // Signed out: the newcomer's price list, with "Start free" (the catalog is cached for display only).
  const signedIn = state.account !== null;
  const trialRunning = state.trial?.status === 'running';
  // During a trial the account is on Free underneath: the trial tier's column is the upgrade that keeps it.
  const currentTier = signedIn ? (trialRunning ? 'free' : (state.subscription?.tier ?? state.license.tier)) : null;
  const offered = !signedIn || state.trial?.status === 'available';
  const table = pricingTable({ ...state.plans, trial: offered ? state.plans.trial : null }, cycle, currentTier);
  // Only while main is creating the checkout: a user who closed the checkout tab may choose again.
  const busy = state.checkout.status === 'opening';
  return (
    <section className="card plans" aria-labelledby="plans-heading">
      <h2 id="plans-heading">Plans</h2>
      {currentTier === null && (
        <p className="plans-intro">Start on Free with no card, and upgrade when you need more.</p>
      )}
      <fieldset className="cycle">
        <legend>Billing cycle</legend>
        {CYCLES.map(({ value, label }) => (
          <label key={value}>
            <input type="radio" name="cycle" value={value} checked={cycle === value} onChange={() => setCycle(value)} />
            {label}
            {value === 'yearly' && table.bestYearlySaving && (
              <span className="saving"> ({table.bestYearlySaving})</span>
            )}
          </label>
        ))}
      </fieldset>
      <div className="table-scroll">
        <table>
          <thead>
            <tr>
              <td />
              {table.columns.map((column) => (
                <th key={column.tier} scope="col" className={column.current ? 'current' : undefined}>
                  <span className="plan-title">{column.name}</span>
                  <span className="price">
                    {column.price} <small>{column.per}</small>
                  </span>
                  {column.saving && <span className="saving">{column.saving}</span>}
                  <span className="setup">{column.setupFee}</span>
                  {column.trial && <span className="trial-note">{column.trial}</span>}
                  <PlanAction column={column} busy={busy} />
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {table.limitRows.map((row) => (
              <tr key={row.label}>
                <th scope="row">{row.label}</th>
                {row.cells.map((cell, index) => (
                  <td key={table.columns[index]?.tier}>{cell}</td>
                ))}
              </tr>
            ))}
            {table.featureRows.map((row) => (
              <tr key={row.label}>
                <th scope="row">{row.label}</th>
                {row.included.map((included, index) => (
                  <td key={table.columns[index]?.tier}>
                    <span aria-hidden="true">{included ? '✓' : '—'}</span>
                    <span className="visually-hidden">{included ? 'Included' : 'Not included'}</span>
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
