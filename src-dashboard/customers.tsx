import { type FormEvent, useCallback, useEffect, useState } from 'react';
import type { Device } from '../src-shared/api.ts';
import { adminCall, downloadAuditCsv } from './api.ts';
import {
  type ActionContext,
  CancelForm,
  ContractForm,
  OverrideForm,
  ReadOnlyNote,
  type RefundableInvoice,
  RefundForm,
  RevokeSessionsForm,
  TrialForms,
  UsageAdjustmentForm,
} from './customer-actions.tsx';
import { type Delivery, DeliveryLog } from './delivery-log.tsx';
import { formatAmount } from './format.ts';

/**
 * The customers list (searchable by e-mail) and one customer's page, from /v1/admin/customers:
 * what the account has and did, the actions on it (customer-actions.tsx) and its webhook deliveries.
 */

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
  subscription: {
    tier: string;
    status: string;
    cycle: string | null;
    access: boolean;
    currentPeriodEnd: string | null;
    cancelAtPeriodEnd: boolean;
    features: string[];
  };
  usage: { period: string; operations: { operation: string; used: number; limit: number }[] };
  devices: { active: Device[]; maxDevices: number };
  overrides: {
    id: string;
    kind: string;
    operation?: string;
    extraUnits?: number;
    feature?: string;
    expiresAt: number;
  }[];
  trial: { tier: string; endsAt: string } | null;
  invoices: (RefundableInvoice & { currency: string })[];
  notices: { operation: string; period: string; threshold: number; at: string }[];
  timeline: { at: string; kind: string; what: string }[];
  audit: {
    id: string;
    at: string;
    actor: { name: string };
    action: string;
    reason: string;
    before: unknown;
    after: unknown;
  }[];
}

interface Administrator {
  name: string;
  role: 'owner' | 'support';
}

export function Customers({ token, currency }: { token: string; currency: string }) {
  const [query, setQuery] = useState('');
  const [rows, setRows] = useState<CustomerRow[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [administrator, setAdministrator] = useState<Administrator | null>(null);
  useEffect(() => {
    adminCall<{ administrator: Administrator }>(token, 'GET', '/v1/admin/session').then(
      (body) => setAdministrator(body.administrator),
      (error: Error) => setProblem(error.message),
    );
  }, [token]);
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
  if (open && administrator) {
    return (
      <Customer
        token={token}
        accountId={open}
        currency={currency}
        administrator={administrator}
        onBack={() => setOpen(null)}
      />
    );
  }
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
  administrator,
  onBack,
}: {
  token: string;
  accountId: string;
  currency: string;
  administrator: Administrator;
  onBack: () => void;
}) {
  const [page, setPage] = useState<CustomerPage | null>(null);
  const [deliveries, setDeliveries] = useState<Delivery[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const base = `/v1/admin/customers/${encodeURIComponent(accountId)}`;
  // The page and its delivery log reload together after every action: a contract, a trial or a
  // cancel each send the vendor a webhook.
  const load = useCallback(
    () =>
      Promise.all([
        adminCall<CustomerPage>(token, 'GET', base),
        adminCall<{ deliveries: Delivery[] }>(
          token,
          'GET',
          `/v1/admin/webhooks/deliveries?channel=webhook&accountId=${encodeURIComponent(accountId)}`,
        ),
      ]).then(
        ([body, log]) => {
          setPage(body);
          setDeliveries(log.deliveries);
        },
        (error: Error) => setProblem(error.message),
      ),
    [token, base, accountId],
  );
  useEffect(() => {
    load();
  }, [load]);
  if (!page) return problem ? <p role="alert">{problem}</p> : <p aria-busy="true">Loading…</p>;
  const canAct = administrator.role === 'owner';
  const context: ActionContext = {
    act: (method, path, body) => adminCall(token, method, path, body),
    base,
    canAct,
    currency,
    done: () => {
      load();
    },
  };
  const operations = page.usage.operations.map((row) => row.operation);
  const { subscription } = page;
  const iso = (at: string) => at.slice(0, 16).replace('T', ' ');
  return (
    <section data-testid="customer" data-account={page.account.id}>
      <button type="button" onClick={onBack}>
        All customers
      </button>
      <h2>{page.account.email}</h2>
      <p data-testid="customer-plan">
        {subscription.tier} · {subscription.status}
        {subscription.cycle ? ` · ${subscription.cycle}` : ''}
        {subscription.currentPeriodEnd
          ? ` · ${subscription.cancelAtPeriodEnd ? 'ends' : 'renews'} ${subscription.currentPeriodEnd.slice(0, 10)}`
          : ''}
        {page.trial ? ` · trial of ${page.trial.tier} until ${iso(page.trial.endsAt)}` : ''}
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
      {page.overrides.length > 0 ? (
        <ul data-testid="customer-overrides">
          {page.overrides.map((override) => (
            <li key={override.id}>
              {override.kind === 'units'
                ? `+${override.extraUnits} ${override.operation}`
                : `feature ${override.feature}`}{' '}
              until {iso(new Date(override.expiresAt).toISOString())}
            </li>
          ))}
        </ul>
      ) : null}
      <h3>
        Devices ({page.devices.active.length} of{' '}
        {page.devices.maxDevices === -1 ? 'unlimited' : page.devices.maxDevices})
      </h3>
      <table data-testid="customer-devices">
        <thead>
          <tr>
            <th>Name</th>
            <th>System</th>
            <th>App</th>
            <th>Activated</th>
            <th>Last seen</th>
          </tr>
        </thead>
        <tbody>
          {page.devices.active.map((device) => (
            <tr key={device.deviceId}>
              <td>{device.name}</td>
              <td>{device.os}</td>
              <td>{device.appVersion}</td>
              <td>{iso(device.activatedAt)}</td>
              <td>{iso(device.lastSeenAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Invoices</h3>
      <table data-testid="customer-invoices">
        <thead>
          <tr>
            <th>Paid</th>
            <th>Invoice</th>
            <th>Tier</th>
            <th>Amount</th>
            <th>Refunded</th>
          </tr>
        </thead>
        <tbody>
          {page.invoices.map((invoice) => (
            <tr key={invoice.id}>
              <td>{invoice.paidAt.slice(0, 10)}</td>
              <td>{invoice.id}</td>
              <td>{invoice.tier}</td>
              <td>{formatAmount(invoice.amountPaidCents, invoice.currency)}</td>
              <td>{formatAmount(invoice.amountRefundedCents, invoice.currency)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Notices sent</h3>
      <ul data-testid="customer-notices">
        {page.notices.map((notice) => (
          <li key={`${notice.operation}-${notice.period}-${notice.threshold}`}>
            {notice.operation} {notice.threshold} % in {notice.period}
          </li>
        ))}
      </ul>
      <h3>Webhook deliveries</h3>
      <DeliveryLog token={token} deliveries={deliveries} canAct={canAct} onReplayed={load} />
      <h3>Actions</h3>
      {canAct ? null : <ReadOnlyNote role={administrator.role} />}
      <div className="actions" data-testid="customer-actions">
        <ContractForm context={context} operations={operations} />
        <OverrideForm context={context} operations={operations} />
        <TrialForms context={context} trial={page.trial} />
        <UsageAdjustmentForm context={context} operations={operations} />
        <RevokeSessionsForm context={context} />
        <CancelForm context={context} />
        <RefundForm context={context} invoices={page.invoices} />
      </div>
      <h3>Timeline</h3>
      <button
        type="button"
        onClick={() => downloadAuditCsv(token, page.account.id).catch((error: Error) => setProblem(error.message))}
      >
        Export audit log (CSV)
      </button>
      <ol data-testid="customer-timeline">
        {page.timeline.map((item) => (
          <li key={`${item.at}-${item.what}`} data-kind={item.kind}>
            {iso(item.at)} {item.what}
          </li>
        ))}
      </ol>
      <h3>Audit log</h3>
      <table data-testid="customer-audit">
        <thead>
          <tr>
            <th>When</th>
            <th>Who</th>
            <th>What</th>
            <th>Why</th>
            <th>Before → after</th>
          </tr>
        </thead>
        <tbody>
          {page.audit.map((entry) => (
            <tr key={entry.id}>
              <td>{iso(entry.at)}</td>
              <td>{entry.actor.name}</td>
              <td>{entry.action}</td>
              <td>{entry.reason}</td>
              <td>
                <code>{JSON.stringify(entry.before)}</code> → <code>{JSON.stringify(entry.after)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
