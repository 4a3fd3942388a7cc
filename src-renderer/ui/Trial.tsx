import type { CompanionState } from '../../src-shared/contract.ts';
import { useUi } from '../store.ts';
import { planName as tierName } from '../view/plan.ts';
import { trialCard } from '../view/trial.ts';
import { useNow } from './use-now.ts';

/**
 * The cardless trial: offered to a free account with one click (no card, no checkout), then shown
 * with its days left and the one-click upgrade that keeps the tier, then as ended. A refusal
 * (TRIAL_ALREADY_USED: this account or this device had it) is said in the server's words.
 */
export function Trial({ state }: { state: CompanionState }) {
  // Re-rendered every half minute; the days are counted from this moment, not from the last tick
  // (a trial started a second ago has its full 14 days left, not 15 from a stale tick).
  useNow();
  const startTrial = useUi((ui) => ui.startTrial);
  const checkout = useUi((ui) => ui.checkout);
  const trialError = useUi((ui) => ui.trialError);
  const trialBusy = useUi((ui) => ui.trialBusy);
  const card = trialCard(state, Date.now());
  if (!card) return null;
  const checkoutBusy = state.checkout.status === 'opening';
  // Refused for good (this computer had the trial with another account): the way on is the upgrade.
  const used = card.kind === 'offer' && trialError?.code === 'TRIAL_ALREADY_USED';
  return (
    <section className={`card trial ${card.kind}`} aria-labelledby="trial-heading" data-testid="trial">
      <h2 id="trial-heading">{card.title}</h2>
      <p>{card.detail}</p>
      {trialError && (
        <p className="form-error" role="alert" data-testid="trial-error">
          {trialError.message}
        </p>
      )}
      <div className="actions">
        {card.kind === 'offer' && !used ? (
          <button type="button" className="primary" disabled={trialBusy} onClick={() => void startTrial()}>
            {trialBusy ? 'Starting…' : card.action}
          </button>
        ) : (
          <button type="button" className="primary" disabled={checkoutBusy} onClick={() => void checkout(card.tier)}>
            {used ? `Upgrade to ${tierName(state, card.tier)}` : card.action}
          </button>
        )}
      </div>
    </section>
  );
}
