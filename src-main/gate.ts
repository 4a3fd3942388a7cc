import type { Catalog } from '../src-shared/catalog.ts';
import { type Decision, decide, type PlanState } from '../src-shared/decisions.ts';
import { planFromLicense } from '../src-shared/license.ts';
import { periodOf } from '../src-shared/period.ts';
import type { LeaseAllowance } from './lease-book.ts';
import type { LicenseCache } from './license-cache.ts';

/**
 * Feature and usage decisions for the UI and host apps: the shared decide() fed with the verified
 * license (re-checked against the clock on every call), the server's usage snapshot and the usage
 * recorded on this device that the server has not counted yet.
 */

/** What the server last said was used this period, per operation. */
export interface ServerUsage {
  period: string;
  used: Readonly<Record<string, number>>;
}

export interface GateWorld {
  catalog(): Catalog;
  license: LicenseCache;
  signedIn(): boolean;
  serverUsage(): ServerUsage;
  pendingUnits(operation: string): number;
  clock(): number;
  /** What this device's quota lease still allows of a limited operation (lease-book.ts). */
  leaseAllowance?(operation: string, now: number): LeaseAllowance;
  /** Called when a decision finds the plan changed (grace ended, clock turned back, new license). */
  onPlanChange?(): void;
}

/** Feature answers are remembered per plan; a host asking for endless made-up names cannot grow this past it. */
const MAX_REMEMBERED_FEATURES = 1000;

export class Gate {
  /** The last plan computed, and what it was computed from: gate.check is the host's hot path. */
  private memo: { key: readonly unknown[]; plan: PlanState | null; features: Map<string, Decision> } | null = null;

  constructor(private readonly world: GateWorld) {}

  /** The plan decisions use now: null when signed out; free with the reason when not in good standing. */
  plan(now = this.world.clock()): PlanState | null {
    return this.remembered(now).plan;
  }

  /** Units of an operation counted against this period's limit: the server's plus ours. */
  used(operation: string, now = this.world.clock()): number {
    const server = this.world.serverUsage();
    const serverUsed = server.period === periodOf(now) ? (server.used[operation] ?? 0) : 0;
    return serverUsed + this.world.pendingUnits(operation);
  }

  checkFeature(feature: string): Decision {
    const memo = this.remembered(this.world.clock());
    let decision = memo.features.get(feature);
    if (!decision) {
      // Frozen: the same object answers every later check, and the host socket serializes it once.
      decision = deepFreeze(decide({ catalog: this.world.catalog(), plan: memo.plan }, { kind: 'feature', feature }));
      if (memo.features.size >= MAX_REMEMBERED_FEATURES) memo.features.clear();
      memo.features.set(feature, decision);
    }
    return decision;
  }

  /**
   * The plan's answer, and for a limited operation also the lease's: a device spends only what its
   * quota lease holds for it, so devices spending offline together can never pass the limit.
   */
  checkUsage(operation: string, units: number): Decision {
    const now = this.world.clock();
    const decision = decide(
      { catalog: this.world.catalog(), plan: this.plan(now), usage: { [operation]: this.used(operation, now) } },
      { kind: 'usage', operation, units },
    );
    if (!decision.allowed || decision.limit === undefined || !this.world.leaseAllowance) return decision;
    const lease = this.world.leaseAllowance(operation, now);
    if (units <= lease.units) return { ...decision, leaseRemaining: lease.units };
    return {
      allowed: false,
      code: 'LEASE_EXHAUSTED',
      limit: decision.limit,
      ...(decision.remaining === undefined ? {} : { remaining: decision.remaining }),
      leaseRemaining: lease.units,
    };
  }

  private remembered(now: number) {
    const signedIn = this.world.signedIn();
    const status = this.world.license.current;
    const problem = signedIn ? (this.world.license.problemAt(now)?.code ?? null) : null;
    const accessEnded =
      status.kind === 'valid' && status.claims.accessEndsAt !== null && now >= status.claims.accessEndsAt;
    const key = [signedIn, status, problem, accessEnded, this.world.catalog()] as const;
    if (this.memo?.key.every((part, index) => part === key[index])) return this.memo;
    const changed = this.memo !== null;
    this.memo = { key, plan: this.computePlan(signedIn, now), features: new Map() };
    if (changed) this.world.onPlanChange?.();
    return this.memo;
  }

  private computePlan(signedIn: boolean, now: number): PlanState | null {
    if (!signedIn) return null;
    const problem = this.world.license.problemAt(now);
    const status = this.world.license.current;
    if (status.kind === 'valid') {
      const plan = planFromLicense(status.claims, now);
      return problem ? { ...plan, standing: problem.code } : plan;
    }
    // Signed in but no license to honour: nothing is granted until a sync brings one (never the catalog).
    return { tier: 'free', standing: problem?.code ?? 'LICENSE_INVALID' };
  }
}

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) {
    if (typeof inner === 'object' && inner !== null) deepFreeze(inner);
  }
  return Object.freeze(value);
}
