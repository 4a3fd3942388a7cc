import nodemailer from 'nodemailer';
import type { Catalog } from '../../src-shared/catalog.ts';
import type { EmailEventType } from './enqueue.ts';

/**
 * The email channel: each outbox email row becomes one message through SMTP (nodemailer). Its
 * Message-ID is derived from the row id, so a re-send after a crash between sending and recording
 * is the same message, which mail servers and clients dedupe on (docs/operations.md, "Email").
 */

interface OutgoingEmail {
  messageId: string;
  to: string;
  subject: string;
  text: string;
}

/** The stable Message-ID of an outbox row. */
export function messageIdOf(rowId: string, publicUrl: string): string {
  return `<${rowId}@${new URL(publicUrl).hostname}>`;
}

// biome-ignore lint/suspicious/noExplicitAny: template data is what enqueueEvent stored for the type.
type Data = Record<string, any>;

/** Subject and text of an event's email. */
export function renderEmail(catalog: Catalog, type: EmailEventType, data: Data): { subject: string; text: string } {
  switch (type) {
    case 'usage.threshold_reached': {
      const label = catalog.operations[data.operation]?.label ?? data.operation;
      return data.threshold >= 100
        ? {
            subject: `You have used all your ${label} for ${data.period}`,
            text: `You have used all ${data.limit} ${label} of this month (${data.period}). Upgrade your plan to keep going.`,
          }
        : {
            subject: `You have used ${data.threshold} % of your ${label}`,
            text: `You have used ${data.used} of your ${data.limit} ${label} this month (${data.period}).`,
          };
    }
    case 'payment.failed':
      return {
        subject: 'Your payment failed',
        text:
          'We could not collect your subscription payment. Update your card in the billing portal to keep your plan:\n' +
          `${data.portalUrl}\n`,
      };
    case 'account.claim':
      return {
        subject: data.plan
          ? `Set your password to use your ${data.plan} subscription`
          : 'Set your password to use your account',
        text:
          `Someone (we hope you) tried to create an account with this e-mail address. It already has ${data.plan ? `a subscription to the ${data.plan} plan` : 'an account'}, ` +
          'moved from the billing you used before. To use it, open this link and choose your password:\n\n' +
          `${data.claimUrl}\n\n` +
          `The link works once, until ${data.expiresAt}. If this was not you, ignore this e-mail: nothing changes without the link.\n`,
      };
    case 'subscription.changed':
      return {
        subject: `Your subscription changed: ${data.to_tier}`,
        text: `Your subscription changed from ${data.from_tier} to ${data.to_tier} (${data.kind.replaceAll('_', ' ')}). Status: ${data.status}.`,
      };
  }
}

/**
 * An email row's data without its secret: a claim link must work only from the mailbox it was sent
 * to, so the row keeps it only until it is sent (or given up), and administrators reading the
 * delivery log never see it.
 */
export function withoutSecrets(type: string, payloadJson: string): string {
  if (type !== 'account.claim') return payloadJson;
  const { claimUrl: _secret, ...rest } = JSON.parse(payloadJson) as Data;
  return JSON.stringify({ ...rest, claimUrl: '[sent only to the address]' });
}

export interface EmailSender {
  send(message: OutgoingEmail): Promise<void>;
  close(): void;
}

/** An SMTP sender for TOLLGATE_SMTP_URL (smtp:// or smtps://, credentials in the URL). */
export function smtpSender(smtpUrl: string, from: string): EmailSender {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    async send(message) {
      await transport.sendMail({
        from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        messageId: message.messageId,
      });
    },
    close: () => transport.close(),
  };
}
