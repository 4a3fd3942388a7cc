import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/**
 * A real SMTP server for tests (the `smtp-server` package): every message it receives, parsed.
 * `onMessage` runs once a message's data has fully arrived and before the server answers 250 —
 * the moment a crash test kills the sender, so the mail is received but the sender never hears so.
 */

export interface ReceivedMail {
  messageId: string;
  to: string;
  subject: string;
  text: string;
}

export interface TestSmtp {
  url: string;
  /** Messages accepted (answered 250). */
  received: ReceivedMail[];
  /** How many of the next messages to refuse with a temporary failure (451), as a busy MTA does. */
  refuse: number;
  /** Messages refused: they arrived in full, and the sender was told to try again later. */
  refused: ReceivedMail[];
  onMessage: ((mail: ReceivedMail) => Promise<void>) | null;
  close(): Promise<void>;
}

export async function startTestSmtp(): Promise<TestSmtp> {
  const smtp: TestSmtp = {
    url: '',
    received: [],
    refuse: 0,
    refused: [],
    onMessage: null,
    close: async () => undefined,
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        async (parsed) => {
          const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
          const mail = {
            messageId: parsed.messageId ?? '',
            to: to?.value[0]?.address ?? '',
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
          };
          if (smtp.refuse > 0) {
            smtp.refuse -= 1;
            smtp.refused.push(mail);
            callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
            return;
          }
          smtp.received.push(mail);
          await smtp.onMessage?.(mail);
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  // A sender killed mid-session (what the crash tests do) resets its connection: that is the test's
  // own doing, not a failure of the SMTP server. Anything else stays an error.
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return;
    throw error;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  smtp.url = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  smtp.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return smtp;
}

/** Polls until `check` holds (the worker sends within a second or two), failing with `what`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Messages per Message-ID: what a receiver that dedupes on Message-ID keeps. */
export function distinctIds(mails: readonly ReceivedMail[]): string[] {
  return [...new Set(mails.map((mail) => mail.messageId))];
}
