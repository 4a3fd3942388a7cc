import type { FunnelMonth, UpsellResponse, UsageResponse } from '../src-shared/admin-api.ts';
import { formatCount, formatLimit } from '../src-shared/format.ts';
import { formatRate } from './format.ts';

export function UsageTable({ usage }: { usage: UsageResponse }) {
  return (
    <table data-testid="usage-table">
      <thead>
        <tr>
          <th>Operation</th>
          <th>Tier</th>
          <th>Limit</th>
          <th>Accounts</th>
          <th>Used</th>
          <th>≥ 80 %</th>
          <th>≥ 100 %</th>
        </tr>
      </thead>
      <tbody>
        {usage.operations.flatMap((operation) =>
          operation.byTier.map((cell) => (
            <tr key={`${operation.operation}:${cell.tier}`} data-testid={`usage-${operation.operation}-${cell.tier}`}>
              <td>{operation.label}</td>
              <td>{cell.tier}</td>
              <td>{formatLimit(cell.limit)}</td>
              <td>{formatCount(cell.accounts)}</td>
              <td>{formatCount(cell.used)}</td>
              <td>{formatCount(cell.atLeast80)}</td>
              <td>{formatCount(cell.atLimit)}</td>
            </tr>
          )),
        )}
      </tbody>
    </table>
  );
}

export function UpsellTable({ upsell }: { upsell: UpsellResponse }) {
  if (upsell.total === 0) return <p>No account is near a limit this month.</p>;
  return (
    <>
      <p data-testid="upsell-total">
        {formatCount(upsell.total)} at 80 % or more of a limit
        {upsell.total > upsell.candidates.length ? ` (the first ${upsell.candidates.length} shown)` : ''}
      </p>
      <table data-testid="upsell-table">
        <thead>
          <tr>
            <th>Account</th>
            <th>Tier</th>
            <th>Operation</th>
            <th>Used</th>
            <th>Share of limit</th>
            <th>Suggest</th>
          </tr>
        </thead>
        <tbody>
          {upsell.candidates.map((row) => (
            <tr key={`${row.accountId}:${row.operation}`}>
              <td>{row.email}</td>
              <td>{row.tier}</td>
              <td>{row.operation}</td>
              <td>
                {formatCount(row.used)} / {formatCount(row.limit)}
              </td>
              <td>{formatRate(row.ratio)}</td>
              <td>{row.suggestedTier ?? 'contact sales'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** The sign-up cohort of the month, step by step (docs/analytics.md, "Conversion funnel"). */
export function FunnelTable({ cohort }: { cohort: FunnelMonth }) {
  const signedUp = cohort.steps[0]?.accounts ?? 0;
  if (signedUp === 0) return <p data-testid="funnel-empty">Nobody signed up in {cohort.month}.</p>;
  return (
    <>
      <p data-testid="funnel-cohort">
        The {formatCount(signedUp)} accounts that signed up in {cohort.month}, counted up to{' '}
        {new Date(cohort.asOf).toISOString().slice(0, 16).replace('T', ' ')} UTC.
      </p>
      <table data-testid="funnel-table">
        <thead>
          <tr>
            <th>Step</th>
            <th>Accounts</th>
            <th>From the previous step</th>
            <th>From sign-up</th>
            <th>Reached by any path</th>
          </tr>
        </thead>
        <tbody>
          {cohort.steps.map((step) => (
            <tr key={step.step} data-testid={`funnel-${step.step}`}>
              <td>{step.label}</td>
              <td>{formatCount(step.accounts)}</td>
              <td>{formatRate(step.fromPreviousRate)}</td>
              <td>{formatRate(step.fromSignUpRate)}</td>
              <td>{formatCount(step.reachedAnyPath)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
