import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { adminCall } from './api.ts';
import { formatAmount } from './format.ts';

/** The customers list (searchable by e-mail) and one customer's page, from /v1/admin/customers. */

interface CustomerRow {
  id: string;
  email: string;
  tier: string;
  status: string;
  mrrCents: number;
  lastSeenAt: string | null;
}

interface CustomerPage {
  account: { id: string; email: string; createdAt: string };
  subscription: { tier: string; status: string; features: string[] };
  usage: { period: string; operations: { operation: string; used: number; limit: number }[] };
  invoices: { id: string; tier: string; amountPaidCents: number; currency: string; paidAt: string }[];
  notices: { operation: string; period: string; threshold: number; at: string }[];
  timeline: { at: string; kind: string; what: string }[];
}

export function Customers({ token, currency }: { token: string; currency: string }) {
  const [query, setQuery] = useState('');
  const [rows, setRows] = useState<CustomerRow[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const search = useCallback(
    (q: string) =>
      adminCall<{ customers: CustomerRow[] }>(token, 'GET', `/v1/admin/customers?q=${encodeURIComponent(q)}`).then(
        (body) => setRows(body.customers),
        (error: Error) => setProblem(error.message),
      ),
    [token],
  );
  useEffect(() => {
    search('');
  }, [search]);
  if (open) return <Customer token={token} accountId={open} currency={currency} onBack={() => setOpen(null)} />;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    search(query);
  };
  return (
    <section data-testid="customers">
      <h2>Customers</h2>
      <form onSubmit={submit}>
        <label>
          Search by e-mail
          <input value={query} onChange={(event) => setQuery(event.target.value)} />
        </label>
        <button type="submit">Search</button>
      </form>
      {problem ? <p role="alert">{problem}</p> : null}
      <table>
        <thead>
          <tr>
            <th>E-mail</th>
            <th>Tier</th>
            <th>Status</th>
            <th>MRR</th>
            <th>Last seen</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id}>
              <td>
                <button type="button" className="link" onClick={() => setOpen(row.id)}>
                  {row.email}
                </button>
              </td>
              <td>{row.tier}</td>
              <td>{row.status}</td>
              <td>{formatAmount(row.mrrCents, currency)}</td>
              <td>{row.lastSeenAt ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Customer({
  token,
  accountId,
  currency,
  onBack,
}: {
  token: string;
  accountId: string;
  currency: string;
  onBack: () => void;
}) {
  const [page, setPage] = useState<CustomerPage | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [units, setUnits] = useState('100');
  const [expires, setExpires] = useState('');
  const [reason, setReason] = useState('');
  const base = `/v1/admin/customers/${encodeURIComponent(accountId)}`;
  const load = useCallback(
    () => adminCall<CustomerPage>(token, 'GET', base).then(setPage, (error: Error) => setProblem(error.message)),
    [token, base],
  );
  useEffect(() => {
    load();
  }, [load]);
  const addOverride = (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    adminCall(token, 'POST', `${base}/overrides`, {
      operation: 'ai_operations',
      extraUnits: Number(units),
      expiresAt: new Date(expires).toISOString(),
      reason,
    }).then(load, (error: Error) => setProblem(error.message));
  };
  if (!page) return <p aria-busy="true">Loading…</p>;
  return (
    <section data-testid="customer" data-account={page.account.id}>
      <button type="button" onClick={onBack}>
        All customers
      </button>
      <h2>{page.account.email}</h2>
      <p data-testid="customer-plan">
        {page.subscription.tier} · {page.subscription.status}
      </p>
      {problem ? <p role="alert">{problem}</p> : null}
      <h3>Usage in {page.usage.period}</h3>
      <table data-testid="customer-usage">
        <tbody>
          {page.usage.operations.map((row) => (
            <tr key={row.operation}>
              <td>{row.operation}</td>
              <td>
                {row.used} of {row.limit === -1 ? 'unlimited' : row.limit}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Invoices</h3>
      <ul>
        {page.invoices.map((invoice) => (
          <li key={invoice.id}>
            {invoice.paidAt.slice(0, 10)} {invoice.tier} {formatAmount(invoice.amountPaidCents, currency)}
          </li>
        ))}
      </ul>
      <h3>Notices sent</h3>
      <ul>
        {page.notices.map((notice) => (
          <li key={`${notice.operation}-${notice.period}-${notice.threshold}`}>
            {notice.operation} {notice.threshold} % in {notice.period}
          </li>
        ))}
      </ul>
      <h3>Webhook deliveries</h3>
      <div data-testid="customer-deliveries" />
      <h3>Extra AI operations</h3>
      <form onSubmit={addOverride} data-testid="override-form">
        <label>
          Units
          <input value={units} onChange={(event) => setUnits(event.target.value)} />
        </label>
        <label>
          Until
          <input type="datetime-local" value={expires} onChange={(event) => setExpires(event.target.value)} required />
        </label>
        <label>
          Reason
          <input value={reason} onChange={(event) => setReason(event.target.value)} required />
        </label>
        <button type="submit">Add override</button>
      </form>
      <h3>Timeline</h3>
      <ol data-testid="customer-timeline">
        {page.timeline.map((item) => (
          <li key={`${item.at}-${item.what}`}>
            {item.at.slice(0, 16).replace('T', ' ')} {item.what}
          </li>
        ))}
      </ol>
    </section>
  );
}
