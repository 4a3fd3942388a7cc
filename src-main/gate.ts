import type { Catalog } from '../src-shared/catalog.ts';
import { type Decision, decide, type PlanState } from '../src-shared/decisions.ts';
import { planFromLicense } from '../src-shared/license.ts';
import { periodOf } from '../src-shared/period.ts';
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
}

export class Gate {
  constructor(private readonly world: GateWorld) {}

  /** The plan decisions use now: null when signed out; free with the reason when not in good standing. */
  plan(now = this.world.clock()): PlanState | null {
    if (!this.world.signedIn()) return null;
    const problem = this.world.license.problemAt(now);
    const status = this.world.license.current;
    if (status.kind === 'valid') {
      const plan = planFromLicense(status.claims, now);
      return problem ? { ...plan, standing: problem.code } : plan;
    }
    // Signed in but no license to honour: the free tier, until a sync brings one.
    return { tier: 'free', standing: problem?.code ?? 'ok' };
  }

  /** Units of an operation counted against this period's limit: the server's plus ours. */
  used(operation: string, now = this.world.clock()): number {
    const server = this.world.serverUsage();
    const serverUsed = server.period === periodOf(now) ? (server.used[operation] ?? 0) : 0;
    return serverUsed + this.world.pendingUnits(operation);
  }

  checkFeature(feature: string): Decision {
    return decide({ catalog: this.world.catalog(), plan: this.plan() }, { kind: 'feature', feature });
  }

  checkUsage(operation: string, units: number): Decision {
    const now = this.world.clock();
    return decide(
      { catalog: this.world.catalog(), plan: this.plan(now), usage: { [operation]: this.used(operation, now) } },
      { kind: 'usage', operation, units },
    );
  }
}
