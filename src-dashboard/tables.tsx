import type { UpsellResponse, UsageResponse } from '../src-shared/admin-api.ts';
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
