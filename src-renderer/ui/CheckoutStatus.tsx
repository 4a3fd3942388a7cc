import type { CompanionState } from '../../src-shared/contract.ts';
import { useUi } from '../store.ts';
import { checkoutView } from '../view/checkout.ts';

/** Where a checkout stands. It follows main's state, so a completed payment shows up by itself. */
export function CheckoutStatus({ state }: { state: CompanionState }) {
  const openedUrl = useUi((ui) => ui.openedUrl);
  const salesNote = useUi((ui) => ui.salesNote);
  const actionError = useUi((ui) => ui.actionError);
  const dismissed = useUi((ui) => ui.dismissed);
  const dismiss = useUi((ui) => ui.dismiss);
  const view = checkoutView(state);
  const doneKey = `checkout:${state.checkout.tier}:${state.checkout.cycle}`;
  return (
    <div role="status" aria-live="polite" className="checkout-status">
      {view.kind === 'opening' && <p className="card info">Opening checkout for {view.plan}…</p>}
      {view.kind === 'waiting' && (
        <div className="card info" data-testid="checkout-waiting">
          <p>
            <strong>Waiting for payment</strong> for {view.plan}
            {view.cycle ? ` (billed ${view.cycle})` : ''}. Finish it in your browser; this window updates by itself.
          </p>
          {openedUrl && (
            <a href={openedUrl} target="_blank" rel="noopener noreferrer">
              Open the checkout page again
            </a>
          )}
        </div>
      )}
      {view.kind === 'completed' && !dismissed.has(doneKey) && (
        <div className="card ok row">
          <p>Payment received — you are on {view.plan}.</p>
          <button type="button" onClick={() => dismiss(doneKey)}>
            Dismiss
          </button>
        </div>
      )}
      {view.kind === 'failed' && (
        <p className="card danger">
          Checkout for {view.plan} did not go through: {view.reason}.
        </p>
      )}
      {salesNote && <p className="card info">{salesNote}</p>}
      {actionError && <p className="card danger">{actionError}</p>}
    </div>
  );
}
