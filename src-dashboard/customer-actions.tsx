import { type FormEvent, type ReactNode, useState } from 'react';
import { TIER_IDS } from '../src-shared/catalog.ts';
import { formatAmount } from './format.ts';

/**
 * The actions on one customer, one form each: every form asks for a reason, says what happened
 * (or what the API refused), and then the page reloads so its timeline shows the new audit entry.
 * A `support` administrator gets every form disabled, with the reason why; the API refuses them
 * too (403 ADMIN_READ_ONLY), this is only the honest face of it.
 */

/** Calls the admin API for an action and answers what the form should say afterwards. */
type Act = (method: string, path: string, body: unknown) => Promise<unknown>;

export interface ActionContext {
  act: Act;
  /** The customer's admin path, `/v1/admin/customers/:id`. */
  base: string;
  canAct: boolean;
  currency: string;
  /** Called after every successful action: the page reloads its data. */
  done: () => void;
}

const READ_ONLY_NOTE_ID = 'read-only-note';

export function ReadOnlyNote({ role }: { role: string }) {
  return (
    <p id={READ_ONLY_NOTE_ID} className="read-only" data-testid="read-only-note">
      You are signed in as {role}: you may read this page, but acting on a customer needs the owner role. Ask an owner.
    </p>
  );
}

/** Cents from what an administrator types in the currency's major unit ("49.90"). */
function centsOf(text: string): number {
  return Math.round(Number(text.replace(',', '.')) * 100);
}

function ActionForm({
  title,
  submit,
  context,
  run,
  children,
}: {
  title: string;
  submit: string;
  context: ActionContext;
  /** Performs the action with the reason typed; answers the line shown on success. */
  run: (reason: string) => Promise<string>;
  children?: ReactNode;
}) {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setOutcome(null);
    try {
      const text = await run(reason);
      setOutcome({ ok: true, text });
      setReason('');
      context.done();
    } catch (error) {
      setOutcome({ ok: false, text: error instanceof Error ? error.message : String(error) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form aria-label={title} className="action" onSubmit={onSubmit}>
      <h4>{title}</h4>
      <fieldset
        disabled={!context.canAct || busy}
        aria-describedby={context.canAct ? undefined : READ_ONLY_NOTE_ID}
        title={context.canAct ? undefined : 'Read only: acting needs the owner role'}
      >
        {children}
        <label>
          Reason
          <input value={reason} onChange={(event) => setReason(event.target.value)} required minLength={3} />
        </label>
        <button type="submit">{submit}</button>
      </fieldset>
      {outcome ? (
        <p role={outcome.ok ? 'status' : 'alert'} className={outcome.ok ? 'outcome' : 'outcome failed'}>
          {outcome.text}
        </p>
      ) : null}
    </form>
  );
}

export function ContractForm({ context, operations }: { context: ActionContext; operations: string[] }) {
  const [cycle, setCycle] = useState<'monthly' | 'yearly'>('yearly');
  const [price, setPrice] = useState('');
  const [setupFee, setSetupFee] = useState('0');
  const [monthly, setMonthly] = useState<Record<string, string>>(() =>
    Object.fromEntries(operations.map((operation) => [operation, '-1'])),
  );
  const [projectSize, setProjectSize] = useState('-1');
  const [callsPerHour, setCallsPerHour] = useState('-1');
  const [devices, setDevices] = useState('-1');
  const [features, setFeatures] = useState('all_features');
  const run = async (reason: string) => {
    const terms = {
      cycle,
      priceCents: centsOf(price),
      setupFeeCents: centsOf(setupFee),
      limits: {
        monthly: Object.fromEntries(Object.entries(monthly).map(([operation, limit]) => [operation, Number(limit)])),
        max_project_size_mb: Number(projectSize),
        api_calls_per_hour: Number(callsPerHour),
        max_devices: Number(devices),
      },
      features: features
        .split(',')
        .map((feature) => feature.trim())
        .filter(Boolean),
      reason,
    };
    await context.act('PUT', `${context.base}/contract`, terms);
    return `Custom contract recorded: ${formatAmount(terms.priceCents, context.currency)} ${cycle}.`;
  };
  return (
    <ActionForm title="Custom contract" submit="Record contract" context={context} run={run}>
      <label>
        Billed
        <select value={cycle} onChange={(event) => setCycle(event.target.value as 'monthly' | 'yearly')}>
          <option value="monthly">monthly</option>
          <option value="yearly">yearly</option>
        </select>
      </label>
      <label>
        Price per cycle
        <input inputMode="decimal" value={price} onChange={(event) => setPrice(event.target.value)} required />
      </label>
      <label>
        Setup fee
        <input inputMode="decimal" value={setupFee} onChange={(event) => setSetupFee(event.target.value)} />
      </label>
      {operations.map((operation) => (
        <label key={operation}>
          {operation} a month
          <input
            inputMode="numeric"
            value={monthly[operation] ?? '-1'}
            onChange={(event) => setMonthly({ ...monthly, [operation]: event.target.value })}
          />
        </label>
      ))}
      <label>
        Max project size (MB)
        <input inputMode="numeric" value={projectSize} onChange={(event) => setProjectSize(event.target.value)} />
      </label>
      <label>
        API calls an hour
        <input inputMode="numeric" value={callsPerHour} onChange={(event) => setCallsPerHour(event.target.value)} />
      </label>
      <label>
        Max devices
        <input inputMode="numeric" value={devices} onChange={(event) => setDevices(event.target.value)} />
      </label>
      <label>
        Features (comma-separated)
        <input value={features} onChange={(event) => setFeatures(event.target.value)} />
      </label>
      <p className="hint">-1 means unlimited.</p>
    </ActionForm>
  );
}

export function OverrideForm({ context, operations }: { context: ActionContext; operations: string[] }) {
  const [kind, setKind] = useState<'units' | 'feature'>('units');
  const [operation, setOperation] = useState(operations[0] ?? '');
  const [units, setUnits] = useState('100');
  const [feature, setFeature] = useState('');
  const [expires, setExpires] = useState('');
  const run = async (reason: string) => {
    const expiresAt = new Date(expires).toISOString();
    const body =
      kind === 'units'
        ? { operation, extraUnits: Number(units), expiresAt, reason }
        : { feature: feature.trim(), expiresAt, reason };
    await context.act('POST', `${context.base}/overrides`, body);
    const what = kind === 'units' ? `${units} extra ${operation}` : `feature ${feature.trim()}`;
    return `Override added: ${what} until ${expiresAt.slice(0, 16).replace('T', ' ')} UTC.`;
  };
  return (
    <ActionForm title="Override" submit="Add override" context={context} run={run}>
      <label>
        Grants
        <select value={kind} onChange={(event) => setKind(event.target.value as 'units' | 'feature')}>
          <option value="units">extra units</option>
          <option value="feature">an extra feature</option>
        </select>
      </label>
      {kind === 'units' ? (
        <>
          <label>
            Operation
            <select value={operation} onChange={(event) => setOperation(event.target.value)}>
              {operations.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Units
            <input inputMode="numeric" value={units} onChange={(event) => setUnits(event.target.value)} required />
          </label>
        </>
      ) : (
        <label>
          Feature
          <input value={feature} onChange={(event) => setFeature(event.target.value)} required />
        </label>
      )}
      <label>
        Until
        <input type="datetime-local" value={expires} onChange={(event) => setExpires(event.target.value)} required />
      </label>
    </ActionForm>
  );
}

export function TrialForms({
  context,
  trial,
}: {
  context: ActionContext;
  trial: { tier: string; endsAt: string } | null;
}) {
  const [tier, setTier] = useState('professional');
  const [ends, setEnds] = useState('');
  const grant = async (reason: string) => {
    const endsAt = new Date(ends).toISOString();
    await context.act('PUT', `${context.base}/trial`, { tier, endsAt, reason });
    return `Trial of ${tier} granted until ${endsAt.slice(0, 16).replace('T', ' ')} UTC.`;
  };
  const end = async (reason: string) => {
    await context.act('DELETE', `${context.base}/trial`, { reason });
    return 'Trial ended.';
  };
  return (
    <>
      <ActionForm title="Grant a trial" submit="Grant trial" context={context} run={grant}>
        <label>
          Trial tier
          <select value={tier} onChange={(event) => setTier(event.target.value)}>
            {TIER_IDS.filter((id) => id !== 'free' && id !== 'custom').map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </label>
        <label>
          Trial ends
          <input type="datetime-local" value={ends} onChange={(event) => setEnds(event.target.value)} required />
        </label>
      </ActionForm>
      <ActionForm title="End the trial" submit="End trial" context={context} run={end}>
        <p className="hint">
          {trial
            ? `A trial of ${trial.tier} runs until ${trial.endsAt.slice(0, 16).replace('T', ' ')} UTC.`
            : 'No trial runs.'}
        </p>
      </ActionForm>
    </>
  );
}

export function UsageAdjustmentForm({ context, operations }: { context: ActionContext; operations: string[] }) {
  const [operation, setOperation] = useState(operations[0] ?? '');
  const [units, setUnits] = useState('');
  const run = async (reason: string) => {
    const answer = (await context.act('POST', `${context.base}/usage-adjustments`, {
      operation,
      units: Number(units),
      reason,
    })) as { units: number; used: number };
    return `Usage of ${operation} corrected by ${answer.units}: ${answer.used} used this period.`;
  };
  return (
    <ActionForm title="Adjust this period's usage" submit="Adjust usage" context={context} run={run}>
      <label>
        Operation to adjust
        <select value={operation} onChange={(event) => setOperation(event.target.value)}>
          {operations.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Correction (units, negative to subtract)
        <input inputMode="numeric" value={units} onChange={(event) => setUnits(event.target.value)} required />
      </label>
    </ActionForm>
  );
}

export function RevokeSessionsForm({ context }: { context: ActionContext }) {
  const run = async (reason: string) => {
    const answer = (await context.act('POST', `${context.base}/revoke-sessions`, { reason })) as { revoked: number };
    return `${answer.revoked} session(s) revoked: the customer is signed out everywhere.`;
  };
  return <ActionForm title="Revoke sessions" submit="Revoke sessions" context={context} run={run} />;
}

export function CancelForm({ context }: { context: ActionContext }) {
  const run = async (reason: string) => {
    const answer = (await context.act('POST', `${context.base}/cancel`, { reason })) as {
      currentPeriodEnd: string | null;
    };
    const end = answer.currentPeriodEnd ? ` on ${answer.currentPeriodEnd.slice(0, 10)}` : '';
    return `Subscription cancelled: it ends${end}, at the end of its period.`;
  };
  return (
    <ActionForm title="Cancel the subscription" submit="Cancel subscription" context={context} run={run}>
      <p className="hint">Through the payment provider, at the end of the period paid for.</p>
    </ActionForm>
  );
}

export interface RefundableInvoice {
  id: string;
  paidAt: string;
  tier: string;
  amountPaidCents: number;
  amountRefundedCents: number;
}

export function RefundForm({ context, invoices }: { context: ActionContext; invoices: RefundableInvoice[] }) {
  const open = invoices.filter((invoice) => invoice.amountPaidCents > invoice.amountRefundedCents);
  const [invoiceId, setInvoiceId] = useState('');
  const [amount, setAmount] = useState('');
  const chosen = open.find((invoice) => invoice.id === invoiceId) ?? open[0];
  const run = async (reason: string) => {
    if (!chosen) throw new Error('No invoice has anything left to refund.');
    const answer = (await context.act('POST', `${context.base}/refunds`, {
      invoiceId: chosen.id,
      ...(amount.trim() === '' ? {} : { amountCents: centsOf(amount) }),
      reason,
    })) as { refundedCents: number; amountRefundedCents: number };
    setAmount('');
    return `Refunded ${formatAmount(answer.refundedCents, context.currency)} of invoice ${chosen.id} (${formatAmount(
      answer.amountRefundedCents,
      context.currency,
    )} refunded in all).`;
  };
  return (
    <ActionForm title="Refund" submit="Refund" context={context} run={run}>
      <label>
        Invoice
        <select value={chosen?.id ?? ''} onChange={(event) => setInvoiceId(event.target.value)}>
          {open.map((invoice) => (
            <option key={invoice.id} value={invoice.id}>
              {invoice.paidAt.slice(0, 10)} {invoice.tier}{' '}
              {formatAmount(invoice.amountPaidCents - invoice.amountRefundedCents, context.currency)} left
            </option>
          ))}
        </select>
      </label>
      <label>
        Amount (empty: all that is left)
        <input inputMode="decimal" value={amount} onChange={(event) => setAmount(event.target.value)} />
      </label>
    </ActionForm>
  );
}
