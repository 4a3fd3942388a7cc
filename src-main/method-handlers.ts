import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { CheckoutReturn } from '../src-shared/api.ts';
import type { CompanionFailure, contract, MethodName, ResultOf } from '../src-shared/contract.ts';
import type { Decision } from '../src-shared/decisions.ts';
import { err, type MaybePromise, ok, type Result } from '../src-shared/result.ts';
import type { Auth } from './auth.ts';
import type { ApiOutcome, BillingClient } from './billing-client.ts';
import type { Gate } from './gate.ts';
import type { LeaseBook } from './lease-book.ts';
import type { LicenseCache } from './license-cache.ts';
import { isAllowedExternalUrl } from './security.ts';
import type { MainStore } from './state.ts';
import type { Sync } from './sync.ts';
import type { UsageJournal } from './usage-journal.ts';

/**
 * The handlers of every method in the contract table. They read the services, decide with the
 * gate, and write; the companion (companion.ts) wires the services and derives the state.
 */

/** A refusal a handler reports: `code` is a stable code, `message` says what to do. */
class MethodError extends Error {
  override readonly name = 'MethodError';
  constructor(
    readonly code: CompanionFailure['code'],
    message: string,
  ) {
    super(message);
  }
}

type ParsedParams<M extends MethodName> = z.output<(typeof contract)[M]['params']>;
export type Handlers = { [M in MethodName]: (params: ParsedParams<M>) => MaybePromise<ResultOf<M>> };

/** What the handlers act on: the companion's services, and its two ways of re-deriving state. */
interface HandlerWorld {
  state: MainStore;
  auth: Auth;
  client: BillingClient;
  gate: Gate;
  license: LicenseCache;
  leases: LeaseBook;
  sync: Sync;
  journal: UsageJournal;
  deviceId: string;
  serverUrl: string;
  clock(): number;
  /** Re-derive the state at the end of this tick. */
  refresh(): void;
  /** Re-derive the state now. */
  refreshNow(): void;
  openExternal?(url: string): Promise<void>;
  /** `app`: checkout and the portal hand the user back through tollgate:// (only where the scheme is registered). */
  checkoutReturn?: CheckoutReturn;
}

export function createHandlers(world: HandlerWorld): Handlers {
  const { state, auth, client, gate, sync } = world;
  /** Prompt keys already reported by this run: a prompt re-rendered is not sent again. */
  const reportedPrompts = new Set<string>();

  const noteDenial = (subject: string, decision: Decision): Decision => {
    if (!decision.allowed) state.setState({ lastDenial: { at: world.clock(), subject, decision } });
    return decision;
  };

  const signedIn = async (outcome: ApiOutcome<{ account: { email: string } }>) => {
    if (!outcome.ok) throw new MethodError(outcome.error.code, outcome.error.message);
    await sync.syncAfterSignIn();
    return { email: outcome.value.account.email };
  };

  const withToken = async <T>(
    call: (token: string) => Promise<ApiOutcome<T>>,
  ): Promise<Result<T, CompanionFailure>> => {
    const token = await auth.accessToken();
    if (!token.ok) return token;
    if (token.value === null) return err({ code: 'NOT_SIGNED_IN', message: 'Sign in first.' });
    const answer = await call(token.value);
    return answer.ok ? ok(answer.value) : answer;
  };

  /**
   * Checked on every surface, also where main opens nothing itself (--web: the page opens the URL
   * it is answered with), so a server answer never sends the user to a page outside the allow-list.
   */
  const openOutside = async (url: string): Promise<void> => {
    if (!isAllowedExternalUrl(url, world.serverUrl)) {
      throw new MethodError('URL_NOT_ALLOWED', `Refusing to open ${url}: not a billing page Tollgate trusts.`);
    }
    await world.openExternal?.(url);
  };

  /**
   * A lease that ran out while the server is reachable is renewed before the answer (one renewal
   * shared by every consume waiting), so only a device offline is held to its lease.
   */
  const mayRenew = (decision: Decision): boolean => decision.code === 'LEASE_EXHAUSTED' && sync.online;

  const checkUsage = async (operation: string, units: number): Promise<Decision> => {
    const decision = gate.checkUsage(operation, units);
    if (!mayRenew(decision)) return decision;
    await sync.renewLeases();
    return gate.checkUsage(operation, units);
  };

  /** The answer a consume already recorded under `key` gets again (once it is durable), or null. */
  const replayOf = (key: string): Promise<ResultOf<'usage.consume'>> | null => {
    const prior = world.journal.lookup(key);
    if (!prior) return null;
    const decision: Decision =
      prior.state === 'rejected' ? { allowed: false, code: 'LIMIT_REACHED' } : { allowed: true, code: 'OK' };
    return prior.durable.then(() => ({ decision, idempotencyKey: key, replayed: true }));
  };

  /**
   * Decide against server usage + pending local usage, then make it durable before answering. The
   * units count as pending from the moment the decision is taken, so concurrent consumes cannot
   * both take the last unit.
   */
  const consume = async (params: ParsedParams<'usage.consume'>): Promise<ResultOf<'usage.consume'>> => {
    const { operation, units, idempotencyKey } = params;
    const replay = idempotencyKey ? replayOf(idempotencyKey) : null;
    if (replay) return replay;
    let decision = gate.checkUsage(operation, units);
    if (mayRenew(decision)) {
      await sync.renewLeases();
      // Looked up, decided again and recorded in the same turn (nothing awaited in between): the
      // consumes that waited for one renewal each see what the ones before them took.
      const replayAfter = idempotencyKey ? replayOf(idempotencyKey) : null;
      if (replayAfter) return replayAfter;
      decision = gate.checkUsage(operation, units);
    }
    if (!decision.allowed) {
      noteDenial(`usage.consume ${operation}`, decision);
      return { decision, idempotencyKey: null, replayed: false };
    }
    const key = params.idempotencyKey ?? `${world.deviceId}.${randomUUID()}`;
    try {
      // Billed to the account signed in now, and only ever sent with that account's session.
      const account = auth.current?.account.id ?? '';
      await world.journal.record({ key, operation, units, at: world.clock(), account });
    } catch (error) {
      throw new MethodError(
        'USAGE_NOT_RECORDED',
        `Usage could not be saved on this device: ${(error as Error).message}`,
      );
    }
    sync.nudge();
    world.refresh();
    return { decision, idempotencyKey: key, replayed: false };
  };

  return {
    'state.get': () => state.getState(),
    'auth.signIn': async ({ email, password }) => signedIn(await auth.signIn(email, password)),
    'auth.signUp': async ({ email, password }) => signedIn(await auth.signUp(email, password)),
    'auth.signOut': async () => {
      // Hand the device's unsent usage to the server while this account is still signed in.
      await sync.syncNow();
      const account = auth.current?.account.id ?? '';
      // What could not be sent (offline) stays in the journal for this account's next sign-in.
      const waiting = world.journal.pendingOf(account);
      await auth.signOut();
      world.license.clear();
      world.leases.clear();
      state.setState({
        subscription: null,
        trial: null,
        notifications: [],
        lastDenial: null,
        deviceLimit: null,
        // A checkout the signed-out account was paying is not the next account's.
        checkout: { status: 'idle', tier: null, cycle: null, error: null },
      });
      world.refreshNow();
      return { unsyncedEvents: waiting.events, unsyncedUnits: waiting.units };
    },
    'sync.now': async () => ({ status: await sync.syncNow() }),
    'billing.checkout': async ({ tier, cycle }) => {
      state.setState({ checkout: { status: 'opening', tier, cycle, error: null } });
      const answer = await withToken((token) => client.checkout(token, tier, cycle, world.checkoutReturn));
      if (!answer.ok) {
        state.setState({ checkout: { status: 'failed', tier, cycle, error: answer.error.message } });
        throw new MethodError(answer.error.code, answer.error.message);
      }
      const url = answer.value.url ?? null;
      if (answer.value.kind === 'checkout') await openOutside(answer.value.url);
      state.setState({
        checkout: { status: answer.value.kind === 'checkout' ? 'waiting' : 'idle', tier, cycle, error: null },
      });
      // The checkout completes in the browser; the next syncs bring the new plan.
      sync.nudge();
      return { kind: answer.value.kind, url };
    },
    'billing.portal': async () => {
      const answer = await withToken((token) => client.portal(token, world.checkoutReturn));
      if (!answer.ok) throw new MethodError(answer.error.code, answer.error.message);
      await openOutside(answer.value.url);
      return { url: answer.value.url };
    },
    'trial.start': async () => {
      const answer = await withToken((token) => client.startTrial(token, world.deviceId));
      if (!answer.ok) {
        // TRIAL_ALREADY_USED / TRIAL_NOT_AVAILABLE: the server's words say why and what to do.
        await sync.syncNow();
        throw new MethodError(answer.error.code, answer.error.message);
      }
      // The new license (the trial tier, paid access until its end) comes with this sync.
      await sync.syncNow();
      return { tier: answer.value.tier, endsAt: answer.value.endsAt };
    },
    'prompts.shown': (prompt) => {
      const key = `${auth.current?.account.id ?? ''}:${prompt.promptKey}`;
      if (!reportedPrompts.has(key)) {
        reportedPrompts.add(key);
        // Fire and forget: the window never waits for analytics, and a report that fails (offline,
        // signed out, the server refusing) is dropped — it is a funnel count, not the user's data.
        // A failed report is forgotten here too, so the prompt shown again later is reported then.
        void withToken((token) => client.reportUpgradePrompt(token, prompt)).then(
          (answer) => {
            if (!answer.ok) reportedPrompts.delete(key);
          },
          () => reportedPrompts.delete(key),
        );
      }
      return {};
    },
    'devices.list': async () => {
      const answer = await withToken((token) => client.devices(token));
      if (!answer.ok) throw new MethodError(answer.error.code, answer.error.message);
      const { devices, maxDevices } = answer.value;
      return {
        devices: devices.map((device) => ({ ...device, thisDevice: device.deviceId === world.deviceId })),
        maxDevices,
      };
    },
    'devices.release': async ({ deviceId }) => {
      const answer = await withToken((token) => client.releaseDevice(token, deviceId));
      if (!answer.ok) throw new MethodError(answer.error.code, answer.error.message);
      return {};
    },
    'devices.reactivate': async () => ({ status: await sync.syncAfterSignIn() }),
    'notifications.dismiss': async ({ id }) => {
      // Marked read here at once, as the server will have it: a read notice still outranks the
      // lower-threshold ones of its operation (src-shared/notices.ts).
      const readAt = new Date(world.clock()).toISOString();
      const { notifications } = state.getState();
      state.setState({
        notifications: notifications.map((notice) =>
          notice.id === id && notice.readAt === null ? { ...notice, readAt } : notice,
        ),
      });
      await withToken((token) => client.markNotificationRead(token, id));
      return {};
    },
    'license.get': () => ({
      token: world.license.current.kind === 'none' ? null : world.license.current.token,
      license: state.getState().license,
    }),
    'gate.check': ({ feature }) => noteDenial(`gate.check ${feature}`, gate.checkFeature(feature)),
    'usage.check': async ({ operation, units }) =>
      noteDenial(`usage.check ${operation}`, await checkUsage(operation, units)),
    'usage.consume': (params) => consume(params),
    'usage.get': () => state.getState().usage,
    'license.subscribe': () => ({ subscribed: true as const }),
  };
}

/** A thrown handler error as the Result every transport sends. */
export function failureOf(error: unknown): Result<never, CompanionFailure> {
  if (error instanceof MethodError) return err({ code: error.code, message: error.message });
  return err({ code: 'INTERNAL', message: (error as Error).message ?? 'Internal error' });
}
