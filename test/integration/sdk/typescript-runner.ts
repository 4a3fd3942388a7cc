import { readFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';
import {
  assertAllowed,
  type Decision,
  ERROR_CLASSES,
  type LicenseChanged,
  TollgateClient,
  TollgateError,
} from '../../../sdk/typescript/src/index.ts';
import type { Vectors } from './world.ts';

/**
 * The conformance vectors run with the TypeScript SDK, in this process. Returns one line per step
 * (`ok …` / `FAIL …`), as the Python and C# runners print them.
 */

type Step = Record<string, unknown> & { name: string };

export interface RunnerOptions {
  env: Record<string, string>;
  trigger(name: string): Promise<void>;
  /** Called with every successful answer, to check it against the companion's own schemas. */
  onResult?(method: string, result: unknown): void;
  /** Called with every license.changed notification received. */
  onLicenseChanged?(change: LicenseChanged): void;
}

/** Does `actual` match `expected`? Returns the first mismatch, or null. */
function mismatch(expected: unknown, actual: unknown, at = '$'): string | null {
  if (expected === '$string')
    return typeof actual === 'string' ? null : `${at}: expected a string, got ${show(actual)}`;
  if (expected === '$absent') return actual === undefined ? null : `${at}: expected absent, got ${show(actual)}`;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length)
      return `${at}: expected ${expected.length} items, got ${show(actual)}`;
    for (const [index, item] of expected.entries()) {
      const problem = mismatch(item, actual[index], `${at}[${index}]`);
      if (problem) return problem;
    }
    return null;
  }
  if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null) return `${at}: expected an object, got ${show(actual)}`;
    for (const [key, value] of Object.entries(expected)) {
      const problem = mismatch(value, (actual as Record<string, unknown>)[key], `${at}.${key}`);
      if (problem) return problem;
    }
    return null;
  }
  return JSON.stringify(expected) === JSON.stringify(actual)
    ? null
    : `${at}: expected ${show(expected)}, got ${show(actual)}`;
}

const show = (value: unknown) => (value === undefined ? 'nothing' : JSON.stringify(value));

function invoke(client: TollgateClient, method: string, params: Record<string, unknown>): Promise<unknown> {
  switch (method) {
    case 'gate.check':
      return client.gateCheck(params.feature as string);
    case 'usage.check':
      return client.usageCheck(params.operation as string, params.units as number | undefined);
    case 'usage.consume':
      return client.usageConsume(
        params.operation as string,
        params.units as number | undefined,
        params.idempotencyKey === undefined ? {} : { idempotencyKey: params.idempotencyKey as string },
      );
    case 'usage.get':
      return client.usageGet();
    case 'devices.list':
      return client.devices();
    default:
      return client.call(method, params);
  }
}

function errorMismatch(expected: string, error: unknown): string | null {
  const cls = ERROR_CLASSES[expected];
  if (!cls) return `no error class for ${expected}`;
  if (!(error instanceof cls) || !(error instanceof TollgateError) || error.code !== expected) {
    return `expected ${cls.name} (${expected}), got ${error instanceof Error ? `${error.name}: ${error.message}` : show(error)}`;
  }
  return null;
}

export async function runVectors(vectors: Vectors, options: RunnerOptions): Promise<string[]> {
  const { env } = options;
  const keys = {
    server: JSON.parse(env.TOLLGATE_CONFORMANCE_JWKS as string) as JSONWebKeySet,
    wrong: JSON.parse(env.TOLLGATE_CONFORMANCE_WRONG_JWKS as string) as JSONWebKeySet,
    none: { keys: [] } as JSONWebKeySet,
  };
  const main = new TollgateClient({
    path: env.TOLLGATE_SOCKET,
    keys: keys.server,
    retries: 12,
    backoff: { initialMs: 50, maxMs: 1_000 },
  });
  const clients = [main];
  let client = main;
  const changes: LicenseChanged[] = [];
  let mark = 0;
  const report: string[] = [];

  const callStep = async (step: Step): Promise<string | null> => {
    const method = step.call as string;
    let result: unknown;
    try {
      result = await invoke(client, method, (step.params ?? {}) as Record<string, unknown>);
    } catch (error) {
      if (typeof step.error === 'string') return errorMismatch(step.error, error);
      return `unexpected ${error instanceof Error ? `${error.name}: ${error.message}` : show(error)}`;
    }
    if (typeof step.error === 'string') return `expected ${step.error}, got ${show(result)}`;
    options.onResult?.(method, result);
    const problem = mismatch(step.expect ?? {}, result);
    if (problem || typeof step.denial !== 'string') return problem;
    const decision = (method === 'usage.consume' ? (result as { decision: Decision }).decision : result) as Decision;
    try {
      assertAllowed(decision);
      return `assertAllowed did not raise ${step.denial}`;
    } catch (error) {
      return errorMismatch(step.denial, error);
    }
  };

  const runStep = async (step: Step): Promise<string | null> => {
    if (typeof step.do === 'string') {
      mark = changes.length;
      await options.trigger(step.do);
      return null;
    }
    if (typeof step.call === 'string') return callStep(step);
    if (Array.isArray(step.pipeline)) {
      const calls = step.pipeline as Step[];
      const problems = await Promise.all(calls.map((call) => callStep(call)));
      const index = problems.findIndex((problem) => problem !== null);
      return index === -1 ? null : `request ${index}: ${problems[index]}`;
    }
    if (typeof step.license === 'string') {
      const which = step.license as keyof typeof keys | 'embedded';
      // `embedded`: no keys given, so the SDK's own vendor-keys (from vendor.config.json), on the
      // socket of the current client (the real companion, or the fake one).
      const licensed =
        which === 'server'
          ? client
          : which === 'embedded'
            ? new TollgateClient({ path: client.path })
            : new TollgateClient({ path: env.TOLLGATE_SOCKET, keys: keys[which] });
      if (licensed !== client) clients.push(licensed);
      try {
        const result = await licensed.license();
        if (typeof step.error === 'string') return `expected ${step.error}, got a license`;
        return mismatch(step.expect ?? {}, result);
      } catch (error) {
        if (typeof step.error === 'string') return errorMismatch(step.error, error);
        return `unexpected ${error instanceof Error ? `${error.name}: ${error.message}` : show(error)}`;
      }
    }
    if (step.subscribe === true) {
      await client.onLicenseChanged((change) => {
        options.onLicenseChanged?.(change);
        changes.push(change);
      });
      return null;
    }
    if (step.awaitLicenseChanged !== undefined) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        if (changes.slice(mark).some((change) => mismatch(step.awaitLicenseChanged, change) === null)) return null;
        if (Date.now() > deadline) return `no matching license.changed; received ${show(changes.slice(mark))}`;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    if (step.client === 'fake') {
      client = new TollgateClient({
        path: env.TOLLGATE_CONFORMANCE_FAKE_SOCKET,
        keys: keys.server,
        timeoutMs: step.timeoutMs as number,
        backoff: { initialMs: 20, maxMs: 100 },
      });
      clients.push(client);
      return null;
    }
    return `unknown step ${show(step)}`;
  };

  try {
    for (const step of vectors.steps) {
      let problem: string | null;
      try {
        problem = await runStep(step);
      } catch (error) {
        problem = `threw ${error instanceof Error ? error.message : show(error)}`;
      }
      report.push(problem ? `FAIL ${step.name}: ${problem}` : `ok ${step.name}`);
    }
  } finally {
    for (const each of clients) each.close();
  }
  return report;
}

export const readVectors = (path: string): Vectors => JSON.parse(readFileSync(path, 'utf8')) as Vectors;
