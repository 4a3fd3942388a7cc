import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { Device, MAX_BATCH_EVENTS, type MeResponse, type Notification, type PlansResponse } from '../src-shared/api.ts';
import type { DeviceLimitView } from '../src-shared/contract.ts';
import type { ReasonCode } from '../src-shared/decisions.ts';
import { err, ok, type Result } from '../src-shared/result.ts';
import type { Auth } from './auth.ts';
import { isAuthRejection } from './auth.ts';
import type { ApiFailure, BillingClient } from './billing-client.ts';
import { describeDevice } from './device-id.ts';
import type { UsageEntry, Verdict } from './journal-records.ts';
import type { LeaseBook } from './lease-book.ts';
import type { LicenseCache, LicenseStatus } from './license-cache.ts';
import type { UsageJournal } from './usage-journal.ts';
import type { UsageSnapshotCache } from './usage-snapshot.ts';

/**
 * Keeps the device and the server in agreement. Usage goes up in batches whose events carry their
 * idempotency keys, so a batch resent after a lost answer is never counted twice; the server's
 * per-event verdict (accepted, duplicate, rejected — the server may refuse what the device allowed
 * offline) settles the journal. Unreachable server: back off exponentially with full jitter.
 */

export interface SyncTiming {
  /** A full sync (account, license, notifications) this often while online. */
  intervalMs: number;
  /** Pending usage is pushed this soon after it is recorded. */
  pushDelayMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

export const DEFAULT_SYNC_TIMING: SyncTiming = {
  intervalMs: 60_000,
  pushDelayMs: 200,
  retryBaseMs: 1_000,
  retryMaxMs: 60_000,
};

export interface RejectedUsage {
  key: string;
  operation: string;
  units: number;
  code: ReasonCode;
  used: number;
  limit: number;
}

/** An event the server could not count at all (malformed, or an operation it does not meter). */
export interface InvalidUsage {
  key: string;
  operation: string;
  units: number;
  code: 'EVENT_INVALID' | 'UNKNOWN_OPERATION';
  detail: string;
}

interface SyncEvents {
  status(update: { status: 'idle' | 'syncing' | 'offline' | 'error'; error: string | null; at: number }): void;
  account(me: MeResponse): void;
  /** `deviceLimit`: the server's DEVICE_LIMIT_REACHED details when that refused the license, else null. */
  license(status: LicenseStatus, deviceLimit: DeviceLimitView | null): void;
  notifications(notifications: Notification[]): void;
  plans(plans: PlansResponse): void;
  usageAnswered(rejected: RejectedUsage[], invalid: InvalidUsage[]): void;
  /** The server has seen this device's journal further than it now reaches: restored from an older copy. */
  journalBehind(seq: number, highestSeq: number): void;
}

export interface SyncWorld {
  client: BillingClient;
  auth: Auth;
  journal: UsageJournal;
  license: LicenseCache;
  usage: UsageSnapshotCache;
  /** The device's quota leases, renewed on each full sync (lease-book.ts). */
  leases?: LeaseBook;
  deviceId: string;
  clock(): number;
  random(): number;
  timing: SyncTiming;
  events: SyncEvents;
}

type Step = Result<void, ApiFailure>;
const done: Step = ok(undefined);

export class Sync {
  private running: Promise<void> = Promise.resolve();
  /** The next full sync (or retry after a failure). */
  private fullTimer: NodeJS.Timeout | null = null;
  /** The next push of freshly recorded usage. */
  private pushTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private stopped = true;
  private havePlans = false;
  /** A lease renewal asked for and not started yet: every consume waiting for one shares it. */
  private renewal: Promise<'idle' | 'offline' | 'error'> | null = null;
  /**
   * The user signed in on this device just now: its next license request takes it back if it was
   * released from the account (signing in here is the user choosing this device again).
   */
  private reactivate = false;

  constructor(private readonly world: SyncWorld) {}

  start(): void {
    this.stopped = false;
    this.scheduleFull(0);
  }

  stop(): Promise<void> {
    this.stopped = true;
    if (this.fullTimer) clearTimeout(this.fullTimer);
    if (this.pushTimer) clearTimeout(this.pushTimer);
    this.fullTimer = null;
    this.pushTimer = null;
    return this.running;
  }

  /** Usage was recorded: push it soon, unless we are waiting out a backoff. */
  nudge(): void {
    if (this.stopped || this.failures > 0 || this.pushTimer) return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = null;
      void this.enqueue(() => this.pushOnly());
    }, this.world.timing.pushDelayMs);
    this.pushTimer.unref?.();
  }

  /** A full sync now (the UI's "sync now", sign-in, start-up); resolves when it has run. */
  syncNow(): Promise<'idle' | 'offline' | 'error'> {
    return this.enqueue(() => this.full());
  }

  /** A full sync right after the user signed in here: a device they had released is taken back. */
  syncAfterSignIn(): Promise<'idle' | 'offline' | 'error'> {
    this.reactivate = true;
    return this.syncNow();
  }

  /** Whether the last exchange with the server succeeded (no backoff running). */
  get online(): boolean {
    return this.failures === 0;
  }

  /** Pushes pending usage and renews the quota leases now (a lease ran out while online). */
  renewLeases(): Promise<'idle' | 'offline' | 'error'> {
    this.renewal ??= this.enqueue(async () => {
      this.renewal = null;
      return this.finish(
        await this.withToken(async (token) => {
          const pushed = await this.pushUsage(token);
          return pushed.ok ? this.pullLeases(token) : pushed;
        }),
      );
    });
    return this.renewal;
  }

  private enqueue(run: () => Promise<'idle' | 'offline' | 'error'>): Promise<'idle' | 'offline' | 'error'> {
    const result = this.running.then(run, run);
    this.running = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private scheduleFull(delayMs: number): void {
    if (this.fullTimer) clearTimeout(this.fullTimer);
    this.fullTimer = setTimeout(() => {
      this.fullTimer = null;
      void this.enqueue(() => this.full());
    }, delayMs);
    this.fullTimer.unref?.();
  }

  private async pushOnly(): Promise<'idle' | 'offline' | 'error'> {
    return this.finish(await this.withToken((token) => this.pushUsage(token)));
  }

  private async full(): Promise<'idle' | 'offline' | 'error'> {
    this.world.events.status({ status: 'syncing', error: null, at: this.world.clock() });
    const outcome = await this.withToken(async (token) => {
      for (const step of [
        () => this.pushUsage(token),
        () => this.pullAccount(token),
        () => this.pullLicense(token),
        () => this.pullNotifications(token),
        () => this.pullPlans(),
        // Last: a server that cannot renew leases still gives the device everything else.
        () => this.pullLeases(token),
      ]) {
        const result = await step();
        if (!result.ok) return result;
      }
      return done;
    });
    // Signed out, the window still shows the plans and prices (the newcomer's first screen).
    if (outcome === 'signed-out') {
      const plans = await this.pullPlans();
      return this.finish(plans.ok ? outcome : plans);
    }
    return this.finish(outcome);
  }

  private finish(outcome: Step | 'signed-out'): 'idle' | 'offline' | 'error' {
    const now = this.world.clock();
    if (outcome === 'signed-out' || outcome.ok) {
      this.failures = 0;
      this.world.events.status({ status: 'idle', error: null, at: now });
      if (!this.stopped) {
        const account = this.world.auth.current?.account.id;
        if (outcome !== 'signed-out' && account && this.world.journal.nextBatch(1, account).length > 0) this.nudge();
        if (!this.fullTimer) this.scheduleFull(this.world.timing.intervalMs);
      }
      return 'idle';
    }
    const failure = outcome.error;
    this.failures += 1;
    const offline = failure.kind === 'offline' || failure.status >= 500 || failure.status === 429;
    this.world.events.status({ status: offline ? 'offline' : 'error', error: failure.message, at: now });
    if (!this.stopped) {
      const retryAfterMs = failure.kind === 'problem' ? (failure.retryAfterSeconds ?? 0) * 1000 : 0;
      this.scheduleFull(Math.max(retryAfterMs, this.backoff()));
    }
    return offline ? 'offline' : 'error';
  }

  /** Full jitter: a random wait up to an exponentially growing cap, so devices do not retry in step. */
  private backoff(): number {
    const { retryBaseMs, retryMaxMs } = this.world.timing;
    const cap = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(this.failures - 1, 20));
    return Math.max(retryBaseMs / 4, Math.floor(this.world.random() * cap));
  }

  /** Runs `work` with an access token, refreshing once if the server says the token is no good. */
  private async withToken(work: (token: string) => Promise<Step>): Promise<Step | 'signed-out'> {
    const token = await this.world.auth.accessToken();
    if (!token.ok) return token;
    if (token.value === null) return 'signed-out';
    const first = await work(token.value);
    if (first.ok || !isAuthRejection(first.error)) return first;
    const refreshed = await this.world.auth.accessToken(true);
    if (!refreshed.ok) return refreshed;
    if (refreshed.value === null) return 'signed-out';
    return work(refreshed.value);
  }

  private async pushUsage(token: string): Promise<Step> {
    const { journal, auth } = this.world;
    // Only the usage of the account this token belongs to goes up with it.
    const session = auth.current;
    if (!session || session.accessToken !== token) return done;
    const account = session.account.id;
    for (
      let batch = journal.nextBatch(MAX_BATCH_EVENTS, account);
      batch.length > 0;
      batch = journal.nextBatch(MAX_BATCH_EVENTS, account)
    ) {
      const seq = journal.durableSeq;
      const answer = await this.world.client.sendUsage(
        token,
        batch.map((entry) => ({
          idempotencyKey: entry.key,
          operation: entry.operation,
          units: entry.units,
          occurredAt: new Date(entry.at).toISOString(),
        })),
        { deviceId: this.world.deviceId, seq },
      );
      // A refused batch as a whole (the server answers event by event, so this is not about one
      // event) settles nothing: every event stays in the journal and is sent again later.
      if (!answer.ok) return answer;
      const verdicts: { key: string; verdict: Verdict }[] = [];
      const rejected: RejectedUsage[] = [];
      const invalid: InvalidUsage[] = [];
      const counts: Record<string, number> = {};
      for (const result of answer.value.results) {
        // Answers come in batch order; only the event the answer names is settled by it.
        const entry = batch[result.index];
        if (!entry || entry.key !== result.idempotencyKey) continue;
        verdicts.push({ key: entry.key, verdict: result.status });
        counts[entry.operation] = Math.max(counts[entry.operation] ?? 0, result.used);
        if (result.status !== 'rejected') continue;
        if (result.code === 'EVENT_INVALID' || result.code === 'UNKNOWN_OPERATION') {
          // The server cannot count this entry at all: settled as rejected, and said so (not silently).
          invalid.push({ ...entry, code: result.code, detail: result.detail ?? '' });
        } else {
          rejected.push({ ...entry, code: result.code, used: result.used, limit: result.limit });
        }
      }
      // The leases learn what left the journal first: a crash before the verdicts are written only
      // ever makes them under-count what is left (lease-book.ts).
      this.world.leases?.noteSettled(settledUnits(batch, verdicts));
      const highestSeq = answer.value.journal?.highestSeq ?? 0;
      if (highestSeq > seq) {
        // Before the verdicts are written, so they are numbered past what the server has seen.
        journal.continueAfter(highestSeq);
        this.world.events.journalBehind(seq, highestSeq);
      }
      // Settle first (durably), then raise the server counts, so no unit is ever counted by both.
      await journal.recordVerdicts(verdicts);
      this.world.usage.mergeCounts(answer.value.period, counts);
      this.world.events.usageAnswered(rejected, invalid);
      if (verdicts.length === 0) break;
    }
    return done;
  }

  private async pullAccount(token: string): Promise<Step> {
    const me = await this.world.client.me(token);
    if (!me.ok) return me;
    // Unsigned, so replayable by anyone answering in the server's place: it may only raise the mark.
    this.world.license.noteServerTime(Date.parse(me.value.serverTime));
    this.world.usage.mergeSnapshot(me.value.usage);
    this.world.events.account(me.value);
    return done;
  }

  private async pullLicense(token: string): Promise<Step> {
    const reactivate = this.reactivate;
    // Fresh for this request: the license that carries it back signed is an answer to it, not a replay.
    const nonce = randomBytes(24).toString('base64url');
    const answer = await this.world.client.license(token, this.world.deviceId, describeDevice(), reactivate, nonce);
    if (reactivate && (answer.ok || answer.error.kind !== 'offline')) this.reactivate = false;
    if (!answer.ok) {
      // Released from the account, or no room for it: the cached license stops being honoured now.
      const { code, message } = answer.error;
      if (code !== 'DEVICE_RELEASED' && code !== 'DEVICE_LIMIT_REACHED') return answer;
      const deviceLimit = code === 'DEVICE_LIMIT_REACHED' ? deviceLimitOf(answer.error) : null;
      this.world.events.license(this.world.license.refuse({ code, message }), deviceLimit);
      return done;
    }
    this.world.license.noteServerTime(Date.parse(answer.value.serverTime));
    const taken = await this.world.license.accept(answer.value.token, nonce);
    if (taken.kind === 'replayed') return err(replayedLicense());
    const { status } = taken;
    if (status.kind === 'valid') this.world.usage.mergeCounts(status.claims.period, status.claims.usage);
    this.world.events.license(status, null);
    return done;
  }

  private async pullLeases(token: string): Promise<Step> {
    const { leases } = this.world;
    if (!leases) return done;
    const answer = await this.world.client.leases(token, this.world.deviceId, leases.pendingReport());
    if (!answer.ok) return answer;
    await leases.accept(answer.value.leases);
    return done;
  }

  private async pullNotifications(token: string): Promise<Step> {
    const answer = await this.world.client.notifications(token);
    if (!answer.ok) return answer;
    this.world.events.notifications(answer.value.notifications);
    return done;
  }

  private async pullPlans(): Promise<Step> {
    if (this.havePlans) return done;
    const answer = await this.world.client.plans();
    if (!answer.ok) return answer;
    this.havePlans = true;
    this.world.events.plans(answer.value);
    return done;
  }
}

/**
 * A genuine license signed for another request came back: whatever answered is not the billing
 * server answering now (a local fake server, a replaying proxy). A sync error the window shows.
 */
function replayedLicense(): ApiFailure {
  const detail =
    'The license the billing server address answered with was not made for this request (it is a replayed copy): ' +
    'something other than the billing server is answering there. Check --server / TOLLGATE_SERVER_URL.';
  return {
    kind: 'problem',
    status: 200,
    code: 'BAD_RESPONSE',
    message: detail,
    problem: { type: 'about:blank', title: detail, status: 200, detail, code: 'BAD_RESPONSE' },
  };
}

/** The devices in the plan's places and the upgrade, from the 409 problem body (empty when it names none). */
function deviceLimitOf(failure: ApiFailure): DeviceLimitView {
  const problem = failure.kind === 'problem' ? failure.problem : null;
  const devices = z.array(Device).safeParse(problem?.devices);
  return {
    limit: problem?.limit ?? 0,
    devices: devices.success ? devices.data : [],
    upgrade: problem?.upgrade ?? null,
  };
}

/** Units per operation of the batch entries the server answered for. */
function settledUnits(batch: readonly UsageEntry[], verdicts: readonly { key: string }[]): Record<string, number> {
  const answered = new Set(verdicts.map((v) => v.key));
  const units: Record<string, number> = {};
  for (const entry of batch) {
    if (answered.has(entry.key)) units[entry.operation] = (units[entry.operation] ?? 0) + entry.units;
  }
  return units;
}
