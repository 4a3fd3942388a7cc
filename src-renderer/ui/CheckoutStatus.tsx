import type { CompanionState } from '../../src-shared/contract.ts';
import { useUi } from '../store.ts';
import { planName } from '../view/plan.ts';

/** Where a checkout stands. It follows main's state, so a completed payment shows up by itself. */
export function CheckoutStatus({ state }: { state: CompanionState }) {
  const openedUrl = useUi((ui) => ui.openedUrl);
  const salesNote = useUi((ui) => ui.salesNote);
  const actionError = useUi((ui) => ui.actionError);
  const { status, tier, cycle, error } = state.checkout;
  const name = tier ? planName(state, tier) : 'the new plan';
  return (
    <div role="status" aria-live="polite" className="checkout-status">
      {status === 'opening' && <p className="card info">Opening checkout for {name}…</p>}
      {status === 'waiting' && (
        <div className="card info" data-testid="checkout-waiting">
          <p>
            <strong>Waiting for payment</strong> for {name}
            {cycle ? ` (billed ${cycle})` : ''}. Finish it in your browser; this window updates by itself.
          </p>
          {openedUrl && (
            <a href={openedUrl} target="_blank" rel="noopener noreferrer">
              Open the checkout page again
            </a>
          )}
        </div>
      )}
      {status === 'completed' && <p className="card ok">Payment received — you are on {name}.</p>}
      {status === 'failed' && <p className="card danger">Checkout did not go through: {error ?? 'unknown error'}.</p>}
      {salesNote && <p className="card info">{salesNote}</p>}
      {actionError && <p className="card danger">{actionError}</p>}
    </div>
  );
}
