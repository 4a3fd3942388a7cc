import { useState } from 'react';
import type { z } from 'zod';
import type { WebhookDelivery } from '../src-shared/webhooks-api.ts';
import { adminCall } from './api.ts';

/**
 * One customer's webhook deliveries (the outbox's log, newest first) with a Replay button each: a
 * replay sends the delivery's exact body again as a new delivery (docs/webhooks.md), and is an
 * audit entry of its own.
 */

export type Delivery = z.infer<typeof WebhookDelivery>;

export function DeliveryLog({
  token,
  deliveries,
  canAct,
  onReplayed,
}: {
  token: string;
  deliveries: Delivery[];
  canAct: boolean;
  onReplayed: () => void;
}) {
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const replay = (delivery: Delivery) => {
    setOutcome(null);
    adminCall<Delivery>(token, 'POST', `/v1/admin/webhooks/deliveries/${encodeURIComponent(delivery.id)}/replay`, {
      reason: `replay of ${delivery.eventType} #${delivery.sequence} from the customer page`,
    }).then(
      (replayed) => {
        setOutcome({
          ok: true,
          text: `Replay of ${delivery.eventType} #${delivery.sequence} queued (${replayed.id}).`,
        });
        onReplayed();
      },
      (error: Error) => setOutcome({ ok: false, text: error.message }),
    );
  };
  return (
    <div data-testid="customer-deliveries">
      {outcome ? <p role={outcome.ok ? 'status' : 'alert'}>{outcome.text}</p> : null}
      {deliveries.length === 0 ? (
        <p>No webhook deliveries for this customer.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Created</th>
              <th>Event</th>
              <th>Sequence</th>
              <th>Status</th>
              <th>Attempts</th>
              <th>Last answer</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {deliveries.map((delivery) => (
              <tr key={delivery.id} data-delivery={delivery.id} data-status={delivery.status}>
                <td>{delivery.createdAt.slice(0, 19).replace('T', ' ')}</td>
                <td>
                  {delivery.eventType}
                  {delivery.replayOf ? ' (replay)' : ''}
                </td>
                <td>{delivery.sequence}</td>
                <td>{delivery.status}</td>
                <td>{delivery.attempts}</td>
                <td>{delivery.lastStatusCode ?? delivery.lastError ?? '—'}</td>
                <td>
                  <button
                    type="button"
                    disabled={!canAct}
                    title={canAct ? undefined : 'Read only: replaying needs the owner role'}
                    aria-label={`Replay ${delivery.eventType} #${delivery.sequence}`}
                    onClick={() => replay(delivery)}
                  >
                    Replay
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
