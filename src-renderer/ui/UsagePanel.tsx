import type { CompanionState } from '../../src-shared/contract.ts';
import { awaitingLicense } from '../../src-shared/decisions.ts';
import { formatCount, formatDate, formatLimit, formatRelative } from '../../src-shared/format.ts';
import { formatWindow } from '../view/format.ts';
import { apiCallsBar, apiCallsReset, type UsageBar, usageBars, usageUnlocked } from '../view/usage.ts';
import { useNow } from './use-now.ts';

function Bar({ bar, note }: { bar: UsageBar; note?: string | null }) {
  const labelId = `usage-${bar.operation}`;
  if (bar.limit === null) {
    return (
      <div className="usage-row" data-state="unlimited">
        <div className="usage-head">
          <span id={labelId}>{bar.label}</span>
          <span>{bar.summary}</span>
        </div>
        {bar.pendingNote && <p className="pending">{bar.pendingNote}</p>}
        {note && <p className="meta">{note}</p>}
      </div>
    );
  }
  const limit = bar.limit;
  // The synced part and the part still waiting on this device are drawn apart.
  const share = (units: number) => (limit === 0 ? 100 : Math.min(100, (units / limit) * 100));
  const synced = share(bar.used - bar.pending);
  const pending = Math.min(100 - synced, share(bar.pending));
  return (
    <div className="usage-row" data-state={bar.state}>
      <div className="usage-head">
        <span id={labelId}>{bar.label}</span>
        <span>{bar.summary}</span>
      </div>
      <div
        className="bar"
        role="progressbar"
        aria-labelledby={labelId}
        aria-valuemin={0}
        aria-valuemax={limit}
        aria-valuenow={Math.min(bar.used, limit)}
        aria-valuetext={`${bar.summary} (${bar.percent} %)${bar.state === 'full' ? ', limit reached' : ''}`}
      >
        <span className="fill" style={{ width: `${synced}%` }} />
        {pending > 0 && <span className="fill pending-fill" style={{ width: `${pending}%` }} />}
      </div>
      {bar.state === 'full' && <p className="bar-note">Limit reached</p>}
      {bar.pendingNote && <p className="pending">{bar.pendingNote}</p>}
      {note && <p className="meta">{note}</p>}
    </div>
  );
}

/** One bar per metered limit, the reset date, and the hourly API allowance. */
export function UsagePanel({ state }: { state: CompanionState }) {
  const now = useNow();
  const bars = usageBars(state.usage);
  const api = state.usage.apiCalls;
  const apiBar = apiCallsBar(api);
  const lastSync = state.sync.lastSyncAt;
  const synced = (
    <p className="meta" data-testid="last-sync">
      {lastSync === null ? 'Not synced with the billing server yet' : `Synced ${formatRelative(lastSync, now)}`}
    </p>
  );
  if (!usageUnlocked(state)) {
    // Every limit is 0 while nothing is granted: bars would all read "limit reached".
    return (
      <section className="card usage" aria-labelledby="usage-heading">
        <h2 id="usage-heading">Usage this month</h2>
        <p className="meta" data-testid="usage-locked">
          {awaitingLicense(state)
            ? 'Your plan’s limits show here once its license arrives.'
            : 'Nothing can be used until the problem above is solved.'}
        </p>
        {synced}
      </section>
    );
  }
  return (
    <section className="card usage" aria-labelledby="usage-heading">
      <h2 id="usage-heading">Usage this month</h2>
      {bars.map((bar) => (
        <Bar key={bar.operation} bar={bar} />
      ))}
      {apiBar ? (
        <Bar bar={apiBar} note={apiCallsReset(api, now)} />
      ) : (
        <p className="meta">
          API calls:{' '}
          {api.limit < 0
            ? formatLimit(api.limit)
            : `up to ${formatCount(api.limit)} per ${formatWindow(api.windowSeconds)}`}
        </p>
      )}
      {state.usage.resetsAt && <p className="meta">Resets on {formatDate(state.usage.resetsAt)}</p>}
      {synced}
    </section>
  );
}
