import { useEffect } from 'react';
import type { CompanionState } from '../../src-shared/contract.ts';
import { useUi } from '../store.ts';
import { offerPrice } from '../view/offer.ts';
import { selectPrompt } from '../view/prompt.ts';

/** A limit near or hit, or a host app denied: what is blocked, the plan that unblocks it, one click to buy. */
export function UpgradePrompt({ state }: { state: CompanionState }) {
  const dismissed = useUi((ui) => ui.dismissed);
  const cycle = useUi((ui) => ui.cycle);
  const checkout = useUi((ui) => ui.checkout);
  const dismiss = useUi((ui) => ui.dismiss);
  const promptShown = useUi((ui) => ui.promptShown);
  const prompt = selectPrompt(state, dismissed);
  // Reported once per prompt key as it appears (main sends it in the background; the funnel's step).
  const shownKey = prompt?.key;
  const shownReason = prompt?.reason;
  useEffect(() => {
    if (shownKey && shownReason) promptShown(shownKey, shownReason);
  }, [shownKey, shownReason, promptShown]);
  if (!prompt) return null;
  const offer = prompt.offer;
  // Only while main is creating the checkout: a user who closed the checkout tab may choose again.
  const busy = state.checkout.status === 'opening';
  return (
    <section className={`card prompt ${prompt.reason}`} aria-labelledby="prompt-heading" data-testid="upgrade-prompt">
      <h2 id="prompt-heading">{prompt.headline}</h2>
      <p>{prompt.blocked}</p>
      {offer && (
        <p>
          <strong>{offer.name}</strong> unblocks it — {offerPrice(offer, cycle, state.plans?.currency ?? 'usd')}.
        </p>
      )}
      <div className="actions">
        {offer && (
          <button type="button" className="primary" disabled={busy} onClick={() => void checkout(offer.tier)}>
            {offer.contactSales ? 'Contact sales' : `Upgrade to ${offer.name}`}
          </button>
        )}
        <button type="button" onClick={() => dismiss(prompt.key)}>
          Not now
        </button>
      </div>
    </section>
  );
}
