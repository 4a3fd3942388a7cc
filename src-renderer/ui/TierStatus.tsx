import { useEffect, useRef } from 'react';
import type { CompanionState } from '../../src-shared/contract.ts';
import { useUi } from '../store.ts';
import { tierStatus } from '../view/plan.ts';

/** "Your plan": name, status, renewal, support and features. */
export function TierStatus({ state }: { state: CompanionState }) {
  const manageBilling = useUi((ui) => ui.manageBilling);
  const focusPlan = useUi((ui) => ui.focusPlan);
  const planFocused = useUi((ui) => ui.planFocused);
  const heading = useRef<HTMLHeadingElement>(null);
  const status = tierStatus(state);

  // After signing in, the form that had focus is gone; keyboard users continue from here.
  useEffect(() => {
    if (!focusPlan) return;
    heading.current?.focus();
    planFocused();
  }, [focusPlan, planFocused]);

  const paid = state.subscription !== null && state.subscription.cycle !== null;
  return (
    <section className="card tier" aria-labelledby="plan-heading">
      <h2 id="plan-heading" ref={heading} tabIndex={-1}>
        Your plan
      </h2>
      {status === null ? (
        <p>Loading your plan…</p>
      ) : (
        <>
          <p className="plan-name" data-testid="plan-name">
            {status.planName}
          </p>
          <p>
            <span className={`badge ${status.status.tone}`} data-testid="plan-status">
              {status.status.label}
            </span>
          </p>
          <dl className="facts">
            {status.cycle && (
              <>
                <dt>Billing</dt>
                <dd>{status.cycle}</dd>
              </>
            )}
            {status.dateLine && (
              <>
                <dt>Period</dt>
                <dd>{status.dateLine}</dd>
              </>
            )}
            <dt>Support</dt>
            <dd>{status.supportLevel}</dd>
          </dl>
          {status.effectiveNote && <p className="note">{status.effectiveNote}</p>}
          <h3>Included</h3>
          <ul className="features">
            {status.features.map((feature) => (
              <li key={feature}>{feature}</li>
            ))}
          </ul>
          {paid && (
            <button type="button" onClick={() => void manageBilling()}>
              Manage billing
            </button>
          )}
        </>
      )}
    </section>
  );
}
