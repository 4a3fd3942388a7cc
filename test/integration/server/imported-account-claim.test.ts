import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingClient } from '../../../src-main/billing-client.ts';
import { createImportedAccount } from '../../../src-server/accounts/accounts.ts';
import { createDatabase } from '../../../src-server/db/connection.ts';
import { testDialects } from '../../support/databases.ts';
import { request, setPlan, spawnTestServer, startTestServer, type TestServer } from '../../support/server.ts';
import { eventually, startTestSmtp, type TestSmtp } from '../outbox/smtp.ts';

/**
 * Claiming an account `npm run stripe:import` made (no password) takes proof of the mailbox. Done as
 * the attack: someone who knows a paying customer's e-mail signs up with it first. The customer's
 * mail arrives on a real SMTP server; the code in its link is what sets the password.
 */

const ADMIN_TOKEN = 'imported-claim-admin-token-0123456789abcdef';
const HOUR = 3600_000;
const CODE = /\/claim\?code=([A-Za-z0-9_-]+)/;

for (const dialect of testDialects()) {
  describe(`an imported account is claimed only through its mailbox (${dialect})`, () => {
    let smtp: TestSmtp;
    let server: TestServer;
    let clock = Date.parse('2026-03-01T12:00:00Z');
    let serial = 0;

    beforeAll(async () => {
      smtp = await startTestSmtp();
      server = await startTestServer({
        dialect,
        env: { TOLLGATE_SMTP_URL: smtp.url, TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN },
        now: () => clock,
      });
    });
    afterAll(async () => {
      await server?.stop();
      await smtp?.close();
    });

    const post = (path: string, body: unknown) => request(server.url, 'POST', path, body);
    const signUp = (email: string, password: string) => post('/v1/auth/sign-up', { email, password });
    const signIn = (email: string, password: string) => post('/v1/auth/sign-in', { email, password });
    const mailsTo = (email: string) => smtp.received.filter((mail) => mail.to === email);
    /** A customer the import made: an account without a password, on the plan they pay for. */
    async function importedCustomer(tier: 'professional' | 'enterprise' = 'professional') {
      serial += 1;
      const email = `customer-${serial}-${dialect}@example.test`;
      const id = await createImportedAccount(server.db, email, clock - 90 * 24 * HOUR);
      if (!id) throw new Error('the e-mail already had an account');
      await setPlan(server.db, id, { tier });
      return { id, email };
    }
    /** Waits for the `count`th mail to the address and returns the code of its claim link. */
    async function codeOf(email: string, count = 1): Promise<string> {
      await eventually(`claim mail ${count} to ${email}`, () => mailsTo(email).length >= count);
      const code = mailsTo(email)[count - 1]?.text.match(CODE)?.[1];
      if (!code) throw new Error(`no claim link in ${mailsTo(email)[count - 1]?.text}`);
      return code;
    }
    const passwordHash = async (id: string) =>
      (await server.db.selectFrom('accounts').select('password_hash').where('id', '=', id).executeTakeFirstOrThrow())
        .password_hash;

    it('an attacker signing up with a customer’s e-mail gets no session; the customer claims it from the mail', async () => {
      const customer = await importedCustomer('professional');
      const attackerPassword = 'the attacker’s own password';

      const attack = await signUp(customer.email, attackerPassword);
      expect(attack.status).toBe(202);
      expect(attack.headers.get('content-type')).toContain('application/problem+json');
      expect(attack.body.code).toBe('ACCOUNT_CLAIM_SENT');
      expect(attack.body.detail).toBe(
        'This e-mail already has a subscription to the Professional plan. We sent a link to it: open it to set your password (it works once, for 24 hours).',
      );
      expect(attack.body.accessToken).toBeUndefined();
      expect(attack.body.refreshToken).toBeUndefined();
      // The attacker's password opens nothing, and the account is as the import left it.
      expect((await signIn(customer.email, attackerPassword)).status).toBe(401);
      expect(await passwordHash(customer.id)).toBe('');
      const sessions = await server.db
        .selectFrom('sessions')
        .select('id')
        .where('account_id', '=', customer.id)
        .execute();
      expect(sessions).toEqual([]);

      // The link went to the customer's mailbox, not to whoever asked.
      const code = await codeOf(customer.email);
      const [mail] = mailsTo(customer.email);
      expect(mail?.subject).toBe('Set your password to use your Professional subscription');
      expect(mail?.text).toContain(`${server.config.publicUrl}/claim?code=${code}`);
      // Neither the outbox row (once sent) nor the delivery log administrators read keeps the code;
      // the database keeps only its hash.
      await eventually('the claim mail recorded as sent', async () => {
        const row = await server.db
          .selectFrom('outbox_messages')
          .select(['status', 'payload_json'])
          .where('account_id', '=', customer.id)
          .executeTakeFirstOrThrow();
        return row.status === 'delivered';
      });
      const stored = JSON.stringify(
        await server.db.selectFrom('outbox_messages').selectAll().where('account_id', '=', customer.id).execute(),
      );
      expect(stored).not.toContain(code);
      const claims = JSON.stringify(
        await server.db.selectFrom('account_claims').selectAll().where('account_id', '=', customer.id).execute(),
      );
      expect(claims).not.toContain(code);
      const log = await request(
        server.url,
        'GET',
        `/v1/admin/webhooks/deliveries?accountId=${customer.id}`,
        undefined,
        {
          token: ADMIN_TOKEN,
        },
      );
      expect(log.status).toBe(200);
      expect(log.body.deliveries).toHaveLength(1);
      expect(JSON.stringify(log.body)).not.toContain(code);
      const replay = await request(
        server.url,
        'POST',
        `/v1/admin/webhooks/deliveries/${log.body.deliveries[0].id}/replay`,
        undefined,
        { token: ADMIN_TOKEN },
      );
      expect(replay.status).toBe(400);

      // The customer opens the link: a page with a password form, which sets the password.
      const page = await fetch(`${server.url}/claim?code=${code}`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('Set your password');
      expect(html).toContain(`name="code" value="${code}"`);
      const customerPassword = 'the customer’s chosen password';
      const posted = await fetch(`${server.url}/claim`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ code, password: customerPassword }).toString(),
      });
      expect(posted.status).toBe(200);
      expect(await posted.text()).toContain(`Sign in in the app with ${customer.email}`);

      const session = await signIn(customer.email, customerPassword);
      expect(session.status).toBe(200);
      expect(session.body.account.id).toBe(customer.id);
      const me = await request(server.url, 'GET', '/v1/me', undefined, { token: session.body.accessToken });
      expect(me.body.subscription).toMatchObject({ tier: 'professional', status: 'active' });
      expect((await signIn(customer.email, attackerPassword)).status).toBe(401);

      // The used link is refused, on the page and through the API, and the password stays.
      const again = await post('/v1/auth/claim', { code, password: attackerPassword });
      expect(again.status).toBe(400);
      expect(again.body.code).toBe('CLAIM_CODE_INVALID');
      const pageAgain = await fetch(`${server.url}/claim`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ code, password: attackerPassword }).toString(),
      });
      expect(pageAgain.status).toBe(400);
      expect(await pageAgain.text()).toContain('already used');
      // Signing up now is an ordinary taken e-mail: no more mail.
      const taken = await signUp(customer.email, attackerPassword);
      expect(taken.status).toBe(409);
      expect(taken.body.code).toBe('EMAIL_TAKEN');
      expect((await signIn(customer.email, customerPassword)).status).toBe(200);
      expect(mailsTo(customer.email)).toHaveLength(1);
    });

    it('the companion’s sign-up gets the message to show, not a session', async () => {
      const customer = await importedCustomer('enterprise');
      const outcome = await new BillingClient(server.url).signUp(customer.email, 'a companion password');
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.error.code).toBe('ACCOUNT_CLAIM_SENT');
      expect(outcome.error.message).toBe(
        'This e-mail already has a subscription to the Enterprise plan. We sent a link to it: open it to set your password (it works once, for 24 hours).',
      );
      await codeOf(customer.email);
    });

    it('a wrong code or an expired one is refused; a new mail’s code works and signs in', async () => {
      const customer = await importedCustomer('enterprise');
      for (const wrong of ['x', 'A'.repeat(32), `${'b'.repeat(31)}-`]) {
        const refused = await post('/v1/auth/claim', { code: wrong, password: 'a wrong-code password' });
        expect(refused.status).toBe(400);
        expect(refused.body.code).toBe('CLAIM_CODE_INVALID');
      }
      expect((await signUp(customer.email, 'irrelevant password')).status).toBe(202);
      const stale = await codeOf(customer.email);
      clock += 24 * HOUR + 60_000;
      const expired = await post('/v1/auth/claim', { code: stale, password: 'too late password' });
      expect(expired.status).toBe(400);
      expect(expired.body.code).toBe('CLAIM_CODE_INVALID');
      expect(await passwordHash(customer.id)).toBe('');

      expect((await signUp(customer.email, 'irrelevant password')).status).toBe(202);
      const fresh = await codeOf(customer.email, 2);
      expect(fresh).not.toBe(stale);
      const claimed = await post('/v1/auth/claim', { code: fresh, password: 'in time password' });
      expect(claimed.status).toBe(200);
      expect(claimed.body.account.id).toBe(customer.id);
      const me = await request(server.url, 'GET', '/v1/me', undefined, { token: claimed.body.accessToken });
      expect(me.status).toBe(200);
      expect(me.body.subscription.tier).toBe('enterprise');
    });

    it('racing claims with one code: exactly one wins, and only its password opens the account', async () => {
      const customer = await importedCustomer();
      expect((await signUp(customer.email, 'irrelevant password')).status).toBe(202);
      const code = await codeOf(customer.email);
      const passwords = Array.from({ length: 8 }, (_, i) => `racing claim password ${i}`);
      const claims = await Promise.all(passwords.map((password) => post('/v1/auth/claim', { code, password })));
      const statuses = claims.map((claim) => claim.status);
      expect(statuses.filter((status) => status === 200)).toHaveLength(1);
      expect(statuses.filter((status) => status === 400)).toHaveLength(passwords.length - 1);
      const winner = passwords[statuses.indexOf(200)] as string;
      expect((await signIn(customer.email, winner)).status).toBe(200);
      // Four losers (the sign-in throttle forgives five failures in a row).
      for (const password of passwords.filter((p) => p !== winner).slice(0, 4)) {
        expect((await signIn(customer.email, password)).status).toBe(401);
      }
    });

    it('claim mails to one address are limited to three an hour', async () => {
      const customer = await importedCustomer();
      for (let i = 0; i < 3; i++) expect((await signUp(customer.email, 'flooding password')).status).toBe(202);
      const limited = await signUp(customer.email, 'flooding password');
      expect(limited.status).toBe(429);
      expect(limited.body.code).toBe('RATE_LIMITED');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(limited.body.detail).toContain('open the newest one');
      await eventually('three claim mails', () => mailsTo(customer.email).length === 3);
      const queued = await server.db
        .selectFrom('outbox_messages')
        .select('id')
        .where('account_id', '=', customer.id)
        .execute();
      expect(queued).toHaveLength(3);
      clock += HOUR;
      expect((await signUp(customer.email, 'flooding password')).status).toBe(202);
      // Every code sent works until one is used; then none does.
      const codes = await Promise.all([1, 2, 3, 4].map((n) => codeOf(customer.email, n)));
      expect((await post('/v1/auth/claim', { code: codes[1], password: 'second mail password' })).status).toBe(200);
      for (const code of [codes[0], codes[2], codes[3]]) {
        expect((await post('/v1/auth/claim', { code, password: 'another mail password' })).status).toBe(400);
      }
      expect((await signIn(customer.email, 'second mail password')).status).toBe(200);
    });
  });

  describe(`a claim code never reaches the server's log (${dialect})`, () => {
    it('the sign-up, the mail, the link page and the claim log nothing that carries the code', async () => {
      const smtp = await startTestSmtp();
      const server = await spawnTestServer({
        dialect,
        env: { TOLLGATE_SMTP_URL: smtp.url, TOLLGATE_LOG_LEVEL: 'trace' },
      });
      const handle = await createDatabase({
        dataDir: server.database.dataDir,
        databaseUrl: server.database.databaseUrl,
      });
      try {
        const email = `logged-${dialect}@example.test`;
        await createImportedAccount(handle.db, email, Date.now() - HOUR);
        const signUp = await request(server.url, 'POST', '/v1/auth/sign-up', { email, password: 'a logged password' });
        expect(signUp.status).toBe(202);
        await eventually('the claim mail', () => smtp.received.some((mail) => mail.to === email));
        const code = smtp.received.find((mail) => mail.to === email)?.text.match(CODE)?.[1] as string;
        expect((await fetch(`${server.url}/claim?code=${code}`)).status).toBe(200);
        const claimed = await request(server.url, 'POST', '/v1/auth/claim', { code, password: 'a logged password' });
        expect(claimed.status).toBe(200);
        await eventually('the claim request logged', () => server.output().includes('/claim?code=[redacted]'));
        expect(server.output()).toContain('/v1/auth/claim');
        expect(server.output()).not.toContain(code);
      } finally {
        await handle.destroy();
        await server.stop();
        await smtp.close();
      }
    });
  });

  describe(`without SMTP an imported account cannot be claimed (${dialect})`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ dialect });
    });
    afterAll(() => server?.stop());

    it('sign-up says the vendor must configure e-mail, and never falls back to setting the password', async () => {
      const email = `no-smtp-${dialect}@example.test`;
      const id = await createImportedAccount(server.db, email, Date.now() - HOUR);
      if (!id) throw new Error('the e-mail already had an account');
      await setPlan(server.db, id, { tier: 'professional' });
      const password = 'someone’s long password';
      const refused = await request(server.url, 'POST', '/v1/auth/sign-up', { email, password });
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('ACCOUNT_CLAIM_NEEDS_EMAIL');
      expect(refused.body.detail).toContain('TOLLGATE_SMTP_URL');
      expect(refused.body.detail).toContain('docs/operations.md');
      expect(refused.headers.get('retry-after')).toBeNull();
      expect((await request(server.url, 'POST', '/v1/auth/sign-in', { email, password })).status).toBe(401);
      const account = await server.db
        .selectFrom('accounts')
        .select('password_hash')
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      expect(account.password_hash).toBe('');
      const queued = await server.db.selectFrom('outbox_messages').select('id').where('account_id', '=', id).execute();
      expect(queued).toEqual([]);
    });
  });
}
